"""A coverage result for the city, its districts and villages, and its JSON form.

Rounding (only when a result is turned into JSON, never in the calculation): population is a
whole number of people (the register counts); covered population to 0.1 person (it is an area
share of a village's people, so fractional); percentages 0-100 to 2 decimals; km² to 3 decimals
(1,000 m²). A percentage of nothing (a scope with no people) is null.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .boundaries import CITY_CODE

VILLAGE_COLUMNS = [
    "code", "name", "name_en", "district_code", "district_name",
    "population", "covered_population", "area_m2", "covered_area_m2", "stations_up", "stations_down",
]  # fmt: skip
FIGURES = ("population", "covered_population", "pct_population", "area_km2", "covered_area_km2", "pct_area")
CITY_NAME = "臺中市"


def figures(population: float, covered_population: float, area_m2: float, covered_area_m2: float) -> dict:
    """The six published figures of one scope, rounded as documented above."""
    return {
        "population": int(round(population)),
        "covered_population": round(float(covered_population), 1),
        "pct_population": _pct(covered_population, population),
        "area_km2": round(area_m2 / 1e6, 3),
        "covered_area_km2": round(covered_area_m2 / 1e6, 3),
        "pct_area": _pct(covered_area_m2, area_m2),
    }


@dataclass(frozen=True)
class CoverageResult:
    """Unrounded coverage per village (EPSG:3826 areas); districts and city are sums of villages.

    ``stations_up``/``stations_down`` per village count the stations sited in it (point in
    polygon); the totals count the whole list, wherever the stations are.
    """

    population_period: str
    villages: pd.DataFrame  # VILLAGE_COLUMNS, sorted by code
    stations_up: int
    stations_down: int

    def districts(self) -> pd.DataFrame:
        """One row per district (sorted by 8-digit code): name, sums of the village figures."""
        grouped = self.villages.groupby(["district_code", "district_name"], sort=True)[
            ["population", "covered_population", "area_m2", "covered_area_m2", "stations_up", "stations_down"]
        ].sum()
        return grouped.reset_index().rename(columns={"district_code": "code", "district_name": "name"})

    def city(self) -> dict:
        """Unrounded city totals (sums of the villages)."""
        v = self.villages
        return {
            "code": CITY_CODE,
            "name": CITY_NAME,
            "population": int(v["population"].sum()),
            "covered_population": float(v["covered_population"].sum()),
            "area_m2": float(v["area_m2"].sum()),
            "covered_area_m2": float(v["covered_area_m2"].sum()),
            "stations_up": int(v["stations_up"].sum()),
            "stations_down": int(v["stations_down"].sum()),
        }

    def summary(self, include_villages: bool = False) -> dict:
        """The ``ioc coverage compute --json`` object: the six figures for the city, and for each
        district (code, name, figures); per village too when asked."""
        city = self.city()
        out = figures(city["population"], city["covered_population"], city["area_m2"], city["covered_area_m2"])
        out["districts"] = [
            {"code": row.code, "name": row.name, **_row_figures(row)}
            for row in self.districts().itertuples(index=False)
        ]
        if include_villages:
            out["villages"] = [
                {"code": row.code, "name": row.name, "district_code": row.district_code, **_row_figures(row)}
                for row in self.villages.itertuples(index=False)
            ]
        return out


def _pct(part: float, whole: float) -> float | None:
    return round(min(100.0, 100.0 * part / whole), 2) if whole > 0 else None


def _row_figures(row) -> dict:
    return figures(row.population, row.covered_population, row.area_m2, row.covered_area_m2)
