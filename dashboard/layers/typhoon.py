"""Tropical cyclones tracked at the moment shown (CWA W-C0034-005): the analysed track (solid),
the latest forecast (dashed), the 15 m/s wind circle at the latest fix. The map shows Taichung
only, so a cyclone off the map gets an arrow at the map's edge pointing to it, labelled with
its name, direction and distance from the city."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ..i18n import fmt_number, t
from ._common import (CITY_HALL, NORMAL, bearing_deg, circle, clock, compass, distance_km, edge_label_position,
                      edge_point, freshness, inert, legend_name, on_map, ring_xy, same_data_same_patch)
from .base import Layer

TRACK_SHOWN = timedelta(days=5)  # analysed positions this far back
FORECAST_AHEAD = timedelta(days=6)
TRACKED = timedelta(hours=24)  # a cyclone with no analysis this recent is no longer tracked
TRACK = "#e8eef5"
FORECAST = "#ffd166"
WIND = "#ff9a3c"


def cyclones(db, as_of: datetime) -> dict:
    rows = db.rows(
        """SELECT f.cyclone_id, f.kind, f.time, f.base_time, f.lon, f.lat, f.pressure_hpa, f.max_wind_ms,
                  f.radius_15ms_km, f.moving_speed_kmh, f.moving_dir_deg, f.issued, c.name_zh, c.name_en
             FROM cwa_typhoon_fix f JOIN cwa_typhoon c USING (cyclone_id)
            WHERE f.time > %(since)s AND f.time <= %(until)s AND f.issued <= %(as_of)s
            ORDER BY f.cyclone_id, f.kind, f.time""",
        {"since": as_of - TRACK_SHOWN, "until": as_of + FORECAST_AHEAD, "as_of": as_of})
    return summarise(rows, as_of)


def summarise(rows: list[dict], as_of: datetime) -> dict:
    """Fixes -> one entry per cyclone still tracked at `as_of`: track, forecast, latest fix."""
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["cyclone_id"], []).append(r)
    out = []
    for cid, fixes in sorted(by_id.items()):
        track = [f for f in fixes if f["kind"] == "analysis" and f["time"] <= as_of]
        if not track or as_of - track[-1]["time"] > TRACKED:
            continue
        latest = track[-1]
        forecasts = [f for f in fixes if f["kind"] == "forecast" and f["time"] > latest["time"]]
        base = max((f["base_time"] for f in forecasts), default=None)
        forecast = [f for f in forecasts if f["base_time"] == base]
        lon, lat = latest["lon"], latest["lat"]
        out.append({"id": cid, "name_zh": latest["name_zh"], "name_en": latest["name_en"], "latest": latest,
                    "track": [(f["lon"], f["lat"]) for f in track],
                    "forecast": [(lon, lat)] + [(f["lon"], f["lat"]) for f in forecast] if forecast else [],
                    "distance_km": distance_km(*CITY_HALL, lon, lat), "bearing": bearing_deg(*CITY_HALL, lon, lat),
                    "on_map": on_map(lon, lat)})
    return {"as_of": as_of, "cyclones": out,
            **freshness((c["latest"]["issued"] for c in out), as_of, None)}


def name(c: dict, lang: str) -> str:
    text = c["name_zh"] if lang == "zh-TW" and c["name_zh"] else (c["name_en"] or c["name_zh"] or c["id"])
    return inert(text, 30)


def hover(c: dict, lang: str, as_of: datetime) -> str:
    f = c["latest"]
    return "<br>".join([
        f"<b>{t('layers.typhoon_named', lang, name=name(c, lang))}</b> · {clock(f['time'], as_of)}",
        f"{t('layers.pressure', lang)} {fmt_number(f['pressure_hpa'], lang)} hPa · "
        f"{t('layers.max_wind', lang)} {fmt_number(f['max_wind_ms'], lang)} m/s",
        f"{t('layers.radius_15', lang)} {fmt_number(f['radius_15ms_km'], lang)} km",
        t("layers.from_city", lang, direction=compass(c["bearing"], lang), km=fmt_number(c["distance_km"], lang))])


def _traces(lang: str) -> list:
    title = t("layers.typhoon", lang)
    common = dict(legendgroup="typhoon", name=title, showlegend=False, hoverinfo="skip")
    return [
        go.Scatter(x=[], y=[], mode="lines+markers", line=dict(color=TRACK, width=2.5),
                   marker=dict(size=6, color=TRACK), **common),
        go.Scatter(x=[], y=[], mode="lines+markers", line=dict(color=FORECAST, width=2.5, dash="dash"),
                   marker=dict(size=6, color=FORECAST, symbol="circle-open"), **common),
        go.Scatter(x=[], y=[], mode="lines", fill="toself", fillcolor="rgba(255,154,60,0.14)",
                   line=dict(color=WIND, width=2, dash="dot"), **common),
        go.Scatter(x=[], y=[], mode="markers", legendgroup="typhoon", name=title,
                   marker=dict(size=22, symbol="circle-x", color=WIND, line=dict(color="#ffffff", width=1.5)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        # Off the map: an arrow at its edge and what it points to.
        go.Scatter(x=[], y=[], mode="markers", legendgroup="typhoon", name=title, showlegend=False,
                   marker=dict(size=30, symbol="arrow", angle=[], color=FORECAST, line=dict(color="#0b1220", width=1)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="text", text=[], textposition=[], textfont=dict(color=FORECAST, size=15),
                   **common),
    ]


def patch(data: dict, lang: str) -> list[dict]:
    cs = data["cyclones"]
    tx, ty = ring_xy(([p[0] for p in c["track"]], [p[1] for p in c["track"]]) for c in cs)
    fx, fy = ring_xy(([p[0] for p in c["forecast"]], [p[1] for p in c["forecast"]]) for c in cs if c["forecast"])
    wx, wy = ring_xy(circle(c["latest"]["lon"], c["latest"]["lat"], c["latest"]["radius_15ms_km"])
                     for c in cs if c["latest"]["radius_15ms_km"])
    off = [c for c in cs if not c["on_map"]]
    edges = [edge_point(c["latest"]["lon"], c["latest"]["lat"]) for c in off]
    return [
        {"x": tx, "y": ty},
        {"x": fx, "y": fy},
        {"x": wx, "y": wy},
        {"x": [c["latest"]["lon"] for c in cs], "y": [c["latest"]["lat"] for c in cs],
         "text": [hover(c, lang, data["as_of"]) for c in cs],
         "name": legend_name("layers.typhoon", data, lang, empty_key="layers.none_tracked")},
        {"x": [e[0] for e in edges], "y": [e[1] for e in edges], "marker.angle": [e[2] for e in edges],
         "text": [hover(c, lang, data["as_of"]) for c in off]},
        {"x": [e[0] for e in edges], "y": [e[1] for e in edges],
         "textposition": [edge_label_position(e[2]) for e in edges],
         "text": [t("layers.typhoon_edge", lang, name=name(c, lang), direction=compass(c["bearing"], lang),
                    km=fmt_number(c["distance_km"], lang)) for c in off]},
    ]


TYPHOON = Layer(id="typhoon", title_key="layers.typhoon", order=70, traces=_traces, query=cyclones,
                patch=same_data_same_patch(patch), feeds=("cwa-typhoon",), levels=NORMAL)
