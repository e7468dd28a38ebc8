"""The dashboard application: Dash pages on a Flask server, served by waitress.

`create_app` builds it from settings; pages live in `dashboard/pages/` (one module per URL)
and reach the database through `dashboard.runtime`, never through a global app import.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import dash
from dash import html
from flask import Flask, request

from ioc import settings

from . import chrome, runtime
from .api import blueprint as agency_api
from .auth import routes
from .auth.secret import secret_key
from .auth.web import Gate
from .data import Database
from .i18n import LANG_COOKIE, LANGS
from .reports import blueprint as ops_reports

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def create_app(db_url: str, *, refresh_ms: int = 2000) -> dash.Dash:
    secret = secret_key()  # refuses to start in production without a real one
    server = Flask("dashboard", root_path=str(HERE), template_folder=str(HERE / "templates"))
    server.secret_key = secret
    server.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # no callback or form needs more
    runtime.configure(Database(db_url), refresh_ms=refresh_ms)
    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        serve_locally=True,  # a closed network: every script and style comes from this server
        title="臺中市智慧營運中心 Taichung IOC",
        update_title=None,
        suppress_callback_exceptions=True,
        include_pages_meta=False,
    )
    app.layout = lambda: html.Div([chrome.layout(), dash.page_container], className="app-root")
    gate = Gate(app, secret, cookie_secure=settings.get("IOC_COOKIE_SECURE") == "1",
                proxy_header=settings.get("IOC_AUTH_PROXY_HEADER") or None,
                proxy_from=_csv_set("IOC_AUTH_PROXY_FROM"), extra_origins=_csv_set("IOC_ALLOWED_ORIGINS"))
    routes.install(app, gate)
    chrome.install(app)
    server.register_blueprint(agency_api(secret, _csv_set("IOC_ALLOWED_ORIGINS")))  # authenticates itself
    server.register_blueprint(ops_reports())

    @server.after_request
    def remember_language(response):
        """A page opened with ?lang=... sets the language for the pages that follow."""
        lang = request.args.get("lang")
        if lang in LANGS and request.method == "GET" and response.mimetype == "text/html":
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="Lax")
        return response
    return app


def _csv_set(name: str) -> frozenset[str]:
    return frozenset(v.strip() for v in (settings.get(name) or "").split(",") if v.strip())


def freeze_start_up_objects() -> int:
    """What start-up loaded (Dash, Plotly's figure schema, the base map, the registries) lives as
    long as the process: moved out of the garbage collector's reach, so that its full passes,
    which walk every object, no longer stall a wall refresh by walking these too. Returns how
    many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def serve(app: dash.Dash, host: str, port: int, threads: int = 16) -> None:
    from waitress import serve as waitress_serve

    log.info("%d start-up objects kept out of garbage collection", freeze_start_up_objects())
    log.info("dashboard on http://%s:%s/wall", host, port)
    waitress_serve(app.server, host=host, port=port, threads=threads, ident="ioc", channel_timeout=60)
