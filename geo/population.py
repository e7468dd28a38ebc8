"""Population by village (里) for the periods the MOI household registers were shipped for.

Source and checks: ``geo/data/PROVENANCE.md`` §2 (2015-03 and 2021-03, 625 villages each).
Villages are joined to the boundaries on the 11-digit VILLCODE, never on the name: the
household register writes 66000220004 as 龜売里, the boundary file as 龜壳里.

How people are placed inside a village is a ``PopulationSurface``. The one used today,
``UniformVillageDensity``, spreads each village's people evenly over its area, so a footprint
covering 30 % of a village covers 30 % of its people. A finer surface (a population grid,
building footprints) can replace it without touching the coverage code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd

from .boundaries import DATA_DIR, _districts, _villages

VILLAGE_POPULATION_CSV = DATA_DIR / "stats" / "taichung_population_villages.csv"
DISTRICT_POPULATION_CSV = DATA_DIR / "stats" / "taichung_population_districts.csv"
DEFAULT_POPULATION_PERIOD = "2021-03"


class PopulationPeriodError(ValueError):
    """No village population was shipped for the requested period."""


@lru_cache(maxsize=1)
def _village_table() -> pd.DataFrame:
    table = pd.read_csv(VILLAGE_POPULATION_CSV, dtype={"villcode": str, "towncode": str, "period": str})
    if table.duplicated(["period", "villcode"]).any():
        raise PopulationPeriodError(f"{VILLAGE_POPULATION_CSV.name}: a village appears twice in one period")
    return table


def population_periods() -> list[str]:
    """Periods (``YYYY-MM``) with population for every village."""
    return sorted(_village_table()["period"].unique())


def village_population(period: str = DEFAULT_POPULATION_PERIOD) -> pd.DataFrame:
    """Population per village for ``period``: one row per VILLCODE (index), MOI columns."""
    table = _village_table()
    rows = table[table["period"] == str(period)]
    if rows.empty:
        raise PopulationPeriodError(
            f"no village population for period {period!r}; available: {', '.join(population_periods())}"
        )
    return rows.set_index("villcode").sort_index().copy()


def district_population(period: str) -> pd.DataFrame:
    """Population per district for ``period`` (2015-03, 2021-03 or 2022-03), index TOWNCODE."""
    table = pd.read_csv(DISTRICT_POPULATION_CSV, dtype={"towncode": str, "period": str})
    rows = table[table["period"] == str(period)]
    if rows.empty:
        raise PopulationPeriodError(
            f"no district population for period {period!r}; available: {', '.join(sorted(table['period'].unique()))}"
        )
    return rows.set_index("towncode").sort_index()


@lru_cache(maxsize=4)
def _villages_with_population(period: str) -> gpd.GeoDataFrame:
    shapes = _villages()
    people = village_population(period)
    missing = sorted(set(shapes["VILLCODE"]) ^ set(people.index))
    if missing:
        raise PopulationPeriodError(f"population {period}: codes that do not join the boundaries: {missing[:5]}")
    district_names = _districts().set_index("TOWNCODE")["TOWNNAME"]
    frame = gpd.GeoDataFrame(
        {
            "code": shapes["VILLCODE"].to_numpy(),
            "name": shapes["VILLNAME"].to_numpy(),
            "name_en": shapes["VILLENG"].to_numpy(),
            "district_code": shapes["TOWNCODE"].to_numpy(),
            "district_name": shapes["TOWNCODE"].map(district_names).to_numpy(),
            "population": people.loc[shapes["VILLCODE"], "population"].to_numpy(dtype=np.int64),
            "area_m2": shapes.geometry.area.to_numpy(),
        },
        geometry=shapes.geometry.to_numpy(),
        crs=shapes.crs,
    )
    return frame


def villages_with_population(period: str = DEFAULT_POPULATION_PERIOD) -> gpd.GeoDataFrame:
    """Villages (EPSG:3826, sorted by code) with ``population`` for ``period`` and ``area_m2``.

    Columns: code (VILLCODE), name, name_en, district_code (TOWNCODE), district_name,
    population, area_m2, geometry.
    """
    return _villages_with_population(str(period)).copy()


@runtime_checkable
class PopulationSurface(Protocol):
    """Where the people of each village are. Villages are given by their row in
    ``villages_with_population(period)``.

    A surface that only needs covered areas sets ``needs_geometry = False`` (the coverage code
    then never builds covered geometries). A finer one (a population grid, buildings) sets it
    to True and receives, per village, the covered part as a polygon in EPSG:3826.
    """

    period: str
    needs_geometry: bool

    def population(self) -> np.ndarray:
        """People per village, in village order."""
        ...

    def covered_population(
        self, village_rows: np.ndarray, covered_area_m2: np.ndarray, covered: np.ndarray | None
    ) -> np.ndarray:
        """People living in the covered part of each village in ``village_rows``."""
        ...


class UniformVillageDensity:
    """Each village's people spread evenly over its area (the stated assumption in geo/README.md):
    covered people = people x covered area / area."""

    needs_geometry = False

    def __init__(self, period: str = DEFAULT_POPULATION_PERIOD):
        self.period = str(period)
        frame = _villages_with_population(self.period)
        self._population = frame["population"].to_numpy(dtype=float)
        self._area = frame["area_m2"].to_numpy(dtype=float)

    def population(self) -> np.ndarray:
        return self._population.copy()

    def covered_population(self, village_rows, covered_area_m2, covered=None) -> np.ndarray:
        rows = np.asarray(village_rows, dtype=np.intp)
        share = np.clip(np.asarray(covered_area_m2, dtype=float) / self._area[rows], 0.0, 1.0)
        return self._population[rows] * share
