"""Police 110 dispatch incidents (`incident`): our own JSON message on `ioc/v1/police/incidents`.

The contract is `schemas/messages/incident.schema.json`; `parse` applies the same rules
(msgspec struct below) plus what JSON Schema cannot say: times in lifecycle order
(reported_at <= dispatched_at <= on_scene_at <= closed_at, all <= updated_at). Categories are
read from the schema, so adding one is a data change.

Priority is an integer 1-3 (1 most urgent). Updates are idempotent and the latest
`updated_at` wins whatever the arrival order: `incident` holds one row per id, replaced only by
a newer update; `incident_history` keeps each update once (key id, updated_at). A status that
seems to go backwards is not refused: the newer update is the publisher's word.

`district` (MOI TOWNCODE) is computed from lon/lat when the message has none. `notes` is free
text: kept as given (bar NUL), shown inert by the wall.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from ._common import check_lonlat, check_time, iso, strip_bom
from ._geo_lookup import district_code_at
from .base import Feed, FeedError, Table

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "messages" / "incident.schema.json"
CATEGORIES = tuple(item["const"] for item in
                   json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]["category"]["oneOf"])

Time = Annotated[datetime, msgspec.Meta(tz=True)]
Text = Annotated[str, msgspec.Meta(pattern=r"^[^\u0000]*$")]


class Incident(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")]
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    priority: Annotated[int, msgspec.Meta(ge=1, le=3)]
    status: Literal["reported", "dispatched", "on_scene", "closed"]
    reported_at: Time
    updated_at: Time
    # lon/lat may be left out, never null: a position is both or neither.
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | msgspec.UnsetType = msgspec.UNSET
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | msgspec.UnsetType = msgspec.UNSET
    address: Annotated[Text, msgspec.Meta(min_length=1, max_length=200)] | None = None
    district: Annotated[str, msgspec.Meta(pattern=r"^66000[0-9]{3}$")] | None = None
    unit: Annotated[Text, msgspec.Meta(min_length=1, max_length=60)] | None = None
    dispatched_at: Time | None = None
    on_scene_at: Time | None = None
    closed_at: Time | None = None
    notes: Annotated[Text, msgspec.Meta(max_length=4000)] | None = None


_decoder = msgspec.json.Decoder(Incident | list[Incident])


def _validate(inc: Incident, where: str) -> None:
    if inc.category not in CATEGORIES:
        raise FeedError("validate", f"{where}: category {inc.category!r} is not one of "
                                    f"{', '.join(CATEGORIES)}")
    has_lon, has_lat = inc.lon is not msgspec.UNSET, inc.lat is not msgspec.UNSET
    if has_lon != has_lat:
        raise FeedError("validate", f"{where}: give both lon and lat, or neither")
    if not has_lon and inc.address is None:
        raise FeedError("validate", f"{where}: give a position (lon, lat) or an address")
    status_time = {"dispatched": inc.dispatched_at, "on_scene": inc.on_scene_at,
                   "closed": inc.closed_at}
    if inc.status in status_time and status_time[inc.status] is None:
        raise FeedError("validate", f"{where}: status {inc.status} needs {inc.status}_at")
    # Lifecycle times must not run backwards (closed_at >= reported_at and so on).
    named = [("reported_at", inc.reported_at), ("dispatched_at", inc.dispatched_at),
             ("on_scene_at", inc.on_scene_at), ("closed_at", inc.closed_at)]
    present = [(name, t) for name, t in named if t is not None]
    for (a_name, a), (b_name, b) in zip(present, present[1:]):
        if b < a:
            raise FeedError("validate", f"{where}: {b_name} {iso(b)} is before {a_name} {iso(a)}")
    for name, t in present:
        if t > inc.updated_at:
            raise FeedError("validate", f"{where}: {name} {iso(t)} is after updated_at "
                                        f"{iso(inc.updated_at)}")


def _incident_record(inc: Incident, where: str) -> dict:
    where = f"{where} incident {inc.id}"
    _validate(inc, where)
    lon = None if inc.lon is msgspec.UNSET else inc.lon
    lat = None if inc.lat is msgspec.UNSET else inc.lat
    district = inc.district
    if district is None and lon is not None:
        district = district_code_at(lon, lat)
    return {
        "id": inc.id,
        "category": inc.category,
        "priority": inc.priority,
        "lon": lon,
        "lat": lat,
        "address": inc.address,
        "district": district,
        "unit": inc.unit,
        "status": inc.status,
        "reported_at": iso(inc.reported_at),
        "dispatched_at": iso(inc.dispatched_at),
        "on_scene_at": iso(inc.on_scene_at),
        "closed_at": iso(inc.closed_at),
        "updated_at": iso(inc.updated_at),
        "notes": inc.notes,
    }


def parse_incidents(payload: bytes) -> list[dict]:
    try:
        decoded = _decoder.decode(strip_bom(payload))
    except msgspec.ValidationError as exc:
        raise FeedError("validate", f"not a 110 incident: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    return [_incident_record(inc, f"[{i}]") for i, inc in enumerate(items)]


def check_incident(rec: dict) -> None:
    check_lonlat(rec["lon"], rec["lat"])
    check_time(datetime.fromisoformat(rec["updated_at"]), field="updated_at")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def incident_rows(rec: dict, received_at: datetime):
    values = (rec["id"], rec["category"], rec["priority"], rec["lon"], rec["lat"], rec["address"],
              rec["district"], rec["unit"], rec["status"], _time(rec["reported_at"]),
              _time(rec["dispatched_at"]), _time(rec["on_scene_at"]), _time(rec["closed_at"]),
              _time(rec["updated_at"]), rec["notes"])
    yield "incident", values
    yield "incident_history", values


COLUMNS = ("id", "category", "priority", "lon", "lat", "address", "district", "unit", "status",
           "reported_at", "dispatched_at", "on_scene_at", "closed_at", "updated_at", "notes")
INCIDENT = Table("incident", COLUMNS, key=("id",), mode="latest", time_column="updated_at")
INCIDENT_HISTORY = Table("incident_history", COLUMNS, key=("id", "updated_at"),
                         time_column="updated_at")

INCIDENTS = Feed(
    name="incident",
    description="110 報案事件 Police dispatch incidents: category, priority 1-3 (1 most urgent), "
                "position or address, district, unit, lifecycle reported -> dispatched -> on_scene "
                "-> closed with its times, notes; our own JSON message on ioc/v1/police/incidents, "
                "latest updated_at wins. Taichung's 110 centre is never quiet for long: stale after "
                "15 minutes.",
    format="json",
    parse=parse_incidents,
    check=check_incident,
    to_rows=incident_rows,
    cadence=timedelta(minutes=15),
    topics=("ioc/v1/police/incidents",),
    tables=(INCIDENT, INCIDENT_HISTORY),
    schema="incident.schema.json",
)
