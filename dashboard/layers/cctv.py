"""Traffic CCTV sites in the map's frame (off by default: a reference layer, switched on when an
officer looks for the nearest camera). Sites are places, not events: shown whatever the time."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from ..basemap import bounds
from ..i18n import t
from ._common import NEVER, inert, kept_for, legend_name, same_data_same_patch
from .base import Layer

MAX_DRAWN = 3000
CAMERA = "#9fb3c8"


@kept_for(60)
def cctv_sites(db, as_of: datetime) -> dict:
    x0, y0, x1, y1 = bounds()
    rows = db.rows(
        """SELECT cctv_id, name, road, direction, lon, lat, source, time FROM cctv_site
            WHERE lon BETWEEN %(x0)s AND %(x1)s AND lat BETWEEN %(y0)s AND %(y1)s
            ORDER BY cctv_id LIMIT %(limit)s""",
        {"x0": x0, "x1": x1, "y0": y0, "y1": y1, "limit": MAX_DRAWN})
    return {"as_of": as_of, "rows": rows, "data_time": max((r["time"] for r in rows), default=None),
            "stale": False}


def hover(r: dict, lang: str) -> str:
    parts = [f"<b>{inert(r['name'] or r['cctv_id'], 50)}</b>"]
    road = " ".join(x for x in (inert(r["road"], 30), inert(r["direction"], 10)) if x)
    if road:
        parts.append(road)
    parts.append(inert(r["cctv_id"], 40))
    return "<br>".join(parts)


def _traces(lang: str) -> list:
    return [go.Scatter(x=[], y=[], mode="markers", name=t("layers.cctv", lang), legendgroup="cctv",
                       marker=dict(size=7, symbol="square", color=CAMERA, line=dict(color="#0b1220", width=0.6)),
                       text=[], hovertemplate="%{text}<extra></extra>")]


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    return [{"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows], "text": [hover(r, lang) for r in rows],
             "name": legend_name("layers.cctv", data, lang)}]


CCTV = Layer(id="cctv", title_key="layers.cctv", order=20, traces=_traces, query=cctv_sites,
             patch=same_data_same_patch(patch), feeds=("tdx-cctv",), levels=NEVER)
