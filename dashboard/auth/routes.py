"""Sign-in and sign-out pages, and the security headers every response carries."""

from __future__ import annotations

import secrets

import dash
from flask import g, make_response, redirect, render_template, request

from ..i18n import lang_or_default, t
from ..runtime import database
from . import store
from .tokens import same
from .web import SESSION_COOKIE, Gate, route_roles, safe_next

LOGIN_CSRF_COOKIE = "ioc_login_csrf"


def content_security_policy(app: dash.Dash) -> str:
    """No inline script runs but Dash's own, allowed by their hashes; nothing from elsewhere."""
    scripts = " ".join(app.csp_hashes())
    return ("default-src 'self'; "
            f"script-src 'self' {scripts}; "
            "style-src 'self' 'unsafe-inline'; "  # Plotly sets styles on elements it draws
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def install(app: dash.Dash, gate: Gate) -> None:
    server = app.server
    csp: list[str] = []  # computed at the first response: Dash adds inline scripts while it sets up

    @server.after_request
    def security_headers(response):
        if not csp:
            csp.append(content_security_policy(app))
        response.headers["Content-Security-Policy"] = csp[0]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if response.mimetype in ("text/html", "application/json"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def login_page(lang: str, next_path: str, error: str | None = None, status: int = 200):
        csrf = secrets.token_urlsafe(24)
        html = render_template("login.html", t=lambda key, **kw: t(key, lang, **kw), lang=lang,
                               next=next_path, csrf=csrf, error=error)
        response = make_response(html, status)
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="Strict",
                            secure=gate.cookie_secure or request.is_secure, path="/login")
        return response

    @server.route("/login", methods=["GET", "POST"])
    def login():
        lang = lang_or_default(request.values.get("lang"))
        next_path = safe_next(request.values.get("next"))
        if request.method == "GET":
            return login_page(lang, next_path)
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return login_page(lang, next_path, t("login.refused", lang), 403)
        if not same(request.form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE)):
            return login_page(lang, next_path, t("login.expired", lang), 403)
        name = (request.form.get("name") or "").strip()[:64]
        password = request.form.get("password") or ""
        try:
            with database().pool.connection() as conn:
                user, token = store.sign_in(conn, gate.secret, name, password, ip=request.remote_addr,
                                            user_agent=request.user_agent.string)
                # A session this browser had before ends here: a sign-in always gets a new id.
                previous = store.session_user(conn, gate.secret, request.cookies.get(SESSION_COOKIE))
                if previous is not None:
                    store.sign_out(conn, previous, ip=request.remote_addr)
        except store.SignInRefused as refused:
            status = 429 if refused.reason == "rate_limited" else 401
            return login_page(lang, next_path, t(f"login.{refused.reason}", lang), status)
        response = redirect(next_path, code=303)
        gate.set_session_cookies(response, token, user.csrf_token, user.session_kind == "device")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @server.route("/logout", methods=["POST"])
    def logout():
        user = g.user
        if not same(request.form.get("csrf"), user.csrf_token):
            return gate.refuse(user, 403, "sign-out without its CSRF token")
        with database().pool.connection() as conn:
            store.sign_out(conn, user, ip=request.remote_addr)
        response = redirect("/login", code=303)
        gate.clear_session_cookies(response)
        return response

    @server.route("/healthz")
    def healthz():
        from ..monitoring import health

        return health()  # database, broker, disk: statuses only (public)

    from .. import access

    route_roles("logout", access.VIEWERS)
