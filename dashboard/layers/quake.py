"""Felt earthquakes of the last 24 hours (CWA E-A0015-001): the epicentre (the latest large,
earlier ones small), distance rings around the latest, the intensity measured at Taichung's
stations as labelled markers, and Taichung's intensity in the legend. An epicentre off the map
gets an arrow at the map's edge."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ingest.feeds._cwa import is_taichung

from ..i18n import fmt_number, t
from ._common import (CITY_HALL, NORMAL, bearing_deg, circle, clock, compass, distance_km, edge_label_position,
                      edge_point, freshness, inert, on_map, ring_xy, same_data_same_patch)
from .base import Layer

WINDOW = timedelta(hours=24)
MAX_REPORTS = 5
RINGS_KM = (10, 25)  # farther rings would cover the whole city
EPICENTRE = "#ff4d6d"
# By intensity rank (0..9: 0 1 2 3 4 5弱 5強 6弱 6強 7), rising in lightness then hue; the
# number is written on every marker too.
INTENSITY_COLOUR = ["#55657a", "#c9e8ff", "#7fc8f8", "#ffe14d", "#ff9a3c", "#f0509a", "#f0509a", "#c77dff",
                    "#c77dff", "#8e24aa"]


def quakes(db, as_of: datetime) -> dict:
    rows = db.rows(
        """SELECT report_no, origin_time, lon, lat, location, depth_km, magnitude, max_intensity_rank,
                  taichung_intensity_rank, intensities
             FROM cwa_quake_report
            WHERE origin_time > %(since)s AND origin_time <= %(as_of)s
            ORDER BY origin_time DESC LIMIT %(limit)s""",
        {"since": as_of - WINDOW, "as_of": as_of, "limit": MAX_REPORTS})
    return summarise(rows, as_of)


def taichung_stations(intensities: dict) -> list[dict]:
    stations = []
    for county, entry in (intensities or {}).items():
        if is_taichung(county):
            stations.extend(s for s in entry.get("stations", []) if s.get("lon") is not None)
    return stations


def summarise(rows: list[dict], as_of: datetime) -> dict:
    reports = []
    for r in rows:
        reports.append({
            "report_no": r["report_no"], "time": r["origin_time"], "lon": r["lon"], "lat": r["lat"],
            "location": r["location"], "depth_km": r["depth_km"], "magnitude": r["magnitude"],
            "max_rank": r["max_intensity_rank"], "taichung_rank": r["taichung_intensity_rank"],
            "distance_km": distance_km(*CITY_HALL, r["lon"], r["lat"]),
            "bearing": bearing_deg(*CITY_HALL, r["lon"], r["lat"]), "on_map": on_map(r["lon"], r["lat"]),
            "stations": taichung_stations(r["intensities"]) if not reports else []})  # the latest only
    return {"as_of": as_of, "reports": reports, **freshness((q["time"] for q in reports), as_of, None)}


def intensity(rank: int | None, lang: str) -> str:
    return t(f"layers.intensity.{rank or 0}", lang)


def hover(q: dict, lang: str, as_of: datetime) -> str:
    return "<br>".join([
        f"<b>{t('layers.quake_magnitude', lang, m=fmt_number(q['magnitude'], lang, 1))}</b> · "
        f"{clock(q['time'], as_of)}",
        inert(q["location"], 60),
        f"{t('layers.depth', lang)} {fmt_number(q['depth_km'], lang, 1)} km · "
        f"{t('layers.max_intensity', lang)} {intensity(q['max_rank'], lang)}",
        f"{t('layers.taichung_intensity', lang)} {intensity(q['taichung_rank'], lang)}",
        t("layers.from_city", lang, direction=compass(q["bearing"], lang), km=fmt_number(q["distance_km"], lang))])


def _traces(lang: str) -> list:
    title = t("layers.quake", lang)
    common = dict(legendgroup="quake", name=title, showlegend=False, hoverinfo="skip")
    return [
        go.Scatter(x=[], y=[], mode="lines", line=dict(color=EPICENTRE, width=1.5, dash="dot"), **common),
        go.Scatter(x=[], y=[], mode="text", text=[], textfont=dict(color="#ffb3c1", size=12), **common),
        go.Scatter(x=[], y=[], mode="markers+text", legendgroup="quake", name=title, showlegend=False,
                   marker=dict(size=24, symbol="square", color=[], line=dict(color="#0b1220", width=1)),
                   text=[], textfont=dict(color="#0b1220", size=13), textposition="middle center",
                   hovertext=[], hovertemplate="%{hovertext}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="markers", legendgroup="quake", name=title,
                   marker=dict(size=[], symbol="star", color=EPICENTRE, opacity=1,
                               line=dict(color="#ffffff", width=1.5)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="markers", legendgroup="quake", name=title, showlegend=False,
                   marker=dict(size=30, symbol="arrow", angle=[], color=EPICENTRE, line=dict(color="#0b1220", width=1)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="text", text=[], textposition=[], textfont=dict(color="#ffb3c1", size=15),
                   **common),
    ]


def legend(data: dict, lang: str) -> str:
    title = t("layers.quake", lang)
    if not data["reports"]:
        return f"{title} · {t('layers.none_24h', lang)}"
    q = data["reports"][0]
    return t("layers.quake_legend", lang, title=title, m=fmt_number(q["magnitude"], lang, 1),
             intensity=intensity(q["taichung_rank"], lang), time=clock(q["time"], data["as_of"]))


def patch(data: dict, lang: str) -> list[dict]:
    reports = data["reports"]
    latest = reports[0] if reports else None
    rings = [circle(latest["lon"], latest["lat"], km) for km in RINGS_KM] if latest else []
    rx, ry = ring_xy(rings)
    stations = latest["stations"] if latest else []
    off = [latest] if latest and not latest["on_map"] else []
    edges = [edge_point(q["lon"], q["lat"]) for q in off]
    return [
        {"x": rx, "y": ry},
        {"x": [ring[0][0] for ring in rings], "y": [ring[1][0] for ring in rings],
         "text": [f"{km} km" for km in RINGS_KM[:len(rings)]]},
        {"x": [s["lon"] for s in stations], "y": [s["lat"] for s in stations],
         "marker.color": [INTENSITY_COLOUR[min(s["rank"], 9)] for s in stations],
         "text": [t(f"layers.intensity_short.{s['rank']}", lang) for s in stations],
         "hovertext": [f"<b>{inert(s['name'], 20)}</b> {intensity(s['rank'], lang)}<br>PGA "
                       f"{fmt_number(s.get('pga_gal'), lang, 1)} gal" for s in stations]},
        {"x": [q["lon"] for q in reports], "y": [q["lat"] for q in reports],
         "marker.size": [30 if i == 0 else 14 for i in range(len(reports))],
         "text": [hover(q, lang, data["as_of"]) for q in reports], "name": legend(data, lang)},
        {"x": [e[0] for e in edges], "y": [e[1] for e in edges], "marker.angle": [e[2] for e in edges],
         "text": [hover(q, lang, data["as_of"]) for q in off]},
        {"x": [e[0] for e in edges], "y": [e[1] for e in edges],
         "textposition": [edge_label_position(e[2]) for e in edges],
         "text": [t("layers.quake_edge", lang, m=fmt_number(q["magnitude"], lang, 1),
                    direction=compass(q["bearing"], lang), km=fmt_number(q["distance_km"], lang)) for q in off]},
    ]


QUAKE = Layer(id="quake", title_key="layers.quake", order=72, traces=_traces, query=quakes,
              patch=same_data_same_patch(patch), feeds=("cwa-quake",), levels=NORMAL)
