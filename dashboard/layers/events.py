"""Road events and closures active at the moment shown: lines drawn along the road, closures
thick and labelled, every event a marker shaped by its kind."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import plotly.graph_objects as go

from ..basemap import bounds
from ..i18n import t
from ._common import NORMAL, clock, freshness, inert, legend_name, ring_xy, same_data_same_patch
from ._style import BACKGROUND
from .base import Layer

MAX_DRAWN = 1000
HISTORY_LOOKBACK = timedelta(days=90)  # time travel: an event's state is its last update within this
EVENT = "#ff9a3c"
CLOSURE = "#f0509a"
KIND_SYMBOL = {
    "accident": "triangle-up", "construction": "square", "closure": "x", "flooding": "hexagon",
    "landslide": "triangle-down", "event": "star", "congestion": "circle", "obstacle": "diamond",
    "signal_fault": "cross", "other": "circle-open",
}
_COLUMNS = ("id, kind, geometry, lon, lat, road, direction, lanes_blocked, lanes_list, start_time, end_time, "
            "status, description, source, updated_at")
# What the layer reads: a line's vertices as JSON text (read with orjson when drawn, cheaper
# than decoding every geometry); a point is its marker's lon/lat.
_SHOWN = ("id, kind, lon, lat, road, direction, lanes_blocked, lanes_list, start_time, end_time, status, "
          "description, source, updated_at, "
          "CASE WHEN geometry->>'type' = 'LineString' THEN (geometry->'coordinates')::text END AS line")


def road_events(db, as_of: datetime) -> dict:
    """Events active at `as_of` inside the map's frame. An event's state at `as_of` is its
    current row when that is not newer than `as_of`; otherwise its last update before `as_of`
    from the history (only events whose life spans `as_of` need that look-up)."""
    x0, y0, x1, y1 = bounds()
    rows = db.rows(
        f"""SELECT {_SHOWN} FROM (
                SELECT {_COLUMNS} FROM traffic_event e
                 WHERE e.status = 'active' AND e.updated_at <= %(as_of)s
                UNION ALL
                SELECT h.* FROM traffic_event e
                 CROSS JOIN LATERAL (
                     SELECT {_COLUMNS} FROM traffic_event_history h
                      WHERE h.id = e.id AND h.updated_at <= %(as_of)s AND h.updated_at > %(since)s
                      ORDER BY h.updated_at DESC LIMIT 1) h
                 WHERE e.updated_at > %(as_of)s AND e.start_time <= %(as_of)s) s
             WHERE status = 'active' AND start_time <= %(as_of)s AND (end_time IS NULL OR end_time > %(as_of)s)
               AND lon BETWEEN %(x0)s AND %(x1)s AND lat BETWEEN %(y0)s AND %(y1)s
             ORDER BY (kind = 'closure') DESC, start_time DESC, id
             LIMIT %(limit)s""",
        {"as_of": as_of, "since": as_of - HISTORY_LOOKBACK, "x0": x0, "x1": x1, "y0": y0, "y1": y1,
         "limit": MAX_DRAWN})
    return {"as_of": as_of, "rows": rows, "closures": sum(r["kind"] == "closure" for r in rows),
            **freshness((r["updated_at"] for r in rows), as_of, None)}


def is_closure(r: dict) -> bool:
    return r["kind"] == "closure"


def lines(rows: list[dict]) -> tuple[list, list]:
    rings = []
    for r in rows:
        if r["line"]:
            coords = orjson.loads(r["line"])
            rings.append(([c[0] for c in coords], [c[1] for c in coords]))
    return ring_xy(rings)


def lanes(r: dict, lang: str) -> str | None:
    if r["lanes_list"]:
        return t("layers.lanes_list", lang, lanes="、".join(str(n) for n in r["lanes_list"]))
    if r["lanes_blocked"] is not None:
        return t("layers.lanes_blocked", lang, n=r["lanes_blocked"])
    return None


def hover(r: dict, lang: str, as_of: datetime) -> str:
    lines_ = [f"<b>{t('layers.event_kind.' + r['kind'], lang)}</b> · {inert(r['road'], 40)}"]
    if lanes(r, lang):
        lines_.append(lanes(r, lang))
    if r["description"]:
        lines_.append(inert(r["description"], 80))
    until = f" → {clock(r['end_time'], as_of)}" if r["end_time"] else ""
    lines_.append(f"{t('layers.since', lang)} {clock(r['start_time'], as_of)}{until} · {inert(r['source'], 30)}")
    return "<br>".join(lines_)


def _traces(lang: str) -> list:
    name = t("layers.events", lang)
    return [
        go.Scatter(x=[], y=[], mode="lines", line=dict(color=EVENT, width=4), legendgroup="events",
                   showlegend=False, hoverinfo="skip", name=name),
        go.Scatter(x=[], y=[], mode="lines", line=dict(color=CLOSURE, width=8), legendgroup="events",
                   showlegend=False, hoverinfo="skip", name=name),
        go.Scatter(x=[], y=[], mode="markers", name=name, legendgroup="events",
                   marker=dict(size=[], symbol=[], color=[], line=dict(color=BACKGROUND, width=1)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="text", text=[], textposition="middle right", legendgroup="events",
                   showlegend=False, hoverinfo="skip", name=name, textfont=dict(color="#ffc2de", size=13)),
    ]


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    closures = [r for r in rows if is_closure(r)]
    ex, ey = lines([r for r in rows if not is_closure(r)])
    cx, cy = lines(closures)
    return [
        {"x": ex, "y": ey},
        {"x": cx, "y": cy},
        {"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
         "marker.symbol": [KIND_SYMBOL.get(r["kind"], "circle-open") for r in rows],
         "marker.color": [CLOSURE if is_closure(r) else EVENT for r in rows],
         "marker.size": [17 if is_closure(r) else 12 for r in rows],
         "text": [hover(r, lang, data["as_of"]) for r in rows],
         "name": legend_name("layers.events", data, lang, empty_key="layers.none_active")},
        {"x": [r["lon"] for r in closures], "y": [r["lat"] for r in closures],
         "text": [f" {t('layers.event_kind.closure', lang)}" for _ in closures]},
    ]


EVENTS = Layer(id="events", title_key="layers.events", order=45, traces=_traces, query=road_events,
               patch=same_data_same_patch(patch), feeds=("traffic-event",), levels=NORMAL)
