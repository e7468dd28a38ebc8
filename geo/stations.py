"""Base-station lists: read a user's real list (GeoJSON or CSV), validate it, and bring it to
the one shape the coverage code uses.

Operators do not publish their sites, so a real list is something a user brings. Without one,
``geo.layout.generate_layout`` makes a documented stand-in from the NCC counts.

Input fields (GeoJSON properties, CSV columns, GeoDataFrame columns):
    lon, lat          CSV only (WGS84); GeoJSON uses Point geometry (RFC 7946 lon/lat)
    radius_m          required, > 0: reach of the footprint in metres
    azimuth_deg       optional, with beamwidth_deg: sector centred on this bearing (clockwise from north)
    beamwidth_deg     optional, 0 < w <= 360 (360 = circle)
    status            optional, "up" (default), "down" or "degraded"; down stations cover nothing,
                      degraded ones (still on air, as in the bts feed) cover like up ones
    operator, technology, station_id (or bts_id, id)   optional
A GeoJSON feature may also nest radius_m/azimuth_deg/beamwidth_deg in a "footprint" object
(the shape of the bts feed message), and a plain DataFrame with lon/lat columns (rows of
bts_current) is accepted like a CSV.
Bad input raises ``StationDataError`` naming the feature/row and field; nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .boundaries import TWD97_TM2, WGS84

STATUS_UP = "up"
STATUS_DOWN = "down"
STATUS_DEGRADED = "degraded"
STATUSES = (STATUS_UP, STATUS_DOWN, STATUS_DEGRADED)
COVERING = frozenset({STATUS_UP, STATUS_DEGRADED})  # statuses whose footprint counts
COLUMNS = ["station_id", "operator", "technology", "status", "radius_m", "azimuth_deg", "beamwidth_deg"]
_ID_NAMES = ("station_id", "bts_id", "id")
_LON_NAMES = ("lon", "longitude", "lng")
_LAT_NAMES = ("lat", "latitude")


class StationDataError(ValueError):
    """A station list that cannot be used as it is, with the place and the reason."""


def normalise_status(value, *, where: str = "status") -> str:
    """'up', 'down' or 'degraded' from a status field; missing means up."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return STATUS_UP
    if isinstance(value, str) and value.strip().lower() in STATUSES:
        return value.strip().lower()
    raise StationDataError(f"{where}: status must be 'up', 'down' or 'degraded', got {value!r}")


def read_stations(path: str | PathLike) -> gpd.GeoDataFrame:
    """A station list from a GeoJSON FeatureCollection of Points or a CSV with lon/lat columns,
    validated, in EPSG:3826 (see ``normalise_stations`` for the columns)."""
    path = Path(path)
    if not path.is_file():
        raise StationDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return normalise_stations(_read_geojson(path), source=path.name, item="feature")
    if suffix == ".csv":
        return normalise_stations(_read_csv(path), source=path.name)
    raise StationDataError(f"{path}: expected a .geojson/.json or .csv station list")


