"""Population coverage of base stations for the city, its districts and villages.

Method (details and assumptions in geo/README.md): footprints of the stations that are up
(circles of ``radius_m``, or sectors) in TWD97 / TM2 (EPSG:3826), their union clipped to each
village, covered population = village population x covered share of its area. Stations
outside the city count for the part of their footprint inside it.

``compute_summary`` is what ``ioc coverage compute [--stations FILE] [--population-period
YYYY-MM] --json`` prints.
"""

from __future__ import annotations

from os import PathLike

import geopandas as gpd
import pandas as pd

from .incremental import CoverageState
from .layout import generate_layout, latest_period
from .population import DEFAULT_POPULATION_PERIOD, PopulationSurface
from .result import CoverageResult

Stations = gpd.GeoDataFrame | pd.DataFrame | str | PathLike


def default_stations(technology: str = "4G") -> gpd.GeoDataFrame:
    """Stations to use when none are given: the generated layout for the latest NCC period."""
    return generate_layout(latest_period(technology), technology)


def compute_coverage(
    stations: Stations | None = None,
    population_period: str = DEFAULT_POPULATION_PERIOD,
    surface: PopulationSurface | None = None,
) -> CoverageResult:
    """Full calculation for a station list (GeoDataFrame, DataFrame with lon/lat, or a GeoJSON/
    CSV path; ``None``: ``default_stations()``)."""
    if stations is None:
        stations = default_stations()
    return CoverageState(stations, population_period, surface).result()


def compute_summary(
    stations_path_or_gdf: Stations | None = None,
    population_period: str = DEFAULT_POPULATION_PERIOD,
    include_villages: bool = False,
) -> dict:
    """The JSON object of ``ioc coverage compute --json``::

        {"population", "covered_population", "pct_population",
         "area_km2", "covered_area_km2", "pct_area",
         "districts": [{"code": "66000010", "name": "中區", <the same six>}, ...],
         "villages": [...]  # only with include_villages=True: code, name, district_code, six}

    Percentages are 0-100 (2 decimals), km² to 3 decimals, covered population to 0.1.
    """
    return compute_coverage(stations_path_or_gdf, population_period).summary(include_villages)
