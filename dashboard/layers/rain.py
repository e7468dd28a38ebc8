"""CWA rain gauges in Taichung: coloured by 24 h rain, shaped and labelled by CWA's rain level
(大雨 / 豪雨 / 大豪雨 / 超大豪雨). The weather tile reads the same query."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import plotly.graph_objects as go

from ingest.feeds.cwa_rain import alert_config

from ..data import shared
from ..i18n import fmt_number, t
from ._common import ACTIVATION, clock, district_name, freshness, inert, legend_name, same_data_same_patch
from ._style import BACKGROUND, LABEL
from .base import Layer

WINDOW = timedelta(hours=1)  # a gauge's latest reading counts for this long
CADENCE = timedelta(minutes=10)  # cwa-rain's cadence: older data is stale
RAIN_MAX = 500  # mm in 24 h at the top of the colour scale (超大豪雨)
# Stepped at CWA's 24 h thresholds (80 / 200 / 350 / 500 mm), brightening as rain grows, so the
# classes differ in lightness as well as hue; the level is also the marker's shape and label.
RAIN_SCALE = [
    [0.0, "#55657a"], [0.002, "#55657a"], [0.002, "#7fb8e6"], [0.16, "#4f8fe0"],
    [0.16, "#ffe14d"], [0.4, "#ffe14d"], [0.4, "#ff9a3c"], [0.7, "#ff9a3c"], [0.7, "#f0509a"],
    [0.999, "#f0509a"], [0.999, "#c77dff"], [1.0, "#c77dff"],
]
LEVEL_SYMBOL = {0: "circle", 1: "triangle-up", 2: "square", 3: "diamond", 4: "star"}


@cache
def level_names() -> dict[str, dict]:
    """CWA rain level id -> {rank, zh, en} (schemas/rain_alert_levels.yaml)."""
    return {lv["id"]: lv for lv in alert_config()["rain"]}


def level_of(level_id: str | None) -> tuple[int, str | None, str | None]:
    lv = level_names().get(level_id or "")
    return (lv["rank"], lv["zh"], lv["en"]) if lv else (0, None, None)


@shared
def rain_gauges(db, as_of: datetime) -> dict:
    """Each Taichung gauge's latest reading within WINDOW before `as_of` (one index probe per
    gauge into the readings hypertable)."""
    rows = db.rows(
        """SELECT s.station_id, s.name, s.lon, s.lat, s.district_code,
                  r.time, r.past_1h_mm, r.past_3h_mm, r.past_24h_mm, r.alert_level
             FROM cwa_rain_station s
             CROSS JOIN LATERAL (
                 SELECT time, past_1h_mm, past_3h_mm, past_24h_mm, alert_level
                   FROM cwa_rain_reading r
                  WHERE r.station_id = s.station_id AND r.time > %(since)s AND r.time <= %(as_of)s
                  ORDER BY r.time DESC LIMIT 1) r
            WHERE s.district_code IS NOT NULL AND s.lon IS NOT NULL""",
        {"since": as_of - WINDOW, "as_of": as_of})
    return summarise(rows, as_of)


def summarise(rows: list[dict], as_of: datetime) -> dict:
    for r in rows:
        r["rank"], r["level_zh"], r["level_en"] = level_of(r["alert_level"])
    rows.sort(key=lambda r: r["station_id"])
    return {"as_of": as_of, "rows": rows, **freshness((r["time"] for r in rows), as_of, CADENCE)}


def level_label(row: dict, lang: str) -> str | None:
    return row["level_zh"] if lang == "zh-TW" else row["level_en"]


def _traces(lang: str) -> list:
    return [
        go.Scatter(
            x=[], y=[], mode="markers", name=t("layers.rain", lang), legendgroup="rain",
            marker=dict(size=12, symbol=[], color=[], colorscale=RAIN_SCALE, cmin=0, cmax=RAIN_MAX,
                        line=dict(color=BACKGROUND, width=1),
                        colorbar=dict(title=dict(text=t("layers.rain_24h", lang), font=dict(color=LABEL)),
                                      tickvals=[0, 80, 200, 350, 500], tickfont=dict(color=LABEL), thickness=10,
                                      # bottom right, over the corner the map leaves empty; no box
                                      # (Plotly mis-sizes a colorbar's box under the 4K zoom)
                                      len=0.25, x=0.99, xanchor="right", y=0.02, yanchor="bottom")),
            text=[], hovertemplate="%{text}<extra></extra>"),
        # Gauges at a CWA level also say so in words, next to the marker.
        go.Scatter(x=[], y=[], mode="text", text=[], textposition="middle right", legendgroup="rain",
                   showlegend=False, hoverinfo="skip", name=t("layers.rain", lang),
                   textfont=dict(color="#ffe9a8", size=13)),
    ]


def hover(r: dict, lang: str, as_of: datetime | None) -> str:
    lines = [f"<b>{inert(r['name'] or r['station_id'], 40)}</b> ({district_name(r['district_code'], lang)})",
             f"{t('layers.rain_1h', lang)} {fmt_number(r['past_1h_mm'], lang, 1)} mm · "
             f"{t('layers.rain_3h', lang)} {fmt_number(r['past_3h_mm'], lang, 1)} mm",
             f"{t('layers.rain_24h', lang)} {fmt_number(r['past_24h_mm'], lang, 1)} mm"]
    if level_label(r, lang):
        lines.append(f"<b>{level_label(r, lang)}</b>")
    lines.append(f"{t('time.data_at', lang)} {clock(r['time'], as_of)}")
    return "<br>".join(lines)


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    alerted = [r for r in rows if r["rank"] > 0]
    return [
        {"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
         "marker.color": [r["past_24h_mm"] or 0 for r in rows],
         "marker.symbol": [LEVEL_SYMBOL.get(r["rank"], "star") for r in rows],
         "marker.size": [16 if r["rank"] > 0 else 11 for r in rows],
         "text": [hover(r, lang, data["as_of"]) for r in rows],
         "name": legend_name("layers.rain", data, lang)},
        {"x": [r["lon"] for r in alerted], "y": [r["lat"] for r in alerted],
         "text": [f" {level_label(r, lang)} {fmt_number(r['past_24h_mm'], lang)}" for r in alerted]},
    ]


RAIN = Layer(id="rain", title_key="layers.rain", order=30, traces=_traces, query=rain_gauges,
             patch=same_data_same_patch(patch), feeds=("cwa-rain",), levels=ACTIVATION)
