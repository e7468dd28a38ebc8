"""The request gate in front of every route of the dashboard.

Order of checks for each request:
1. public assets (scripts, styles, sign-in page, /healthz) pass;
2. who is asking: a session cookie, or (when configured) a trusted reverse proxy's header;
   nobody -> 302 to the sign-in page for pages, 401 for Dash data routes and APIs;
3. for anything that can change state: same `Origin`, JSON only (no forms, no text/plain) and
   the CSRF token bound to the session (Dash sends it from the `_csrf_token` cookie);
4. what may they do: every page, callback and route declares its roles; undeclared = refused.
Refusals of signed-in users are written to the audit trail.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import dash
from flask import Response, abort, g, jsonify, make_response, redirect, request

from .. import access
from ..runtime import database
from . import audit, store
from .tokens import same

log = logging.getLogger(__name__)

SESSION_COOKIE = "ioc_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads and echoes as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
PUBLIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
PUBLIC_PATHS = {"/login", "/healthz", "/_favicon.ico", "/favicon.ico",
                "/agency"}  # /agency: a data-less page; its data come from the token-checked API
DASH_DATA = {"/_dash-layout", "/_dash-dependencies", "/_dash-update-component", "/_reload-hash"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# Flask view endpoint -> roles allowed (pages and callbacks declare theirs elsewhere).
ROUTE_ROLES: dict[str, frozenset[str]] = {}


def route_roles(endpoint: str, roles) -> None:
    ROUTE_ROLES[endpoint] = frozenset(roles)


class Gate:
    def __init__(self, app: dash.Dash, secret: bytes, *, cookie_secure: bool = False,
                 proxy_header: str | None = None, proxy_from: frozenset[str] = frozenset(),
                 extra_origins: frozenset[str] = frozenset()):
        self.app = app
        self.secret = secret
        self.cookie_secure = cookie_secure
        self.proxy_header = proxy_header
        self.proxy_from = proxy_from
        self.extra_origins = extra_origins
        self._callback_access: dict[str, access.Access] | None = None
        app.server.before_request(self.check)
        app.server.after_request(self.remember_new_session)

    # -- who ------------------------------------------------------------------------------------
    def identify(self) -> store.User | None:
        token = request.cookies.get(SESSION_COOKIE)
        with database().pool.connection() as conn:
            user = store.session_user(conn, self.secret, token) if token else None
            if user is None and self.proxy_header and request.remote_addr in self.proxy_from:
                name = request.headers.get(self.proxy_header)
                if name:
                    user = self._proxy_session(conn, name)
        return user

    def _proxy_session(self, conn, name: str) -> store.User | None:
        """Single sign-on through a trusted proxy: open a normal session for a known user."""
        row = conn.execute("SELECT id, role FROM app_user WHERE name = %s AND disabled_at IS NULL",
                           (name,)).fetchone()
        if row is None:
            return None
        from datetime import datetime, timezone

        from .tokens import new_token, token_hash

        token, csrf = new_token(), new_token()
        with conn.transaction():
            conn.execute(
                "INSERT INTO app_session (token_hash, user_id, kind, csrf_token, expires_at, ip, user_agent) "
                "VALUES (%s, %s, 'user', %s, %s, %s, %s)",
                (token_hash(self.secret, token), row[0], csrf, datetime.now(timezone.utc) + store.USER_SESSION,
                 request.remote_addr, (request.user_agent.string or "")[:300]))
            audit.record(conn, actor=name, role=row[1], action="signin", ip=request.remote_addr, detail="proxy")
        g.new_session = (token, csrf, False)
        return store.User(row[0], name, row[1], "user", csrf, token_hash(self.secret, token))

    # -- the gate -------------------------------------------------------------------------------
    def check(self):
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS:
            return None
        if path.startswith("/api/"):
            return None  # the agency API authenticates and authorises each of its routes itself
        user = self.identify()
        g.user = user
        if user is None:
            if path in DASH_DATA or request.method not in SAFE_METHODS:
                return _json_error(401, "sign in first")
            return redirect(f"/login?next={_quote_next(request.full_path)}")
        if request.method not in SAFE_METHODS:
            refusal = self.cross_site_refusal(user)
            if refusal:
                return self.refuse(user, 403, refusal)
        if path == "/_dash-update-component":
            return self.authorise_callback(user)
        if path in DASH_DATA:
            return None
        endpoint = request.url_rule.endpoint if request.url_rule else None
        if endpoint in ROUTE_ROLES:
            return None if user.role in ROUTE_ROLES[endpoint] else self.refuse(user, 403, f"route {endpoint}")
        page = page_for(path)
        if page is None:
            abort(404)
        if user.role not in page.get("ioc_roles", frozenset()):
            return self.refuse(user, 403, f"page {page['path']}")
        return None

    def cross_site_refusal(self, user: store.User) -> str | None:
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is None:
            return "no Origin header on a state-changing request"
        if origin != own and origin not in self.extra_origins:
            return f"cross-site request from {origin[:100]}"
        if request.path in DASH_DATA and request.mimetype != "application/json":
            return f"content type {request.mimetype or 'none'} refused"
        if request.path in DASH_DATA and not same(request.headers.get(CSRF_HEADER), user.csrf_token):
            return "missing or wrong CSRF token"
        return None

    def callback_access(self) -> dict[str, access.Access | None]:
        if self._callback_access is None:
            found = {}
            for key, entry in self.app.callback_map.items():
                if "callback" not in entry:
                    continue  # clientside: runs in the browser, never reaches the server
                declared = access.access_of(entry)
                if declared is None and "_pages_content" in key:
                    # Dash's page router: any signed-in user; each page's layout checks its roles.
                    declared = access.Access(access.VIEWERS, False)
                found[key] = declared
            self._callback_access = found
        return self._callback_access

    def authorise_callback(self, user: store.User):
        body = request.get_json(silent=True) or {}
        output = body.get("output") if isinstance(body, dict) else None
        declared = self.callback_access().get(output) if isinstance(output, str) else None
        if declared is None:
            return self.refuse(user, 403, f"undeclared callback {str(output)[:120]}")
        if user.role not in declared.roles:
            return self.refuse(user, 403, f"callback {output[:120]}")
        return None

    def refuse(self, user: store.User, status: int, what: str):
        log.warning("refused %s (%s) %s %s: %s", user.name, user.role, request.method, request.path, what)
        try:
            with database().pool.connection() as conn:
                audit.record(conn, actor=user.name, role=user.role, action="refused",
                             target=f"{request.method} {request.path}"[:200], ip=request.remote_addr,
                             detail=what[:300])
        except Exception:  # noqa: BLE001 - a refusal must never turn into an error page
            log.exception("could not audit a refusal")
        return _json_error(status, "not allowed")

    # -- cookies --------------------------------------------------------------------------------
    def set_session_cookies(self, response: Response, token: str, csrf: str, device: bool) -> None:
        max_age = int(store.DEVICE_SESSION.total_seconds()) if device else None
        secure = self.cookie_secure or request.is_secure
        response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure,
                            samesite="Lax", path="/")
        response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure,
                            samesite="Strict", path="/")

    def clear_session_cookies(self, response: Response) -> None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/")

    def remember_new_session(self, response: Response) -> Response:
        new = g.pop("new_session", None)
        if new is not None:
            self.set_session_cookies(response, *new)
        return response


def page_for(path: str) -> dict | None:
    for page in dash.page_registry.values():
        if page.get("path") == path:
            return page
    return None


def _json_error(status: int, message: str):
    response = make_response(jsonify({"error": message}), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ioc"'
    return response


def _quote_next(full_path: str) -> str:
    from urllib.parse import quote

    return quote(full_path.rstrip("?"), safe="")


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/wall"
    parts = urlsplit(value)
    return "/wall" if parts.scheme or parts.netloc else value
