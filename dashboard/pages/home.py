"""/: where to go — the pages of the operations center."""

from __future__ import annotations

from dash import html

from dashboard import access

from dashboard.i18n import lang_or_default, t

PAGES = (("/wall", "nav.wall"),)


def layout(lang: str | None = None, **_query):
    lang = lang_or_default(lang)
    return html.Div(className="home", children=[
        html.H1(t("app.title", lang)),
        html.Ul([html.Li(html.A(t(key, lang), href=f"{path}?lang={lang}")) for path, key in PAGES]),
    ])


access.register_page(__name__, path="/", roles=access.VIEWERS, layout=layout, title="臺中市智慧營運中心")
