"""Taichung City, its 29 districts (區) and 625 villages (里), in TWD97 / TM2 (EPSG:3826).

All area work in this package is done in EPSG:3826 (metres). The files are the MOI boundaries
described in ``geo/data/PROVENANCE.md`` §1 (WGS84 lon/lat on disk). Loaded once and cached:
the public functions hand out copies, so a caller may add columns without touching the cache.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd

DATA_DIR = Path(__file__).resolve().parent / "data"
BOUNDARY_DIR = DATA_DIR / "boundaries"

TWD97_TM2 = "EPSG:3826"  # TWD97 / TM2 zone 121: metres, the CRS for every area figure
WGS84 = "EPSG:4326"
CITY_CODE = "66000"  # COUNTYCODE of Taichung City


class BoundaryDataError(RuntimeError):
    """The shipped boundary files are missing or not what the code expects."""


def _read(name: str, code_column: str, expected_rows: int, code_length: int) -> gpd.GeoDataFrame:
    path = BOUNDARY_DIR / name
    if not path.is_file():
        raise BoundaryDataError(f"boundary file missing: {path}")
    frame = gpd.read_file(path)
    if len(frame) != expected_rows:
        raise BoundaryDataError(f"{name}: expected {expected_rows} features, found {len(frame)}")
    codes = frame[code_column].astype(str)
    if codes.str.len().ne(code_length).any() or codes.duplicated().any():
        raise BoundaryDataError(f"{name}: {code_column} must be unique {code_length}-digit codes")
    frame[code_column] = codes
    return frame.to_crs(TWD97_TM2)


@lru_cache(maxsize=1)
def _villages() -> gpd.GeoDataFrame:
    frame = _read("taichung_villages.geojson", "VILLCODE", 625, 11)
    frame["TOWNCODE"] = frame["TOWNCODE"].astype(str)
    return frame.sort_values("VILLCODE", ignore_index=True)


@lru_cache(maxsize=1)
def _districts() -> gpd.GeoDataFrame:
    frame = _read("taichung_districts.geojson", "TOWNCODE", 29, 8)
    return frame.sort_values("TOWNCODE", ignore_index=True)


@lru_cache(maxsize=1)
def _city() -> gpd.GeoDataFrame:
    return _read("taichung_city.geojson", "COUNTYCODE", 1, 5)


def villages() -> gpd.GeoDataFrame:
    """625 villages, sorted by VILLCODE (11 digits), EPSG:3826. Columns as in the MOI file."""
    return _villages().copy()


def districts() -> gpd.GeoDataFrame:
    """29 districts, sorted by TOWNCODE (8 digits, ``66000010``..``66000290``), EPSG:3826."""
    return _districts().copy()


def city() -> gpd.GeoDataFrame:
    """The city outline (one MultiPolygon), EPSG:3826."""
    return _city().copy()
