"""Taichung's districts and villages as a CAP publisher names them: Taiwan_Geocode_103 codes
(from the shipped crosswalk) and `<polygon>` outlines.

An outline is the MOI boundary shrunk inwards by `INSET_M` and simplified, in TWD97/TM2, so
it stays inside its own district: a polygon that strayed over a neighbour's boundary would
make the alert cover that neighbour too (the cap parser maps polygons to every district whose
interior they meet).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import shapely

from geo.boundaries import TWD97_TM2, WGS84, districts, villages

from .places import data_path

INSET_M = 150.0
SIMPLIFY_M = 120.0


@dataclass(frozen=True)
class Area:
    code: str  # MOI TOWNCODE or VILLCODE
    name: str  # 臺中市和平區 / 臺中市和平區梨山里
    geocode_103: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # lon/lat rings, one per polygon part
    lon: float  # a point inside (for circles, labels)
    lat: float


def _rings(geom_m) -> tuple[tuple[tuple[float, float], ...], ...]:
    inner = geom_m.buffer(-INSET_M).simplify(SIMPLIFY_M, preserve_topology=True)
    if inner.is_empty:  # a sliver: keep a small disc around a point inside instead
        inner = geom_m.representative_point().buffer(min(INSET_M, 50.0))
    parts = sorted(getattr(inner, "geoms", [inner]), key=lambda p: p.area, reverse=True)
    parts = [parts[0]] + [p for p in parts[1:] if p.area > 50_000]  # drop specks
    lonlat = gpd.GeoSeries(parts, crs=TWD97_TM2).to_crs(WGS84)
    return tuple(tuple((round(x, 5), round(y, 5)) for x, y in p.exterior.coords) for p in lonlat)


@cache
def _geocodes() -> dict[str, str]:
    with open(data_path("reference", "taichung_cap_geocode_crosswalk.csv"), encoding="utf-8", newline="") as f:
        return {row["moi_code"]: row["taiwan_geocode_103"] for row in csv.DictReader(f)}


@cache
def district_areas() -> dict[str, Area]:
    """TOWNCODE -> Area for the 29 districts."""
    frame = districts()
    points = gpd.GeoSeries(frame.geometry.representative_point(), crs=TWD97_TM2).to_crs(WGS84)
    geocodes = _geocodes()
    return {row.TOWNCODE: Area(row.TOWNCODE, f"臺中市{row.TOWNNAME}", geocodes[row.TOWNCODE], _rings(row.geometry),
                               round(pt.x, 5), round(pt.y, 5))
            for row, pt in zip(frame.itertuples(), points, strict=True)}


@cache
def _village_frame():
    return villages()


@cache
def village_area(district_name: str, village_name: str) -> Area:
    frame = _village_frame()
    hit = frame[(frame["TOWNNAME"] == district_name) & (frame["VILLNAME"] == village_name)]
    if len(hit) != 1:
        raise KeyError(f"no village {district_name}{village_name}")
    row = hit.iloc[0]
    point = gpd.GeoSeries([row.geometry.representative_point()], crs=TWD97_TM2).to_crs(WGS84).iloc[0]
    return Area(row["VILLCODE"], f"臺中市{district_name}{village_name}", _geocodes()[row["VILLCODE"]],
                _rings(row.geometry), round(point.x, 5), round(point.y, 5))


def district_by_name(name: str) -> Area:
    for area in district_areas().values():
        if area.name == f"臺中市{name}":
            return area
    raise KeyError(f"not a Taichung district: {name!r}")


def nearest_districts(lon: float, lat: float, radius_km: float) -> list[str]:
    """TOWNCODEs of districts any part of which lies within radius_km of a point."""
    frame = districts()
    centre = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).to_crs(TWD97_TM2).iloc[0]
    near = frame[frame.geometry.distance(centre) <= radius_km * 1000]
    return sorted(near["TOWNCODE"])
