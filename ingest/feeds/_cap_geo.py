"""Which Taichung districts (區) and villages (里) a CAP area covers.

An area covers a district or village when any of its parts touches it (wholly or partly):
  * a geocode of Taiwan's alert profile (`Taiwan_Geocode_100`, `_103`, `_107`, `_112`, ...),
    read by the shape of its value, because every edition's codes for Taichung have a distinct
    shape (100 and 103 share theirs: Taichung's districts are unchanged since the 2010 merger):
      `66` (100/103/106 city table) or `66000` (MOI county code) -> the whole city
      `6600800` (100/103 district)   / `66000080` (MOI TOWNCODE)  -> that district
      `6600800-001` (100/103 village) / `66000080001` (MOI VILLCODE) / `66000080-001` -> village
    A district or the city covers all of its villages; a village covers (part of) its district.
    Codes of other counties, and geocodes of other schemes (SAME, FIPS, ...), cover nothing here;
  * a polygon, in lon/lat: the districts/villages whose interior it meets (a shared edge alone
    does not count; a degenerate, zero-area polygon counts where it lies);
  * a circle: the districts/villages whose nearest point is within the radius, measured in an
    azimuthal equidistant projection centred on the circle (exact distances from the centre,
    anywhere on Earth; TWD97/TM2 would only be exact near Taiwan). A zero radius is a point.

The boundaries (`geo/data/boundaries/`, MOI ~2021) and the crosswalk
(`geo/data/reference/taichung_cap_geocode_crosswalk.csv`) are loaded once per process.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import shape

_DATA = Path(__file__).resolve().parents[2] / "geo" / "data"
DISTRICTS_FILE = _DATA / "boundaries" / "taichung_districts.geojson"
VILLAGES_FILE = _DATA / "boundaries" / "taichung_villages.geojson"
CROSSWALK_FILE = _DATA / "reference" / "taichung_cap_geocode_crosswalk.csv"

CITY_GEOCODES = frozenset({"66", "66000"})
_TAIWAN_GEOCODE = re.compile(r"^taiwan[_ ]?geocode", re.IGNORECASE)
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Geography:
    district_codes: tuple[str, ...]  # sorted TOWNCODEs
    district_geoms: np.ndarray  # shapely geometries, lon/lat, same order
    village_codes: tuple[str, ...]  # sorted VILLCODEs
    village_geoms: np.ndarray
    village_set: frozenset[str]
    village_district: tuple[str, ...]  # TOWNCODE of each village
    villages_of: dict[str, tuple[str, ...]]  # TOWNCODE -> its VILLCODEs
    district_tree: shapely.STRtree
    village_tree: shapely.STRtree
    geocode_district: dict[str, str]  # Taiwan_Geocode_103 district code -> TOWNCODE
    geocode_village: dict[str, str]  # Taiwan_Geocode_103 village code -> VILLCODE
    centre: tuple[float, float]  # lon, lat of the city's bounding box centre
    reach_m: float  # geodesic distance from `centre` to the farthest boundary vertex


def _features(path: Path, code_key: str):
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = sorted(((f["properties"][code_key], f["properties"], shape(f["geometry"]))
                   for f in doc["features"]), key=lambda r: r[0])
    return rows


@cache
def geography() -> Geography:
    districts = _features(DISTRICTS_FILE, "TOWNCODE")
    villages = _features(VILLAGES_FILE, "VILLCODE")
    d_geoms = np.array([g for _, _, g in districts], dtype=object)
    v_geoms = np.array([g for _, _, g in villages], dtype=object)
    shapely.prepare(d_geoms)
    shapely.prepare(v_geoms)
    village_district = tuple(str(p["TOWNCODE"]) for _, p, _ in villages)
    villages_of: dict[str, list[str]] = {}
    for (code, _, _), town in zip(villages, village_district, strict=True):
        villages_of.setdefault(town, []).append(code)

    geocode_district, geocode_village = {}, {}
    with CROSSWALK_FILE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            target = geocode_district if row["level"] == "district" else geocode_village
            target[row["taiwan_geocode_103"].strip()] = row["moi_code"].strip()

    x0, y0, x1, y1 = shapely.total_bounds(d_geoms)
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    coords = shapely.get_coordinates(d_geoms)
    _, _, dist = _GEOD.inv(np.full(len(coords), centre[0]), np.full(len(coords), centre[1]),
                           coords[:, 0], coords[:, 1])
    return Geography(
        district_codes=tuple(c for c, _, _ in districts),
        district_geoms=d_geoms,
        village_codes=tuple(c for c, _, _ in villages),
        village_geoms=v_geoms,
        village_set=frozenset(c for c, _, _ in villages),
        village_district=village_district,
        villages_of={k: tuple(v) for k, v in villages_of.items()},
        district_tree=shapely.STRtree(d_geoms),
        village_tree=shapely.STRtree(v_geoms),
        geocode_district=geocode_district,
        geocode_village=geocode_village,
        centre=centre,
        reach_m=float(np.max(dist)),
    )


Coverage = tuple[set[str], set[str]]  # (district TOWNCODEs, village VILLCODEs)


def _whole_districts(geo: Geography, towns) -> Coverage:
    villages: set[str] = set()
    for town in towns:
        villages.update(geo.villages_of.get(town, ()))
    return set(towns), villages


def _one_village(village: str) -> Coverage:
    return {village[:8]}, {village}


def is_taiwan_geocode(name: str | None) -> bool:
    return bool(name) and bool(_TAIWAN_GEOCODE.match(name.strip()))


def geocode_coverage(name: str | None, value: str | None) -> Coverage:
    """Taichung districts/villages of one `<geocode>`; empty for anything else. A value
    listing several codes (separated by spaces, commas or semicolons) covers each of them."""
    districts: set[str] = set()
    villages: set[str] = set()
    if not is_taiwan_geocode(name) or not value:
        return districts, villages
    for code in re.split(r"[\s,;]+", value.strip()):
        d, v = _code_coverage(geography(), code)
        districts |= d
        villages |= v
    return districts, villages


def _code_coverage(geo: Geography, code: str) -> Coverage:
    if code in CITY_GEOCODES:
        return _whole_districts(geo, geo.district_codes)
    if code in geo.geocode_district:  # 103: 7 digits
        return _whole_districts(geo, [geo.geocode_district[code]])
    if code in geo.villages_of:  # MOI TOWNCODE (107/112): 8 digits
        return _whole_districts(geo, [code])
    if code in geo.geocode_village:  # 103: 6600800-001
        return _one_village(geo.geocode_village[code])
    moi_village = code.replace("-", "")
    if moi_village in geo.village_set:  # 66000080001 / 66000080-001
        return _one_village(moi_village)
    return set(), set()


def _hits(tree: shapely.STRtree, geoms: np.ndarray, codes, shape_, area_like: bool) -> set[str]:
    idx = tree.query(shape_, predicate="intersects")
    if area_like and len(idx):
        # A shared edge or corner is not coverage: keep those whose interiors meet.
        idx = idx[~shapely.touches(geoms[idx], shape_)]
    return {codes[i] for i in idx}


def geometry_coverage(geom) -> Coverage:
    """Districts/villages met by a lon/lat shapely geometry (polygon, line or point)."""
    geo = geography()
    if geom.is_empty:
        return set(), set()
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    area_like = geom.area > 0
    districts = _hits(geo.district_tree, geo.district_geoms, geo.district_codes, geom, area_like)
    if not districts:
        return set(), set()
    villages = _hits(geo.village_tree, geo.village_geoms, geo.village_codes, geom, area_like)
    return districts, villages


def polygon_coverage(ring_lonlat: list[tuple[float, float]]) -> Coverage:
    """Coverage of a closed ring of (lon, lat)."""
    distinct = {tuple(p) for p in ring_lonlat}
    if len(distinct) == 1:
        return geometry_coverage(shapely.Point(ring_lonlat[0]))
    if len(distinct) == 2:
        return geometry_coverage(shapely.LineString(list(distinct)))
    return geometry_coverage(shapely.Polygon(ring_lonlat))


def circle_coverage(lon: float, lat: float, radius_km: float) -> Coverage:
    geo = geography()
    if radius_km == 0:
        return geometry_coverage(shapely.Point(lon, lat))
    radius_m = radius_km * 1000.0
    cx, cy = geo.centre
    _, _, to_city = _GEOD.inv(lon, lat, cx, cy)
    if to_city - geo.reach_m > radius_m:  # the whole city is farther than the radius
        return set(), set()
    if to_city + geo.reach_m <= radius_m:  # the whole city is inside
        return _whole_districts(geo, geo.district_codes)
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +datum=WGS84 +units=m")
    to_local = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)

    def within(geoms: np.ndarray) -> np.ndarray:
        local = shapely.transform(
            geoms, lambda xy: np.column_stack(to_local.transform(xy[:, 0], xy[:, 1])))
        return shapely.dwithin(local, shapely.Point(0.0, 0.0), radius_m)

    d_mask = within(geo.district_geoms)
    districts = {c for c, hit in zip(geo.district_codes, d_mask, strict=True) if hit}
    if not districts:
        return set(), set()
    candidates = np.array([d in districts for d in geo.village_district])
    v_mask = np.zeros(len(geo.village_codes), dtype=bool)
    v_mask[candidates] = within(geo.village_geoms[candidates])
    villages = {c for c, hit in zip(geo.village_codes, v_mask, strict=True) if hit}
    return districts, villages