def _read_geojson(path: Path) -> gpd.GeoDataFrame:
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StationDataError(f"{path.name}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise StationDataError(f"{path.name}: expected a GeoJSON FeatureCollection")
    crs = _declared_crs(doc, path.name)
    rows, xs, ys = [], [], []
    for i, feature in enumerate(doc["features"]):
        where = f"{path.name}: feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise StationDataError(f"{where}: not a GeoJSON Feature")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, dict) else geometry
            raise StationDataError(f"{where}: geometry must be a Point, got {kind!r}")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2 or not all(_is_number(c) for c in coords[:2]):
            raise StationDataError(f"{where}: Point coordinates must be [lon, lat] numbers")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise StationDataError(f"{where}: properties must be an object")
        props = dict(props)
        nested = props.pop("footprint", None)
        if isinstance(nested, dict):
            props = {**nested, **props}
        elif nested is not None:
            raise StationDataError(f"{where}: footprint must be an object")
        if not any(k in props for k in _ID_NAMES) and feature.get("id") is not None:
            props["station_id"] = feature["id"]
        rows.append(props)
        xs.append(float(coords[0]))
        ys.append(float(coords[1]))
    frame = pd.DataFrame.from_records(rows, index=range(len(rows))) if rows else pd.DataFrame(index=range(0))
    return gpd.GeoDataFrame(frame, geometry=shapely.points(np.array(xs), np.array(ys)), crs=crs)


def _declared_crs(doc: dict, name: str) -> CRS:
    # RFC 7946 says lon/lat; older files may name another CRS in a "crs" member.
    member = doc.get("crs")
    if member is None:
        return CRS.from_user_input(WGS84)
    try:
        return CRS.from_user_input(member["properties"]["name"])
    except Exception:
        raise StationDataError(f"{name}: unreadable 'crs' member {member!r}") from None


def _read_csv(path: Path) -> gpd.GeoDataFrame:
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={name: str for name in _ID_NAMES})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StationDataError(f"{path.name}: not a readable CSV: {exc}") from None
    return _points_from_lonlat(frame, path.name)


def _points_from_lonlat(frame: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    lower = {c.lower().strip(): c for c in frame.columns}
    lon = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    if lon is None or lat is None:
        raise StationDataError(f"{source}: a table of stations needs lon and lat columns (WGS84)")
    x = pd.to_numeric(frame[lon], errors="coerce")
    y = pd.to_numeric(frame[lat], errors="coerce")
    bad = x.isna() | y.isna()
    if bad.any():
        raise StationDataError(f"{source}: row {int(np.flatnonzero(bad)[0])}: lon/lat must be numbers")
    frame = frame.drop(columns=[lon, lat])
    return gpd.GeoDataFrame(frame, geometry=shapely.points(x.to_numpy(float), y.to_numpy(float)), crs=WGS84)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def normalise_stations(stations: gpd.GeoDataFrame, *, source: str = "stations", item: str = "row") -> gpd.GeoDataFrame:
    """Validated copy of a station GeoDataFrame in EPSG:3826 with columns
    station_id (str, unique), operator, technology (str or None), status ('up'/'down'/'degraded'),
    radius_m (float > 0), azimuth_deg, beamwidth_deg (float, NaN for circles), geometry (Point)."""
    if not isinstance(stations, gpd.GeoDataFrame):
        raise StationDataError(f"{source}: expected a GeoDataFrame, got {type(stations).__name__}")
    if stations.crs is None:
        raise StationDataError(f"{source}: the GeoDataFrame has no CRS (set EPSG:4326 for lon/lat)")
    geoms = stations.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kinds != 0) | shapely.is_empty(geoms))
    if len(bad):
        raise StationDataError(f"{source}: {item} {bad[0]}: geometry must be a non-empty Point")
    where = lambda i, field: f"{source}: {item} {i}: {field}"  # noqa: E731 (0-based positions)

    if stations.crs.is_geographic:
        lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
        out_of_range = np.flatnonzero((np.abs(lon) > 180) | (np.abs(lat) > 90) | ~np.isfinite(lon) | ~np.isfinite(lat))
        if len(out_of_range):
            i = out_of_range[0]
            raise StationDataError(f"{where(i, 'position')} ({lon[i]}, {lat[i]}) is not a lon/lat")

    n = len(stations)
    radius = _numbers(stations, "radius_m", source, item, required=True)
    bad = np.flatnonzero(~(radius > 0))
    if len(bad):
        raise StationDataError(f"{where(bad[0], 'radius_m')} must be a positive number of metres, got {radius[bad[0]]}")
    azimuth = _numbers(stations, "azimuth_deg", source, item)
    beam = _numbers(stations, "beamwidth_deg", source, item)
    half = np.flatnonzero(np.isnan(azimuth) != np.isnan(beam))
    if len(half):
        raise StationDataError(f"{where(half[0], 'sector')} needs both azimuth_deg and beamwidth_deg, or neither")
    bad = np.flatnonzero(~np.isnan(beam) & ~((beam > 0) & (beam <= 360)))
    if len(bad):
        raise StationDataError(f"{where(bad[0], 'beamwidth_deg')} must be in (0, 360], got {beam[bad[0]]}")

    status = _statuses(stations, n, where)
    ids = _station_ids(stations, n, source, item)
    frame = gpd.GeoDataFrame(
        {
            "station_id": ids,
            "operator": _texts(stations, "operator", n),
            "technology": _texts(stations, "technology", n),
            "status": status,
            "radius_m": radius,
            "azimuth_deg": azimuth,
            "beamwidth_deg": beam,
        },
        geometry=geoms,
        crs=stations.crs,
    ).to_crs(TWD97_TM2)
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    if not np.isfinite(xy).all():
        raise StationDataError(f"{source}: a position could not be projected to EPSG:3826")
    return frame


