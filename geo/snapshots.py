"""Rows of ``coverage_snapshot`` (schemas/sql/050_coverage.sql) from a coverage result.

One row per scope: the city (code ``66000``), each district (8-digit code), each village
(11-digit code), all at the same ``time``. Figures are stored unrounded (rounding is for
display); a percentage of nothing (no people) is NULL. ``stations_up``/``stations_down`` count
stations sited in the scope (degraded counts as up: it still covers).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .result import CoverageResult

TABLE = "coverage_snapshot"
COLUMNS = (
    "time", "scope", "code", "population", "covered_population", "pct_population",
    "area_km2", "covered_area_km2", "pct_area", "stations_up", "stations_down",
)  # fmt: skip
KEY = ("scope", "code", "time")
SCOPES = ("city", "district", "village")


def snapshot_rows(
    result: CoverageResult, time: datetime, *, village_codes: Iterable[str] | None = None
) -> list[tuple]:
    """Tuples in ``COLUMNS`` order: the city, the 29 districts, and the villages (all of them,
    or only ``village_codes``, e.g. those a status change touched)."""
    if not isinstance(time, datetime) or time.tzinfo is None or time.utcoffset() is None:
        raise ValueError(f"snapshot time must be a timezone-aware datetime, got {time!r}")
    city = result.city()
    rows = [_row(time, "city", city["code"], city)]
    for d in result.districts().to_dict("records"):
        rows.append(_row(time, "district", d["code"], d))
    villages = result.villages
    if village_codes is not None:
        wanted = set(village_codes)
        unknown = wanted - set(villages["code"])
        if unknown:
            raise ValueError(f"unknown village codes: {sorted(unknown)[:5]}")
        villages = villages[villages["code"].isin(wanted)]
    for v in villages.to_dict("records"):
        rows.append(_row(time, "village", v["code"], v))
    return rows


def _row(time: datetime, scope: str, code: str, f: dict) -> tuple:
    population = int(f["population"])
    covered = float(f["covered_population"])
    area, covered_area = float(f["area_m2"]), float(f["covered_area_m2"])
    return (
        time,
        scope,
        str(code),
        population,
        covered,
        _pct(covered, population),
        area / 1e6,
        covered_area / 1e6,
        _pct(covered_area, area),
        int(f["stations_up"]),
        int(f["stations_down"]),
    )


def _pct(part: float, whole: float) -> float | None:
    return min(100.0, 100.0 * part / whole) if whole > 0 else None
