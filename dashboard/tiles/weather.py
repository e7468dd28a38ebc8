"""The rain summary: the most rain in 1 hour and in 24 hours in Taichung and where, and how many
gauges are over each CWA rain level (大雨 / 豪雨 / 大豪雨 / 超大豪雨)."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..data import shared
from ..i18n import fmt_number, fmt_time, t
from ..layers._common import district_name
from ..layers.rain import level_names, rain_gauges
from ._lists import plain
from .base import Tile


@shared
def rain_summary(db, as_of: datetime) -> dict:
    data = rain_gauges(db, as_of)
    return summarise(data)


def _top(rows: list[dict], column: str) -> dict | None:
    known = [r for r in rows if r[column] is not None]
    return max(known, key=lambda r: (r[column], r["station_id"])) if known else None


def summarise(data: dict) -> dict:
    rows = data["rows"]
    levels = sorted(level_names().values(), key=lambda lv: -lv["rank"])
    over = [{"id": lv["id"], "zh": lv["zh"], "en": lv["en"], "rank": lv["rank"],
             "stations": sum(r["rank"] == lv["rank"] for r in rows)} for lv in levels]
    return {"gauges": len(rows), "max_1h": _top(rows, "past_1h_mm"), "max_24h": _top(rows, "past_24h_mm"),
            "over": over, "data_time": data["data_time"], "stale": data["stale"]}


def where(row: dict | None, lang: str) -> str:
    if row is None:
        return "—"
    name, district = plain(row["name"] or row["station_id"], 20), district_name(row["district_code"], lang)
    return f"{name}（{district}）" if lang == "zh-TW" else f"{name} ({district})"


def render(data: dict, lang: str, as_of: datetime):
    max_1h, max_24h = data["max_1h"], data["max_24h"]
    levels = [o for o in data["over"] if o["stations"]]
    level_text = (" · ".join(t("tiles.level_stations", lang, level=o["zh"] if lang == "zh-TW" else o["en"],
                                n=o["stations"]) for o in levels)
                  if levels else t("tiles.no_rain_level", lang))
    state = "none" if not data["gauges"] else "stale" if data["stale"] else "ok"
    top_rank = max((o["rank"] for o in levels), default=0)
    data_time = data["data_time"]
    return html.Div(
        className=f"tile tile-{state} tile-weather", id={"type": "tile", "id": "weather"},
        **{"data-state": state, "data-rain-level": str(top_rank)},
        children=[
            html.Div(t("tile.weather", lang), className="tile-title"),
            html.Div([html.Span(fmt_number(max_1h["past_1h_mm"] if max_1h else None, lang, 1), className="tile-value"),
                      html.Span(t("tiles.mm_1h", lang), className="tile-unit")]),
            html.Div(where(max_1h, lang), className="tile-detail weather-where"),
            html.Div([html.Span(t("tiles.max_24h", lang), className="weather-label"),
                      html.Span(t("tiles.mm", lang, n=fmt_number(max_24h["past_24h_mm"] if max_24h else None,
                                                                 lang, 1)), className="weather-figure"),
                      html.Span(where(max_24h, lang), className="weather-where")], className="tile-detail"),
            html.Div(level_text, className=f"tile-detail weather-levels rain-rank-{top_rank}"),
            html.Div(f"{t('time.data_at', lang)} {fmt_time(data_time, lang)}" if data_time
                     else t("time.no_data", lang), className="tile-time"),
        ])


WEATHER = Tile(id="weather", order=30, query=rain_summary, render=render)
