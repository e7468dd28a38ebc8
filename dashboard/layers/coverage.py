"""Villages that have lost mobile coverage: the people the same stations would cover with every
station up, minus those covered now, from the coverage-live job's snapshots. On by default at
the activation levels (a typhoon or an earthquake takes stations down); listed at every level."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import plotly.graph_objects as go

from ..basemap import villages
from ..data import shared
from ..i18n import fmt_number, t
from ._common import ACTIVATION
from .base import Layer

# The newest row of every scope at or before as_of. The job writes every village at least
# hourly (ioc/jobs/coverage_live.py): three hours back always reaches one.
LOOKBACK = timedelta(hours=3)
LOST_MIN_PEOPLE = 1.0  # a village has lost coverage when at least this many people...
LOST_MIN_SHARE = 0.01  # ...and this share of its people are no longer covered
LOST_FILL = "rgba(255, 77, 109, 0.45)"
LOST_LINE = "#ffffff"


@shared
def coverage_at(db, as_of: datetime) -> dict:
    """The coverage snapshot in force at `as_of`: the city row, district rows and village rows
    (each the newest at or before as_of), with `lost` people (baseline all up minus covered)."""
    rows = db.rows(
        """SELECT DISTINCT ON (scope, code) time, scope, code, population, covered_population, pct_population,
                  pct_area, baseline_covered_population, stations_up, stations_down
             FROM coverage_snapshot
            WHERE time > %(since)s AND time <= %(as_of)s
            ORDER BY scope, code, time DESC""",
        {"since": as_of - LOOKBACK, "as_of": as_of})
    for r in rows:
        base = r["baseline_covered_population"]
        r["lost"] = max(0.0, base - r["covered_population"]) if base is not None else None
    return {"city": next((r for r in rows if r["scope"] == "city"), None),
            "districts": [r for r in rows if r["scope"] == "district"],
            "villages": [r for r in rows if r["scope"] == "village"]}


def has_lost_coverage(row: dict) -> bool:
    lost = row.get("lost")
    return lost is not None and lost >= LOST_MIN_PEOPLE and lost >= LOST_MIN_SHARE * max(1, row["population"])


@cache
def _areas() -> dict:
    return {a.code: a for a in villages()}


def _traces(lang: str) -> list:
    name = t("layer.coverage_lost", lang)
    return [
        go.Scatter(x=[], y=[], mode="lines", fill="toself", fillcolor=LOST_FILL, line=dict(color=LOST_LINE, width=1.5),
                   fillpattern=dict(shape="x", fgcolor="rgba(255,255,255,0.55)", size=7, solidity=0.15),
                   hoverinfo="skip", name=name, legendgroup="coverage-lost", showlegend=True),
        go.Scatter(x=[], y=[], mode="markers", name=name, legendgroup="coverage-lost", showlegend=False,
                   marker=dict(symbol="triangle-down", size=11, color="#ff4d6d", line=dict(color=LOST_LINE, width=1.2)),
                   hovertemplate="%{text}<extra></extra>", text=[]),
    ]


def _patch(data: dict, lang: str) -> list[dict]:
    areas = _areas()
    lost = sorted((r for r in data["villages"] if has_lost_coverage(r) and r["code"] in areas),
                  key=lambda r: -r["lost"])
    xs: list = []
    ys: list = []
    for r in lost:
        xs.extend(areas[r["code"]].xs)
        ys.extend(areas[r["code"]].ys)
    text = [t("coverage.lost_hover", lang, village=_village_name(areas[r["code"]], lang),
              people=fmt_number(r["lost"], lang), pct=fmt_number(100 * r["lost"] / max(1, r["population"]), lang, 1))
            for r in lost]
    return [{"x": xs, "y": ys},
            {"x": [areas[r["code"]].label_lon for r in lost], "y": [areas[r["code"]].label_lat for r in lost],
             "text": text}]


def _village_name(area, lang: str) -> str:
    return area.name if lang == "zh-TW" or not area.name_en else area.name_en


COVERAGE_LOST = Layer(id="coverage-lost", title_key="layer.coverage_lost", order=40, traces=_traces,
                      query=coverage_at, patch=_patch, feeds=("bts",),
                      levels=ACTIVATION)
