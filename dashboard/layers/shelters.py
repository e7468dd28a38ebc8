"""Evacuation shelters (NFA list) with their state at the moment shown: open, full or closed
by marker shape, occupancy against capacity by colour; shelters with no recent report are
small hollow dots. On by default at the activation levels."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import plotly.graph_objects as go

from ..i18n import fmt_number, t
from ._common import ACTIVATION, clock, district_name, freshness, inert, kept_for, legend_name, same_data_same_patch
from ._style import BACKGROUND
from .base import Layer

STATUS_LOOKBACK = timedelta(days=7)  # an older report says nothing about the shelter now
CADENCE = timedelta(hours=1)  # shelter-status
# Pentagons, so a shelter is never mistaken for a rain gauge (circles).
STATUS_SYMBOL = {"open": "pentagon", "full": "square", "closed": "x", None: "pentagon-open"}
# Occupancy / capacity, light blue (room) to red (full); full is also its own shape and word.
OCCUPANCY_BINS = ((0.5, "#abd9e9"), (0.8, "#ffffbf"), (1.0, "#fdae61"))
FULL = "#d7191c"
CLOSED = "#8aa4c0"
UNKNOWN = "#6b7b8f"


@kept_for(60)
def shelter_list(db, as_of: datetime) -> list[dict]:
    """Taichung's shelters from the NFA list (a place list, revised a few times a year)."""
    return db.rows(
        """SELECT shelter_id, name, address, district, lon, lat, capacity, disaster_types, vulnerable_ok
             FROM shelter WHERE district IS NOT NULL AND lon IS NOT NULL ORDER BY shelter_id""")


def shelter_states(db, as_of: datetime) -> dict[str, dict]:
    """Each shelter's latest status report at or before `as_of` within STATUS_LOOKBACK: from the
    current-state table when that report is not newer than `as_of`, else from the history."""
    rows = db.rows(
        """SELECT c.shelter_id,
                  CASE WHEN c.time <= %(as_of)s THEN c.time ELSE h.time END AS time,
                  CASE WHEN c.time <= %(as_of)s THEN c.occupancy ELSE h.occupancy END AS occupancy,
                  CASE WHEN c.time <= %(as_of)s THEN c.status ELSE h.status END AS status
             FROM shelter_status_current c
             LEFT JOIN LATERAL (
                 SELECT time, occupancy, status FROM shelter_status h
                  WHERE c.time > %(as_of)s AND h.shelter_id = c.shelter_id
                    AND h.time > %(since)s AND h.time <= %(as_of)s
                  ORDER BY h.time DESC LIMIT 1) h ON true
            WHERE c.time > %(since)s""",
        {"as_of": as_of, "since": as_of - STATUS_LOOKBACK})
    return {r["shelter_id"]: r for r in rows if r["time"] is not None}


NO_STATE = {"time": None, "occupancy": None, "status": None}


def shelters(db, as_of: datetime) -> dict:
    """Every Taichung shelter with its state at `as_of`."""
    states = shelter_states(db, as_of)
    rows = [{**s, **{k: v for k, v in states.get(s["shelter_id"], NO_STATE).items() if k != "shelter_id"}}
            for s in shelter_list(db, as_of)]
    return summarise(rows, as_of)


def summarise(rows: list[dict], as_of: datetime) -> dict:
    counts = {"open": 0, "full": 0, "closed": 0}
    people = 0
    for r in rows:
        if r["status"] in counts:
            counts[r["status"]] += 1
        if r["status"] in ("open", "full"):
            people += r["occupancy"] or 0
    return {"as_of": as_of, "rows": rows, "counts": counts, "people": people,
            **freshness((r["time"] for r in rows), as_of, CADENCE)}


def ratio(r: dict) -> float:
    if r["status"] == "full":
        return 1.0
    if not r["capacity"] or r["occupancy"] is None:
        return 0.0
    return min(1.0, r["occupancy"] / r["capacity"])


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers", name=t("layers.shelters", lang), legendgroup="shelters",
        marker=dict(size=[], symbol=[], color=[], line=dict(color=BACKGROUND, width=1)),
        text=[], hovertemplate="%{text}<extra></extra>")]


def colour(r: dict) -> str:
    if r["status"] is None:
        return UNKNOWN
    if r["status"] == "closed":
        return CLOSED
    x = ratio(r)
    return next((c for upper, c in OCCUPANCY_BINS if x < upper), FULL)


@lru_cache(maxsize=4096)
def _about(name: str, address: str | None, district: str | None, capacity: int | None, types: tuple,
           lang: str) -> list:
    """The lines of a shelter's hover that come from the list (the same every refresh)."""
    return [f"<b>{inert(name, 40)}</b> ({district_name(district, lang)})", inert(address, 60),
            f"{t('layers.capacity', lang)} {fmt_number(capacity, lang)} · "
            f"{t('layers.disaster_types', lang)} {inert('、'.join(types), 40)}"]


def hover(r: dict, lang: str, as_of: datetime) -> str:
    lines = [*_about(r["name"], r["address"], r["district"], r["capacity"], tuple(r["disaster_types"] or ()), lang)]
    if r["status"] is None:
        lines.append(t("layers.shelter_status.none", lang))
    else:
        lines.append(f"<b>{t('layers.shelter_status.' + r['status'], lang)}</b> · {t('layers.occupancy', lang)} "
                     f"{fmt_number(r['occupancy'], lang)} / {fmt_number(r['capacity'], lang)}")
        lines.append(f"{t('time.data_at', lang)} {clock(r['time'], as_of)}")
    return "<br>".join(lines)


def patch(data: dict, lang: str) -> list[dict]:
    rows = data["rows"]
    return [{"x": [r["lon"] for r in rows], "y": [r["lat"] for r in rows],
             "marker.symbol": [STATUS_SYMBOL.get(r["status"], "pentagon-open") for r in rows],
             "marker.color": [colour(r) for r in rows],
             "marker.size": [7 if r["status"] is None else 14 for r in rows],
             "text": [hover(r, lang, data["as_of"]) for r in rows],
             "name": legend_name("layers.shelters", data, lang, empty_key="layers.no_reports")}]


SHELTERS = Layer(id="shelters", title_key="layers.shelters", order=40, traces=_traces, query=shelters,
                 patch=same_data_same_patch(patch), feeds=("shelters", "shelter-status"), levels=ACTIVATION)
