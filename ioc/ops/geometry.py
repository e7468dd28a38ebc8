"""Where things are, for dispatch and shelters: an alert's area, an incident's point, and the
metric projection distances are measured in (TWD97 / TM2, EPSG:3826: metres)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import psycopg
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.ops import unary_union

TM2 = "EPSG:3826"
WGS84 = "EPSG:4326"


@cache
def _to_tm2() -> Transformer:
    return Transformer.from_crs(WGS84, TM2, always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(TM2, WGS84, always_xy=True)


def to_tm2(geom):
    """A lon/lat geometry in metres (EPSG:3826)."""
    return shapely.transform(geom, _to_tm2().transform, interleaved=False)


def to_lonlat(geom):
    return shapely.transform(geom, _to_wgs84().transform, interleaved=False)


def point_tm2(lon: float, lat: float) -> shapely.Point:
    x, y = _to_tm2().transform(lon, lat)
    return shapely.Point(x, y)


def cap_area_tm2(polygons: list, circles: list, districts: list[str]):
    """The area of one CAP <area> in EPSG:3826: its polygons and circles, or, when it has
    neither (areas given by geocode only), the Taichung districts it was mapped to."""
    parts = []
    for poly in polygons or []:
        try:
            parts.append(to_tm2(shape(poly)))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a malformed polygon of one area does not hide the others
    for circle in circles or []:
        try:
            lon, lat = circle["center"]["coordinates"][:2]
            parts.append(point_tm2(lon, lat).buffer(float(circle["radius_km"]) * 1000))
        except (ValueError, TypeError, KeyError):
            continue
    if not parts and districts:
        parts.extend(_district_shapes(tuple(sorted(districts))))
    parts = [p.buffer(0) if not p.is_valid else p for p in parts if not p.is_empty]
    return unary_union(parts) if parts else None


@cache
def _district_shapes(codes: tuple[str, ...]) -> tuple:
    from geo import boundaries

    frame = boundaries.districts()
    return tuple(frame.loc[frame["TOWNCODE"].isin(codes), "geometry"])


def alert_area(conn: psycopg.Connection, identifier: str, as_of: datetime | None = None) -> dict | None:
    """The newest message with this CAP identifier sent at or before `as_of` (default now): its
    headline and its whole area (every info and area) in EPSG:3826, with a representative point
    in lon/lat for putting a task on the map."""
    row = conn.execute(
        "SELECT sender, identifier, sent, coalesce(headline, event) FROM cap_alert "
        "WHERE identifier = %s AND sent <= coalesce(%s, now()) ORDER BY sent DESC LIMIT 1",
        (identifier, as_of)).fetchone()
    if row is None:
        return None
    sender, ident, sent, headline = row
    areas = conn.execute(
        "SELECT polygons, circles, districts, area_desc FROM cap_area WHERE sender = %s AND identifier = %s "
        "AND sent = %s ORDER BY info_index, area_index", (sender, ident, sent)).fetchall()
    shapes = [cap_area_tm2(p, c, d) for p, c, d, _ in areas]
    shapes = [s for s in shapes if s is not None]
    area = unary_union(shapes) if shapes else None
    point = None
    if area is not None and not area.is_empty:
        lonlat = to_lonlat(area.representative_point())
        point = (round(lonlat.x, 6), round(lonlat.y, 6))
    return {"sender": sender, "identifier": ident, "sent": sent, "headline": headline, "area": area,
            "point": point, "area_desc": "、".join(dict.fromkeys(a[3] for a in areas if a[3]))}


def incident_place(conn: psycopg.Connection, incident_id: str) -> dict | None:
    row = conn.execute("SELECT id, category, priority, lon, lat, address, district, status FROM incident "
                       "WHERE id = %s", (incident_id,)).fetchone()
    if row is None:
        return None
    keys = ("id", "category", "priority", "lon", "lat", "address", "district", "status")
    return dict(zip(keys, row))
