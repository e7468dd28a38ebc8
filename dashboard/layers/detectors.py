"""Vehicle detectors coloured by speed (TDX VDLive), at their sites (TDX VD)."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ..data import shared
from ..i18n import fmt_number, t
from ._style import BACKGROUND, LABEL, SPEED_SCALE
from .base import Layer

SPEED_MAX = 80
WINDOW = timedelta(minutes=10)


@shared
def latest_readings(db, as_of: datetime) -> list[dict]:
    """The latest reading of each detector within WINDOW before `as_of`, with its site."""
    return db.rows(
        """SELECT DISTINCT ON (r.vd_id) r.vd_id, r.time, r.speed_kmh, r.volume, r.occupancy_pct,
                  s.lon, s.lat, s.name
             FROM vd_reading r JOIN vd_site s USING (vd_id)
            WHERE r.time > %(since)s AND r.time <= %(as_of)s AND s.lon IS NOT NULL
            ORDER BY r.vd_id, r.time DESC""",
        {"since": as_of - WINDOW, "as_of": as_of})


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers", name=t("layer.detectors", lang), legendgroup="detectors",
        marker=dict(size=9, color=[], colorscale=SPEED_SCALE, cmin=0, cmax=SPEED_MAX,
                    line=dict(color=BACKGROUND, width=0.8),
                    colorbar=dict(title=dict(text=t("legend.speed", lang), font=dict(color=LABEL)),
                                  tickfont=dict(color=LABEL), thickness=10, len=0.3, x=0.01, xanchor="left",
                                  y=0.02, yanchor="bottom", bgcolor="rgba(11,18,32,0.7)")),
        hovertemplate="%{text}<extra></extra>", text=[])]


def _patch(rows: list[dict], lang: str) -> list[dict]:
    return [{
        "x": [r["lon"] for r in rows],
        "y": [r["lat"] for r in rows],
        "marker.color": [r["speed_kmh"] if r["speed_kmh"] is not None else 0 for r in rows],
        "text": [f"{r['name'] or r['vd_id']}<br>{t('tile.mean_speed', lang)}: "
                 f"{fmt_number(r['speed_kmh'], lang, 0)} km/h<br>{t('unit.volume', lang)}: "
                 f"{fmt_number(r['volume'], lang)}" for r in rows],
    }]


DETECTORS = Layer(id="detectors", title_key="layer.detectors", order=50, traces=_traces,
                  query=latest_readings, patch=_patch, feeds=("tdx-vdlive", "tdx-vd"))
