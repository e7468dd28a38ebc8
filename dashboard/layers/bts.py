"""Base stations that are down or degraded at the moment shown. Only those: ~14,000 stations
that are up would bury the map and slow the wall (coverage loss is the coverage layer's job)."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ..basemap import bounds
from ..i18n import t
from ._common import ACTIVATION, clock, fetch, freshness, inert, same_data_same_patch
from ._style import BACKGROUND
from .base import Layer

# Stations report at least every 5 minutes: a station's state is its latest report within
# three reports' time. The candidates come from the partial index of reports that are not
# `up` (schemas/sql/120_wall_indexes.sql), so the thousands of `up` reports are never read.
WINDOW = timedelta(minutes=15)
MAX_DRAWN = 2000
STYLE = {"down": ("x", "#ff4d6d", 14), "degraded": ("triangle-down-open", "#ffb000", 13)}


def stations_not_up(db, as_of: datetime) -> dict:
    x0, y0, x1, y1 = bounds()
    rows = fetch(  # the planner would start a parallel worker to read the candidates: slower

        db,
        """WITH candidates AS (
               SELECT DISTINCT bts_id FROM bts_status
                WHERE status <> 'up' AND time > %(since)s AND time <= %(as_of)s)
           SELECT l.* FROM candidates c
            CROSS JOIN LATERAL (
                SELECT bts_id, time, operator, technology, lon, lat, status FROM bts_status s
                 WHERE s.bts_id = c.bts_id AND s.time > %(since)s AND s.time <= %(as_of)s
                 ORDER BY s.time DESC LIMIT 1) l
            WHERE l.status <> 'up' AND l.lon BETWEEN %(x0)s AND %(x1)s AND l.lat BETWEEN %(y0)s AND %(y1)s
            ORDER BY l.status = 'degraded', l.bts_id
            LIMIT %(limit)s""",
        {"since": as_of - WINDOW, "as_of": as_of, "x0": x0, "x1": x1, "y0": y0, "y1": y1, "limit": MAX_DRAWN})
    return {"as_of": as_of, "rows": rows,
            "down": sum(r["status"] == "down" for r in rows), "degraded": sum(r["status"] == "degraded" for r in rows),
            **freshness((r["time"] for r in rows), as_of, None)}


def hover(r: dict, lang: str, as_of: datetime) -> str:
    return "<br>".join([
        f"<b>{t('layers.bts_status.' + r['status'], lang)}</b> · {inert(r['operator'], 20)} {r['technology']}",
        inert(r["bts_id"], 64),
        f"{t('time.data_at', lang)} {clock(r['time'], as_of)}"])


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers", name=t("layers.bts", lang), legendgroup="bts",
        marker=dict(size=[], symbol=[], color=[], line=dict(color=BACKGROUND, width=1)),
        text=[], hovertemplate="%{text}<extra></extra>")]


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    styles = [STYLE[r["status"]] for r in rows]
    name = t("layers.bts_count", lang, title=t("layers.bts", lang), down=data["down"], degraded=data["degraded"])
    if data["data_time"] is not None:
        name += f" · {clock(data['data_time'], data['as_of'])}"
    return [{"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
             "marker.symbol": [s[0] for s in styles], "marker.color": [s[1] for s in styles],
             "marker.size": [s[2] for s in styles],
             "text": [hover(r, lang, data["as_of"]) for r in rows], "name": name}]


BTS = Layer(id="bts", title_key="layers.bts", order=55, traces=_traces, query=stations_not_up,
            patch=same_data_same_patch(patch), feeds=("bts",), levels=ACTIVATION)
