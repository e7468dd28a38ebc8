"""Shelters in a disaster: which are open, capacity against occupancy, and the nearest open
shelters to an alert's area or an incident (distances in EPSG:3826 metres).

Reads the shelters feeds' tables: `shelter` (the NFA list) and `shelter_status` (occupancy
updates; the newest at or before the moment asked about, so a past moment reads back too)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import shapely
from psycopg.rows import dict_row

from .geometry import alert_area, incident_place, point_tm2

LOOKBACK = timedelta(days=30)  # a shelter with no update for this long is not counted open


def statuses_at(conn: psycopg.Connection, as_of: datetime, lookback: timedelta = LOOKBACK) -> list[dict]:
    """Every shelter with a status update within `lookback` before `as_of`: its newest status
    then, with the list's name, place and capacity."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.shelter_id, s.name, s.address, s.district, s.lon, s.lat, s.capacity, s.vulnerable_ok,
                      st.status, st.occupancy, st.time AS status_time
                 FROM (SELECT DISTINCT ON (shelter_id) shelter_id, status, occupancy, time
                         FROM shelter_status
                        WHERE time <= %(as_of)s AND time > %(since)s
                        ORDER BY shelter_id, time DESC) st
                 JOIN shelter s USING (shelter_id)
                ORDER BY s.district NULLS LAST, s.name""",
            {"as_of": as_of, "since": as_of - lookback}).fetchall()


def with_room(row: dict) -> dict:
    capacity, occupancy = row.get("capacity"), row.get("occupancy") or 0
    room = None if capacity is None else max(0, capacity - occupancy)
    pct = None if not capacity else round(100.0 * occupancy / capacity, 1)
    return {**row, "room": room, "occupancy_pct": pct}


def summary(rows: list[dict]) -> dict:
    """Open (and full) shelters: how many, total capacity and occupancy."""
    active = [r for r in rows if r["status"] in ("open", "full")]
    return {"open": sum(1 for r in active if r["status"] == "open"), "full": sum(1 for r in active if r["status"] == "full"),
            "capacity": sum(r["capacity"] or 0 for r in active), "occupancy": sum(r["occupancy"] or 0 for r in active),
            "data_time": max((r["status_time"] for r in active if r["status_time"]), default=None)}


def open_at(conn: psycopg.Connection, as_of: datetime) -> list[dict]:
    """Open and full shelters at `as_of` with their room left, fullest first."""
    rows = [with_room(r) for r in statuses_at(conn, as_of) if r["status"] in ("open", "full")]
    return sorted(rows, key=lambda r: (-(r["occupancy_pct"] or 0), r["name"]))


def nearest(shelters: list[dict], area, n: int = 5) -> list[dict]:
    """The `n` open shelters (status open, with a position) nearest to `area` (a shapely
    geometry in EPSG:3826): each with `distance_m` (0 inside the area) and `inside`."""
    if area is None or area.is_empty:
        return []
    shapely.prepare(area)
    found = []
    for s in shelters:
        if s.get("status") != "open" or s.get("lon") is None or s.get("lat") is None:
            continue
        point = point_tm2(s["lon"], s["lat"])
        distance = area.distance(point)
        found.append({**s, "distance_m": round(distance, 1), "inside": bool(area.covers(point))})
    found.sort(key=lambda r: (r["distance_m"], r["name"]))
    return found[:n]


def nearest_to_alert(conn: psycopg.Connection, identifier: str, as_of: datetime, n: int = 5) -> list[dict]:
    alert = alert_area(conn, identifier, as_of)
    if alert is None:
        return []
    return nearest(open_at(conn, as_of), alert["area"], n)


def nearest_to_incident(conn: psycopg.Connection, incident_id: str, as_of: datetime, n: int = 5) -> list[dict]:
    place = incident_place(conn, incident_id)
    if place is None or place["lon"] is None:
        return []
    return nearest(open_at(conn, as_of), point_tm2(place["lon"], place["lat"]), n)


def nearest_to_point(conn: psycopg.Connection, lon: float, lat: float, as_of: datetime, n: int = 5) -> list[dict]:
    return nearest(open_at(conn, as_of), point_tm2(lon, lat), n)
