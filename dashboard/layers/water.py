"""River water levels from Civil IoT Taiwan (SensorThings `sta`): each water-level station in the
map's frame, coloured and labelled by its warning level (schemas/rain_alert_levels.yaml,
`water_level`) where one is set, else by how fast the water moved over the last hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import plotly.graph_objects as go

from ingest.feeds.cwa_rain import water_level_warnings

from ..basemap import bounds
from ..i18n import fmt_number, t
from ._common import ACTIVATION, clock, fetch, freshness, inert, legend_name, same_data_same_patch
from ._style import BACKGROUND
from .base import Layer

WINDOW = timedelta(hours=2)  # a station's latest reading counts for this long
CADENCE = timedelta(minutes=10)
CHANGE_OVER = timedelta(hours=1)  # the rate compares with the reading at least this much older
CHANGE_LOOKBACK = timedelta(hours=3)
# Which datastreams are river water levels. The same text is the predicate of the partial
# index in schemas/sql/120_wall_indexes.sql (the planner uses it only on an exact match).
WATER_PREDICATE = ("(d.observed_property ~* '水位|water ?level' OR d.name ~* '水位|water ?level') "
                   "AND coalesce(d.observed_property, '') || coalesce(d.name, '') !~* '地下水|groundwater'")
RISING_FAST = 0.3  # m/h
MOVING = 0.05  # m/h: below this the level is steady
TREND_STYLE = {  # trend -> (colour, symbol): direction by shape, speed by colour and size
    "rising_fast": ("#f0509a", "triangle-up"), "rising": ("#ff9a3c", "triangle-up"),
    "steady": ("#9fb3c8", "circle"), "falling": ("#4f8fe0", "triangle-down"), "unknown": ("#6b7b8f", "circle-open"),
}
WARNING_STYLE = {1: ("#ffe14d", "triangle-up"), 2: ("#ff9a3c", "square"), 3: ("#f0509a", "star")}


def water_levels(db, as_of: datetime) -> dict:
    """Each water-level datastream's latest reading within WINDOW before `as_of`, and the latest
    one at least CHANGE_OVER older, for the rate (two index probes per datastream: cheaper than
    one probe that sorts every reading of the window)."""
    x0, y0, x1, y1 = bounds()
    rows = fetch(  # hundreds of probes: the planner's estimate nears the JIT threshold

        db,
        f"""SELECT d.service, d.datastream_id, d.name AS datastream, d.unit_symbol,
                   th.thing_id, th.name, th.properties::text AS properties, th.lon, th.lat,
                   o.time, o.result, p.time AS prev_time, p.result AS prev_result
              FROM sta_datastream d
              JOIN LATERAL (  -- by key (OFFSET 0: not a hash join over every Civil IoT station)
                  SELECT thing_id, name, properties, lon, lat FROM sta_thing th
                   WHERE th.service = d.service AND th.thing_id = d.thing_id
                     AND th.lon BETWEEN %(x0)s AND %(x1)s AND th.lat BETWEEN %(y0)s AND %(y1)s
                  OFFSET 0) th ON true
              JOIN LATERAL (
                  SELECT time, result FROM sta_observation o
                   WHERE o.service = d.service AND o.datastream_id = d.datastream_id
                     AND o.time > %(since)s AND o.time <= %(as_of)s AND o.result IS NOT NULL
                   ORDER BY o.time DESC LIMIT 1) o ON true
              LEFT JOIN LATERAL (
                  SELECT time, result FROM sta_observation p
                   WHERE p.service = d.service AND p.datastream_id = d.datastream_id
                     AND p.time > %(prev_since)s AND p.time <= %(prev_until)s AND p.result IS NOT NULL
                   ORDER BY p.time DESC LIMIT 1) p ON true
             WHERE {WATER_PREDICATE}
             ORDER BY d.service, d.datastream_id""",
        {"since": as_of - WINDOW, "as_of": as_of, "prev_since": as_of - CHANGE_LOOKBACK,
         "prev_until": as_of - CHANGE_OVER, "x0": x0, "x1": x1, "y0": y0, "y1": y1})
    return summarise(rows, as_of, water_level_warnings())


def _station_keys(row: dict) -> set[str]:
    props = orjson.loads(row["properties"]) if row.get("properties") else {}  # JSON text: read only when needed
    keys = {row["thing_id"], row["name"] or ""}
    for name in ("stationID", "stationId", "StationID", "stationCode", "station_id", "stationNo"):
        if props.get(name) is not None:
            keys.add(str(props[name]))
    return keys - {""}


def warning(value: float, levels: list[dict]) -> dict | None:
    """The highest warning level the water has reached (levels highest rank first)."""
    for lv in levels:
        threshold = lv["any_of"].get("water_level_m")
        if threshold is not None and value >= threshold:
            return lv
    return None


def trend(rate: float | None) -> str:
    if rate is None:
        return "unknown"
    if rate >= RISING_FAST:
        return "rising_fast"
    if rate >= MOVING:
        return "rising"
    if rate <= -MOVING:
        return "falling"
    return "steady"


def summarise(rows: list[dict], as_of: datetime, warnings: list[dict]) -> dict:
    levels_by_station = {w["station_id"]: w["levels"] for w in warnings}
    for r in rows:
        hours = (r["time"] - r["prev_time"]).total_seconds() / 3600 if r["prev_time"] else 0
        r["rate_m_h"] = (r["result"] - r["prev_result"]) / hours if hours > 0 else None
        r["trend"] = trend(r["rate_m_h"])
        levels = (next((levels_by_station[k] for k in _station_keys(r) if k in levels_by_station), None)
                  if levels_by_station else None)
        lv = warning(r["result"], levels) if levels else None
        r["warning_rank"] = lv["rank"] if lv else 0
        r["warning_zh"], r["warning_en"] = (lv["zh"], lv["en"]) if lv else (None, None)
        r["has_levels"] = levels is not None
    return {"as_of": as_of, "rows": rows, **freshness((r["time"] for r in rows), as_of, CADENCE)}


def style(r: dict) -> tuple[str, str]:
    if r["warning_rank"]:
        return WARNING_STYLE.get(min(r["warning_rank"], 3))
    return TREND_STYLE[r["trend"]]


def _traces(lang: str) -> list:
    return [
        go.Scatter(x=[], y=[], mode="markers", name=t("layers.water", lang), legendgroup="water",
                   marker=dict(size=[], symbol=[], color=[], line=dict(color=BACKGROUND, width=1)),
                   text=[], hovertemplate="%{text}<extra></extra>"),
        go.Scatter(x=[], y=[], mode="text", text=[], textposition="middle right", legendgroup="water",
                   showlegend=False, hoverinfo="skip", name=t("layers.water", lang),
                   textfont=dict(color="#ffd6e8", size=13)),
    ]


def hover(r: dict, lang: str, as_of: datetime) -> str:
    unit = inert(r["unit_symbol"] or "m", 8)
    lines = [f"<b>{inert(r['name'] or r['thing_id'], 40)}</b>",
             f"{t('layers.water_level', lang)} {fmt_number(r['result'], lang, 2)} {unit}"]
    if r["rate_m_h"] is not None:
        lines.append(f"{t('layers.water_change', lang)} {r['rate_m_h']:+.2f} {unit}/h · "
                     f"{t('layers.trend.' + r['trend'], lang)}")
    warning_text = r["warning_zh"] if lang == "zh-TW" else r["warning_en"]
    if warning_text:
        lines.append(f"<b>{inert(warning_text, 20)}</b>")
    lines.append(f"{t('time.data_at', lang)} {clock(r['time'], as_of)}")
    return "<br>".join(lines)


def label(r: dict, lang: str) -> str | None:
    warning_text = r["warning_zh"] if lang == "zh-TW" else r["warning_en"]
    if warning_text:
        return f" {inert(warning_text, 20)}"
    if r["trend"] == "rising_fast":
        return f" {t('layers.trend.rising_fast', lang)} {r['rate_m_h']:+.1f}"
    return None


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    styles = [style(r) for r in rows]
    labelled = [(r, label(r, lang)) for r in rows]
    labelled = [(r, text) for r, text in labelled if text]
    return [
        {"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
         "marker.color": [s[0] for s in styles], "marker.symbol": [s[1] for s in styles],
         "marker.size": [17 if r["warning_rank"] or r["trend"] == "rising_fast" else 12 for r in rows],
         "text": [hover(r, lang, data["as_of"]) for r in rows],
         "name": legend_name("layers.water", data, lang)},
        {"x": [r["lon"] for r, _ in labelled], "y": [r["lat"] for r, _ in labelled],
         "text": [text for _, text in labelled]},
    ]


WATER = Layer(id="water", title_key="layers.water", order=32, traces=_traces, query=water_levels,
              patch=same_data_same_patch(patch), feeds=("sta",), levels=ACTIVATION)
