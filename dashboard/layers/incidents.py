"""Police 110 incidents of the last 24 hours as they stood at the moment shown: priority by
marker shape and size, status by fill (hollow = not yet dispatched, filled = dispatched, dot =
on scene, grey cross = closed within the hour). The incidents list tile reads the same query."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ..data import shared
from ..i18n import fmt_age, t
from ._common import NORMAL, clock, district_name, freshness, inert, legend_name, same_data_same_patch
from ._style import BACKGROUND
from .base import Layer

WINDOW = timedelta(hours=24)  # incidents reported within this before the moment shown
CLOSED_SHOWN = timedelta(hours=1)  # a closed incident stays on the map this long
MAX_DRAWN = 500
PRIORITY_SYMBOL = {1: "star", 2: "diamond", 3: "circle"}
PRIORITY_SIZE = {1: 22, 2: 15, 3: 11}
PRIORITY_COLOUR = {1: "#ff4d6d", 2: "#ffb000", 3: "#4fb3ff"}
STATUS_SUFFIX = {"reported": "-open", "dispatched": "", "on_scene": "-dot"}
CLOSED = ("x", "#8aa4c0")
_COLUMNS = ("id, category, priority, lon, lat, address, district, unit, status, reported_at, dispatched_at, "
            "on_scene_at, closed_at, updated_at")


@shared
def recent_incidents(db, as_of: datetime) -> dict:
    """Incidents reported in the WINDOW before `as_of`, each in its state at `as_of` (the current
    row when not newer than `as_of`, else its last update before `as_of` from the history),
    open or closed within CLOSED_SHOWN; most urgent first, at most MAX_DRAWN."""
    rows = db.rows(
        f"""SELECT {_COLUMNS} FROM (
                SELECT {_COLUMNS} FROM incident i
                 WHERE i.reported_at > %(since)s AND i.reported_at <= %(as_of)s AND i.updated_at <= %(as_of)s
                   AND (i.status <> 'closed' OR i.closed_at > %(closed_since)s)
                UNION ALL
                SELECT h.* FROM incident i
                 CROSS JOIN LATERAL (
                     SELECT {_COLUMNS} FROM incident_history h
                      WHERE h.id = i.id AND h.updated_at > %(since)s AND h.updated_at <= %(as_of)s
                      ORDER BY h.updated_at DESC LIMIT 1) h
                 WHERE i.updated_at > %(as_of)s AND i.reported_at > %(since)s AND i.reported_at <= %(as_of)s) s
             WHERE status <> 'closed' OR closed_at > %(closed_since)s
             ORDER BY (status = 'closed'), priority, reported_at DESC, id
             LIMIT %(limit)s""",
        {"as_of": as_of, "since": as_of - WINDOW, "closed_since": as_of - CLOSED_SHOWN, "limit": MAX_DRAWN})
    return summarise(rows, as_of)


def summarise(rows: list[dict], as_of: datetime) -> dict:
    open_ = [r for r in rows if r["status"] != "closed"]
    return {"as_of": as_of, "rows": rows, "open": len(open_),
            "by_priority": {p: sum(r["priority"] == p for r in open_) for p in (1, 2, 3)},
            **freshness((r["updated_at"] for r in rows), as_of, None)}


def symbol(r: dict) -> str:
    if r["status"] == "closed":
        return CLOSED[0]
    return PRIORITY_SYMBOL.get(r["priority"], "circle") + STATUS_SUFFIX.get(r["status"], "")


def colour(r: dict) -> str:
    return CLOSED[1] if r["status"] == "closed" else PRIORITY_COLOUR.get(r["priority"], "#4fb3ff")


def hover(r: dict, lang: str, as_of: datetime) -> str:
    where = inert(r["address"], 50) or district_name(r["district"], lang)
    return "<br>".join([
        f"<b>P{r['priority']} {t('layers.incident_category.' + r['category'], lang)}</b> · "
        f"{t('layers.incident_status.' + r['status'], lang)}",
        f"{where} ({district_name(r['district'], lang)})",
        f"{inert(r['unit'], 30)} · {t('layers.reported', lang)} {clock(r['reported_at'], as_of)} "
        f"({fmt_age((as_of - r['reported_at']).total_seconds(), lang)})"])


def _traces(lang: str) -> list:
    marker = dict(size=[], symbol=[], color=[], line=dict(color=BACKGROUND, width=1.2))
    return [
        # Closed in the last hour: underneath, and not what the legend's symbol should show.
        go.Scatter(x=[], y=[], mode="markers", name=t("layers.incidents", lang), legendgroup="incidents",
                   showlegend=False, marker=marker, text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="markers", name=t("layers.incidents", lang), legendgroup="incidents",
                   marker=marker, text=[], hovertemplate="%{text}<extra></extra>"),
    ]


def _markers(rows: list[dict], lang: str, as_of: datetime) -> dict:
    return {"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
            "marker.symbol": [symbol(r) for r in rows], "marker.color": [colour(r) for r in rows],
            "marker.size": [PRIORITY_SIZE.get(r["priority"], 11) for r in rows],
            "text": [hover(r, lang, as_of) for r in rows]}


def patch(data: dict, lang: str) -> list[dict]:
    drawn = [r for r in data["rows"] if r["lon"] is not None]
    closed = [r for r in drawn if r["status"] == "closed"]
    # Least urgent first, so the most urgent are drawn on top.
    open_ = sorted((r for r in drawn if r["status"] != "closed"), key=lambda r: -r["priority"])
    return [_markers(closed, lang, data["as_of"]),
            {**_markers(open_, lang, data["as_of"]),
             "name": legend_name("layers.incidents", data, lang, empty_key="layers.none_open")}]


INCIDENTS = Layer(id="incidents", title_key="layers.incidents", order=60, traces=_traces, query=recent_incidents,
                  patch=same_data_same_patch(patch), feeds=("incident",), levels=NORMAL)
