"""CWA weather stations in Taichung, coloured by temperature (wind and humidity on hover).
Off by default: an officer switches it on when the weather matters."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

from ..i18n import fmt_number, t
from ._common import NEVER, clock, district_name, freshness, inert, legend_name, same_data_same_patch
from ._style import BACKGROUND, LABEL
from .base import Layer

WINDOW = timedelta(hours=1)
CADENCE = timedelta(minutes=10)
# ColorBrewer RdYlBu reversed: blue cold, red hot; readable with colour-vision deficiencies.
TEMPERATURE_SCALE = [[0.0, "#2c7bb6"], [0.25, "#abd9e9"], [0.5, "#ffffbf"], [0.75, "#fdae61"], [1.0, "#d7191c"]]
T_MIN, T_MAX = 5, 35


def weather_stations(db, as_of: datetime) -> dict:
    """Each Taichung station's latest observation within WINDOW before `as_of`."""
    rows = db.rows(
        """SELECT s.station_id, s.name, s.lon, s.lat, s.district_code, r.time, r.temperature_c,
                  r.humidity_pct, r.wind_speed_ms, r.wind_dir_deg, r.gust_ms
             FROM cwa_station s
             CROSS JOIN LATERAL (
                 SELECT time, temperature_c, humidity_pct, wind_speed_ms, wind_dir_deg, gust_ms
                   FROM cwa_station_reading r
                  WHERE r.station_id = s.station_id AND r.time > %(since)s AND r.time <= %(as_of)s
                  ORDER BY r.time DESC LIMIT 1) r
            WHERE s.district_code IS NOT NULL AND s.lon IS NOT NULL
            ORDER BY s.station_id""",
        {"since": as_of - WINDOW, "as_of": as_of})
    return {"as_of": as_of, "rows": rows, **freshness((r["time"] for r in rows), as_of, CADENCE)}


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers+text", name=t("layers.stations", lang), legendgroup="stations",
        marker=dict(size=13, symbol="square", color=[], colorscale=TEMPERATURE_SCALE, cmin=T_MIN, cmax=T_MAX,
                    line=dict(color=BACKGROUND, width=1)),
        text=[], textposition="top center", textfont=dict(color=LABEL, size=12),
        hovertext=[], hovertemplate="%{hovertext}<extra></extra>")]


def hover(r: dict, lang: str, as_of: datetime) -> str:
    return "<br>".join([
        f"<b>{inert(r['name'] or r['station_id'], 40)}</b> ({district_name(r['district_code'], lang)})",
        f"{t('layers.temperature', lang)} {fmt_number(r['temperature_c'], lang, 1)} °C · "
        f"{t('layers.humidity', lang)} {fmt_number(r['humidity_pct'], lang)} %",
        f"{t('layers.wind', lang)} {fmt_number(r['wind_speed_ms'], lang, 1)} m/s · "
        f"{t('layers.gust', lang)} {fmt_number(r['gust_ms'], lang, 1)} m/s",
        f"{t('time.data_at', lang)} {clock(r['time'], as_of)}"])


def patch(data: dict, lang: str) -> list[dict]:
    rows = [r for r in data["rows"] if r["temperature_c"] is not None]
    return [{"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
             "marker.color": [r["temperature_c"] for r in rows],
             "text": [f"{r['temperature_c']:.0f}°" for r in rows],
             "hovertext": [hover(r, lang, data["as_of"]) for r in rows],
             "name": legend_name("layers.stations", data, lang)}]


STATIONS = Layer(id="stations", title_key="layers.stations", order=25, traces=_traces, query=weather_stations,
                 patch=same_data_same_patch(patch), feeds=("cwa-stations",), levels=NEVER)
