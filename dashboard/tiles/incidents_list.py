"""The latest police incidents: priority (shape and number), category, district, status and
age; the figure is how many are open, by priority underneath."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_age, fmt_number, t
from ..layers._common import district_name
from ..layers.incidents import recent_incidents
from ._lists import list_tile
from .base import Tile

MAX_SHOWN = 6
# The map's marker shapes as text: ★ priority 1, ◆ 2, ● 3.
SYMBOL = {1: "★", 2: "◆", 3: "●"}


def item(r: dict, lang: str, as_of: datetime) -> html.Li:
    return html.Li(className=f"incident-item prio-{r['priority']} status-{r['status']}",
                   **{"data-incident": r["id"], "data-status": r["status"]}, children=[
        html.Span(f"{SYMBOL.get(r['priority'], '●')} {t('tiles.priority', lang, n=r['priority'])}",
                  className="incident-prio"),
        html.Span(t(f"layers.incident_category.{r['category']}", lang), className="incident-category"),
        html.Span(district_name(r["district"], lang), className="incident-district"),
        html.Span(t(f"layers.incident_status.{r['status']}", lang), className="incident-status"),
        html.Span(fmt_age((as_of - r["reported_at"]).total_seconds(), lang), className="incident-age"),
    ])


def render(data: dict, lang: str, as_of: datetime):
    latest = sorted(data["rows"], key=lambda r: (r["reported_at"], r["id"]), reverse=True)[:MAX_SHOWN]
    by = data["by_priority"]
    detail = " · ".join(f"{SYMBOL[p]} {t('tiles.priority', lang, n=p)} {fmt_number(by[p], lang)}" for p in (1, 2, 3))
    return list_tile(
        "incidents", t("tile.incidents", lang), fmt_number(data["open"], lang), t("tiles.open_unit", lang),
        [item(r, lang, as_of) for r in latest], data["data_time"], lang, detail=detail,
        empty=t("tiles.no_incidents", lang), extra_class="tile-incidents", no_time=t("tiles.none_24h", lang))


INCIDENTS_LIST = Tile(id="incidents", order=20, query=recent_incidents, render=render)