def _statuses(frame: pd.DataFrame, n: int, where) -> np.ndarray:
    if "status" not in frame.columns:
        return np.full(n, STATUS_UP, dtype=object)
    raw = frame["status"].astype(object)
    missing = pd.isna(raw).to_numpy()
    is_text = raw.map(type).eq(str).to_numpy() | missing
    text = raw.where(~missing, STATUS_UP).astype(str).str.strip().str.lower()
    ok = text.isin(STATUSES).to_numpy() & is_text
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        normalise_status(raw.iloc[i], where=where(i, "status"))  # raises with the reason
    return text.to_numpy(dtype=object)


def _texts(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in frame.columns:
        return np.full(n, None, dtype=object)
    raw = frame[name].astype(object)
    missing = pd.isna(raw).to_numpy()
    out = raw.astype(str).to_numpy(dtype=object)
    out[missing] = None
    return out


def _numbers(frame: pd.DataFrame, name: str, source: str, item: str, required: bool = False) -> np.ndarray:
    if name not in frame.columns:
        if required and len(frame):
            raise StationDataError(f"{source}: every station needs {name}")
        return np.full(len(frame), np.nan)
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        fast = column.to_numpy(dtype=float, na_value=np.nan)
        if not np.isinf(fast).any() and not (required and np.isnan(fast).any()):
            return fast
    values = column.tolist()
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if required:
                raise StationDataError(f"{source}: {item} {i}: {name} is missing")
            out[i] = np.nan
        elif isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise StationDataError(f"{source}: {item} {i}: {name} must be a finite number, got {v!r}")
        else:
            out[i] = float(v)
    return out


def _station_ids(frame: pd.DataFrame, n: int, source: str, item: str) -> list[str]:
    name = next((n for n in _ID_NAMES if n in frame.columns), None)
    if name is None:
        return [f"S{i + 1:05d}" for i in range(n)]  # a list without ids: ids by position, 1-based
    ids = _texts(frame, name, n)
    missing = np.flatnonzero(pd.isna(ids) | (ids == ""))
    if len(missing):
        raise StationDataError(f"{source}: {item} {missing[0]}: {name} is empty")
    twice = np.flatnonzero(pd.Series(ids).duplicated().to_numpy())
    if len(twice):
        raise StationDataError(f"{source}: {item} {twice[0]}: {name} {ids[twice[0]]!r} appears twice")
    return ids


def load_stations(stations: gpd.GeoDataFrame | pd.DataFrame | str | PathLike) -> gpd.GeoDataFrame:
    """A station list from a path, a GeoDataFrame, or a DataFrame with lon/lat columns (e.g.
    rows of bts_current), validated and in EPSG:3826."""
    if isinstance(stations, gpd.GeoDataFrame):
        return normalise_stations(stations)
    if isinstance(stations, pd.DataFrame):
        return normalise_stations(_points_from_lonlat(stations, "stations"))
    if isinstance(stations, (str, PathLike)):
        return read_stations(stations)
    raise StationDataError(f"stations: expected a GeoDataFrame or a file path, got {type(stations).__name__}")
