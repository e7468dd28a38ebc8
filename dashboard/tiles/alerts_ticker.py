"""The ticker of CAP alerts in force in Taichung: severity (symbol and word), event, headline,
the districts covered, issued and expiry times; the most severe first."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_number, t
from ..layers._common import clock, district_name
from ..layers.alerts import alerts_in_force, info_for, severity_label
from ._lists import list_tile, plain
from .base import Tile

MAX_SHOWN = 5
MAX_DISTRICTS = 4
ALL_DISTRICTS = 29
# The same shapes as the map's markers, as text, so severity reads without colour.
SYMBOL = {"Extreme": "✖", "Severe": "▲", "Moderate": "◆", "Minor": "●", "Unknown": "○"}


def areas(alert: dict, lang: str) -> str:
    codes = alert["districts"]
    if len(codes) >= ALL_DISTRICTS:
        return t("tiles.whole_city", lang)
    names = [district_name(c, lang) for c in codes[:MAX_DISTRICTS]]
    text = "、".join(names) if lang == "zh-TW" else ", ".join(names)
    if len(codes) > MAX_DISTRICTS:
        text = t("tiles.and_more_districts", lang, names=text, n=len(codes))
    return text


def item(alert: dict, lang: str, as_of: datetime) -> html.Li:
    info = info_for(alert, lang)
    sev = alert["severity"]
    return html.Li(className=f"ticker-item sev-{sev.lower()}", **{"data-severity": sev}, children=[
        html.Div(className="ticker-line", children=[
            html.Span(f"{SYMBOL[sev]} {severity_label(sev, lang)}", className="ticker-sev"),
            html.Span(plain(info["event"], 30), className="ticker-event"),
            html.Span(plain(info["headline"], 80), className="ticker-headline"),
        ]),
        html.Div(areas(alert, lang), className="ticker-areas"),
        html.Div(t("tiles.issued_expires", lang, issued=clock(alert["sent"], as_of),
                   expires=clock(alert["expires_at"], as_of)), className="ticker-time"),
    ])


def render(data: dict, lang: str, as_of: datetime):
    alerts = data["alerts"]
    top = alerts[0]["severity"] if alerts else None
    detail = None
    if len(alerts) > MAX_SHOWN:
        detail = t("tiles.more_alerts", lang, n=len(alerts) - MAX_SHOWN)
    return list_tile(
        "alerts", t("tile.alerts", lang), fmt_number(len(alerts), lang), t("tiles.alerts_unit", lang),
        [item(a, lang, as_of) for a in alerts[:MAX_SHOWN]], data["data_time"], lang,
        state="ok", detail=detail, empty=t("tiles.no_alerts", lang), extra_class="tile-ticker",
        attrs={"data-severity": top or "none"}, no_time=t("tiles.none_in_force", lang))


ALERTS_TICKER = Tile(id="alerts", order=12, query=alerts_in_force, render=render)
