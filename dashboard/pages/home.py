"""/: where to go — the pages of the operations center this user's role may open, and sign-out."""

from __future__ import annotations

import dash
from dash import dcc, html
from flask import g

from dashboard import access
from dashboard.i18n import catalogue, lang_or_default, t


def nav_key(path: str) -> str:
    return "nav." + (path.strip("/").replace("/", "_") or "home")


def pages_for(role: str | None, lang: str) -> list[tuple[str, str]]:
    names = catalogue(lang)
    found = []
    for page in dash.page_registry.values():
        path = page["path"]
        if path == "/" or role not in page.get("ioc_roles", ()):
            continue
        if nav_key(path) in names:
            found.append((path, names[nav_key(path)]))
    return sorted(found)


def layout(lang: str | None = None, **_query):
    lang = lang_or_default(lang)
    user = getattr(g, "user", None)
    role = user.role if user else None
    return html.Div(className="home", children=[
        html.Header(className="home-header", children=[
            html.H1(t("app.title", lang)),
            html.Nav(className="lang-switch", children=[
                html.A(t("lang.zh", lang), href="?lang=zh-TW", className="lang-link"),
                html.A(t("lang.en", lang), href="?lang=en", className="lang-link"),
            ]),
        ]),
        html.P(t("home.signed_in_as", lang, name=user.name if user else "", role=t(f"role.{role}", lang))
               if user else None, className="home-user"),
        html.Ul(className="home-pages", children=[
            html.Li(html.A(title, href=f"{path}?lang={lang}", className="home-link")) for path, title in pages_for(role, lang)
        ]),
        html.Form(method="post", action="/logout", className="home-signout", children=[
            dcc.Input(type="hidden", name="csrf", value=user.csrf_token if user else ""),
            html.Button(t("login.signout", lang), type="submit"),
        ]),
    ])


access.register_page(__name__, path="/", roles=access.VIEWERS, layout=layout, title="臺中市智慧營運中心")
