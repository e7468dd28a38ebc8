"""Road events and closures (`traffic-event`): our own JSON message on `ioc/v1/traffic/events`.

The contract is `schemas/messages/traffic-event.schema.json`; `parse` applies the same rules
(msgspec structs below) plus the ones JSON Schema cannot say (end not before start, unique
lane numbers, lon/lat ranges). The allowed kinds are read from the schema, so adding a kind
is a data change. Every update is kept in `traffic_event_history`; `traffic_event` holds the
update with the latest `updated_at` per event, whatever the arrival order.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from ._common import check_lonlat, check_time, iso, strip_bom
from .base import Feed, FeedError, Table

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "messages" / "traffic-event.schema.json"
KINDS = tuple(item["const"] for item in
              json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]["kind"]["oneOf"])

Time = Annotated[datetime, msgspec.Meta(tz=True)]
Text = Annotated[str, msgspec.Meta(pattern=r"^[^\u0000]*$")]
Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]


class Point(msgspec.Struct, tag="Point", tag_field="type", forbid_unknown_fields=True):
    coordinates: Position


class LineString(msgspec.Struct, tag="LineString", tag_field="type", forbid_unknown_fields=True):
    coordinates: Annotated[list[Position], msgspec.Meta(min_length=2, max_length=1000)]


class TrafficEvent(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    geometry: Point | LineString
    start: Time
    status: Literal["active", "cleared"]
    source: Annotated[Text, msgspec.Meta(min_length=1, max_length=100)]
    updated_at: Time
    end: Time | None = None
    road: Annotated[Text, msgspec.Meta(max_length=100)] | None = None
    direction: Literal["N", "S", "E", "W", "NE", "NW", "SE", "SW", "both"] | None = None
    lanes_affected: (Annotated[int, msgspec.Meta(ge=0, le=20)]
                     | Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=20)]],
                                 msgspec.Meta(min_length=1, max_length=20)]
                     | None) = None
    description: Annotated[Text, msgspec.Meta(max_length=2000)] | None = None


_decoder = msgspec.json.Decoder(TrafficEvent | list[TrafficEvent])


def _positions(geometry: Point | LineString) -> list[list[float]]:
    return [geometry.coordinates] if isinstance(geometry, Point) else geometry.coordinates


def _event_record(ev: TrafficEvent, where: str) -> dict:
    where = f"{where} event {ev.id}"
    if ev.kind not in KINDS:
        raise FeedError("validate", f"{where}: kind {ev.kind!r} is not one of {', '.join(KINDS)}")
    for lon, lat, *_ in _positions(ev.geometry):
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise FeedError("validate", f"{where}: position ({lon}, {lat}) is not lon/lat")
    if ev.end is not None and ev.end < ev.start:
        raise FeedError("validate", f"{where}: end {iso(ev.end)} is before start {iso(ev.start)}")
    if isinstance(ev.lanes_affected, list) and len(set(ev.lanes_affected)) != len(ev.lanes_affected):
        raise FeedError("validate", f"{where}: a lane number is repeated in lanes_affected")
    positions = _positions(ev.geometry)
    # One spot to place the marker: the point itself, or the middle vertex of the line.
    lon, lat = positions[len(positions) // 2][:2]
    geometry = {"type": "Point" if isinstance(ev.geometry, Point) else "LineString",
                "coordinates": ev.geometry.coordinates}
    return {
        "id": ev.id,
        "kind": ev.kind,
        "geometry": geometry,
        "lon": lon,
        "lat": lat,
        "road": ev.road,
        "direction": ev.direction,
        "lanes_affected": ev.lanes_affected,
        "start": iso(ev.start),
        "end": iso(ev.end),
        "status": ev.status,
        "description": ev.description,
        "source": ev.source,
        "updated_at": iso(ev.updated_at),
    }


def parse_traffic_events(payload: bytes) -> list[dict]:
    try:
        decoded = _decoder.decode(strip_bom(payload))
    except msgspec.ValidationError as exc:
        raise FeedError("validate", f"not a traffic event: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    return [_event_record(ev, f"[{i}]") for i, ev in enumerate(items)]


def check_traffic_event(rec: dict) -> None:
    check_time(datetime.fromisoformat(rec["updated_at"]), field="updated_at")
    coords = rec["geometry"]["coordinates"]
    for lon, lat, *_ in (coords if rec["geometry"]["type"] == "LineString" else [coords]):
        check_lonlat(lon, lat, field="geometry")


def traffic_event_rows(rec: dict, received_at: datetime):
    end = rec["end"] and datetime.fromisoformat(rec["end"])
    lanes = rec["lanes_affected"]
    values = (rec["id"], rec["kind"], rec["geometry"], rec["lon"], rec["lat"], rec["road"],
              rec["direction"],
              lanes if isinstance(lanes, int) else None,      # count of lanes blocked
              lanes if isinstance(lanes, list) else None,     # or which lanes
              datetime.fromisoformat(rec["start"]), end, rec["status"], rec["description"],
              rec["source"], datetime.fromisoformat(rec["updated_at"]))
    yield "traffic_event", values
    yield "traffic_event_history", values


COLUMNS = ("id", "kind", "geometry", "lon", "lat", "road", "direction", "lanes_blocked",
           "lanes_list", "start_time", "end_time", "status", "description", "source", "updated_at")
TRAFFIC_EVENT = Table("traffic_event", COLUMNS, key=("id",), mode="latest", time_column="updated_at")
TRAFFIC_EVENT_HISTORY = Table("traffic_event_history", COLUMNS, key=("id", "updated_at"),
                              time_column="updated_at")

TRAFFIC_EVENTS = Feed(
    name="traffic-event",
    description="道路事件與管制 Road events and closures (accident, road works, closure, flooding, "
                "landslide, special event, ...): our own JSON message on ioc/v1/traffic/events with a "
                "GeoJSON point or line, lanes, direction, start/end and status. Publishers re-send "
                "active events at least every 30 minutes: stale after 30 minutes.",
    format="json",
    parse=parse_traffic_events,
    check=check_traffic_event,
    to_rows=traffic_event_rows,
    cadence=timedelta(minutes=30),
    topics=("ioc/v1/traffic/events",),
    tables=(TRAFFIC_EVENT, TRAFFIC_EVENT_HISTORY),
    schema="traffic-event.schema.json",
)
