"""Water level, rain and other sensors from Civil IoT Taiwan (民生公共物聯網), OGC SensorThings
API v1.0 (`sta`).

`parse(bytes)` reads any STA document: a collection page (`{"value": [...], "@iot.nextLink"}`)
of Things, Datastreams or Observations, or one entity, with `$expand`ed Locations, Datastreams,
Thing, ObservedProperty or Observations at any depth. It yields three kinds of record, told
apart by `kind`: "thing" (station, with lon/lat from its Location), "datastream" (what is
measured, unit) and "observation" (one reading).

An Observation carries no Datastream id of its own. It is taken from, in order: an expanded
`Datastream`, the Datastream the Observation is nested in, or the document's links
(`.../Datastreams(1)/Observations?$skip=100`). Where none of these exists the document is
refused; a poller passes the URL it fetched to `parse_document(payload, url=...)`.

MQTT: Civil IoT publishes one Observation per message on `v1.0/Datastreams(<id>)/Observations`,
where only the topic names the Datastream. `Feed.parse` gets no topic, so the MQTT source must
call `parse_observation_message(topic, payload)` (also in `STA.extra["parse_message"]`).

Ids are only unique within one STA service (`STA_AirQuality_EPAIoT`, `STA_WaterResource_v2`,
...), so every record carries `service`, taken from the links (the path segment before `v1.0`).
The paging poller follows `next_link(doc)`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from urllib.parse import unquote, urljoin, urlsplit

import msgspec

from . import _common
from ._common import check_lonlat, check_time, iso, parse_time
from .base import Feed, FeedError, Table

ENTITY_SETS = {"Things": "thing", "Datastreams": "datastream", "Observations": "observation",
               "Locations": "location"}
OTHER_SETS = {"Sensors", "ObservedProperties", "FeaturesOfInterest", "HistoricalLocations",
              "MultiDatastreams"}
_SEGMENT = re.compile(r"^(\w+)(?:\((.*)\))?$")
_VERSION = re.compile(r"^v\d+\.\d+$")
_OBS_TOPIC = re.compile(r"(?:^|/)Datastreams\(([^()/]+)\)/Observations$")
_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$", re.ASCII)
MAX_DEPTH = 8
MAX_TEXT = 2000


def _decode_json(payload: bytes):
    """`_common.decode_json`, also refusing JSON nested deeper than msgspec can follow."""
    try:
        return _common.decode_json(payload)
    except RecursionError:
        raise FeedError("decode", "JSON nested too deeply") from None


# --- links: which service, which entity -------------------------------------------------------

def _clean_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        raw = raw[1:-1].replace("''", "'")
    return raw or None


def _link_path(url) -> tuple[str, list[tuple[str, str | None]]]:
    """(service, [(entity set, id or None), ...]) named by an STA URL or MQTT topic."""
    if not isinstance(url, str):
        return "", []
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", []
    segments = [unquote(s) for s in parts.path.split("/") if s]
    service = parts.netloc
    for i, seg in enumerate(segments):
        if _VERSION.match(seg):
            service = segments[i - 1] if i > 0 else service
            break
    path = []
    for seg in segments:
        m = _SEGMENT.match(seg)
        if m and (m.group(1) in ENTITY_SETS or m.group(1) in OTHER_SETS):
            path.append((m.group(1), _clean_id(m.group(2))))
    return service, path


def _entity_of_link(url) -> tuple[str | None, str | None]:
    """(kind, id) of the entity a selfLink points at."""
    _, path = _link_path(url)
    if path and path[-1][1] is not None and path[-1][0] in ENTITY_SETS:
        return ENTITY_SETS[path[-1][0]], path[-1][1]
    return None, None


class _Context:
    """What the document's address says about its top level."""

    def __init__(self, url):
        self.service, path = _link_path(url)
        self.kind = self.id = None          # the addressed entity or collection
        self.parent_kind = self.parent_id = None
        if path:
            name, ident = path[-1]
            self.kind = ENTITY_SETS.get(name, "other")
            self.id = ident
            if ident is None and len(path) > 1 and path[-2][1] is not None:
                self.parent_kind = ENTITY_SETS.get(path[-2][0], "other")
                self.parent_id = path[-2][1]


# --- values ---------------------------------------------------------------------------------------

def _id(value, *, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FeedError("validate", f"{where}: @iot.id must be a number or text")
    text = str(value).strip()
    if not text or len(text) > 200:
        raise FeedError("validate", f"{where}: @iot.id must be 1-200 characters")
    return text


def _text(value, *, field: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FeedError("validate", f"{where}.{field}: expected text, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise FeedError("validate", f"{where}.{field}: longer than {MAX_TEXT} characters")
    return value


def _instant(value, *, field: str, where: str) -> str | None:
    """An STA time or time interval "a/b" (the end is what a reading is shown at)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FeedError("validate", f"{where}.{field}: expected a time string")
    end = value.rsplit("/", 1)[-1]
    return iso(parse_time(end, field=f"{where}.{field}"))


def _result(value) -> tuple[float | None, str | None]:
    """A reading as a number when it is one; anything else is kept as text."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, "true" if value else "false"
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number, None
        return None, str(value)[:MAX_TEXT]
    if isinstance(value, str):
        return None, value[:MAX_TEXT]
    return None, msgspec.json.encode(value).decode()[:MAX_TEXT]


def _point(geojson, *, where: str) -> tuple[float | None, float | None]:
    """lon/lat of a GeoJSON Point (or a Feature holding one); other shapes have none."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") != "Point":
        return None, None
    coords = geojson.get("coordinates")
    if not (isinstance(coords, list) and len(coords) >= 2):
        raise FeedError("validate", f"{where}: Point coordinates must be [lon, lat]")
    lon, lat = coords[0], coords[1]
    for v in (lon, lat):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise FeedError("validate", f"{where}: Point coordinates must be finite numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise FeedError("validate", f"{where}: ({lon}, {lat}) is not lon/lat")
    return float(lon), float(lat)


def _reject_nul(doc) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise FeedError("validate", "text contains NUL (U+0000)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# --- walking a document ---------------------------------------------------------------------------

def _guess_kind(obj: dict) -> str | None:
    kind, _ = _entity_of_link(obj.get("@iot.selfLink"))
    if kind:
        return kind
    if "result" in obj:
        return "observation"
    if "unitOfMeasurement" in obj:
        return "datastream"
    if "location" in obj and "encodingType" in obj:
        return "location"
    if any(k in obj for k in ("properties", "Locations", "Datastreams",
                              "Locations@iot.navigationLink", "Datastreams@iot.navigationLink")):
        return "thing"
    return None


class _Walker:
    def __init__(self, service: str):
        self.service = service
        self.records: list[dict] = []
        self.seen: set[tuple] = set()

    def _emit(self, record: dict, key: tuple | None = None) -> None:
        if key is not None:
            if key in self.seen:
                return
            self.seen.add(key)
        self.records.append(record)

    def _service_of(self, obj: dict, inherited: str | None) -> str:
        """An entity's own selfLink, else the entity it is nested in, else the document."""
        service, _ = _link_path(obj.get("@iot.selfLink"))
        return service or inherited or self.service

    def entity(self, obj, kind: str | None, *, where: str, depth: int, own_id: str | None = None,
               thing_id: str | None = None, datastream_id: str | None = None,
               service: str | None = None) -> None:
        if depth > MAX_DEPTH:
            raise FeedError("validate", f"{where}: expansions nested deeper than {MAX_DEPTH}")
        if not isinstance(obj, dict):
            raise FeedError("validate", f"{where}: expected a SensorThings entity (object)")
        kind = kind or _guess_kind(obj)
        ident = _id(obj.get("@iot.id"), where=where) or _entity_of_link(obj.get("@iot.selfLink"))[1]
        ident = ident or own_id
        service = self._service_of(obj, service)
        if kind == "thing":
            self.thing(obj, ident, service, where=where, depth=depth)
        elif kind == "datastream":
            self.datastream(obj, ident, thing_id, service, where=where, depth=depth)
        elif kind == "observation":
            self.observation(obj, ident, datastream_id, service, where=where, depth=depth)
        elif kind == "location":
            raise FeedError("validate", f"{where}: a Location alone names no station; fetch "
                                        "Things?$expand=Locations")
        else:
            raise FeedError("validate", f"{where}: not a SensorThings Thing, Datastream or Observation")

    def _children(self, obj: dict, name: str, where: str) -> list:
        items = obj.get(name)
        if items is None:
            return []
        if not isinstance(items, list):
            raise FeedError("validate", f"{where}.{name}: expected a list")
        return items

    def thing(self, obj: dict, ident: str | None, service: str, *, where: str, depth: int) -> None:
        if ident is None:
            raise FeedError("validate", f"{where}: Thing without @iot.id (parse_document with the "
                                        "request URL, e.g. .../Things(1), can supply it)")
        properties = obj.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise FeedError("validate", f"{where}.properties: expected an object")
        lon = lat = location = None
        for i, loc in enumerate(self._children(obj, "Locations", where)):
            if not isinstance(loc, dict):
                raise FeedError("validate", f"{where}.Locations[{i}]: expected an object")
            geo = loc.get("location")
            if geo is not None and not isinstance(geo, dict):
                raise FeedError("validate", f"{where}.Locations[{i}].location: expected GeoJSON")
            if geo is not None and location is None:
                lon, lat = _point(geo, where=f"{where}.Locations[{i}].location")
                location = geo
        self._emit({
            "kind": "thing",
            "service": service,
            "thing_id": ident,
            "name": _text(obj.get("name"), field="name", where=where),
            "description": _text(obj.get("description"), field="description", where=where),
            "properties": properties or {},
            "lon": lon,
            "lat": lat,
            "location": location,
        }, key=("thing", service, ident))
        for i, ds in enumerate(self._children(obj, "Datastreams", where)):
            self.entity(ds, "datastream", where=f"{where}.Datastreams[{i}]", depth=depth + 1,
                        thing_id=ident, service=service)

    def datastream(self, obj: dict, ident: str | None, thing_id: str | None, service: str, *,
                   where: str, depth: int) -> None:
        if ident is None:
            raise FeedError("validate", f"{where}: Datastream without @iot.id")
        thing = obj.get("Thing")
        if thing is not None:
            self.entity(thing, "thing", where=f"{where}.Thing", depth=depth + 1, service=service)
            thing_id = (_id(thing.get("@iot.id"), where=f"{where}.Thing")
                        or _entity_of_link(thing.get("@iot.selfLink"))[1] or thing_id)
        unit = obj.get("unitOfMeasurement")
        if unit is not None and not isinstance(unit, dict):
            raise FeedError("validate", f"{where}.unitOfMeasurement: expected an object")
        unit = unit or {}
        prop = obj.get("ObservedProperty")
        if prop is not None and not isinstance(prop, dict):
            raise FeedError("validate", f"{where}.ObservedProperty: expected an object")
        self._emit({
            "kind": "datastream",
            "service": service,
            "datastream_id": ident,
            "thing_id": thing_id,
            "name": _text(obj.get("name"), field="name", where=where),
            "description": _text(obj.get("description"), field="description", where=where),
            "unit": {k: _text(unit.get(k), field=f"unitOfMeasurement.{k}", where=where)
                     for k in ("name", "symbol", "definition")},
            "observed_property": _text((prop or {}).get("name"), field="ObservedProperty.name",
                                       where=where),
            "observation_type": _text(obj.get("observationType"), field="observationType",
                                      where=where),
        }, key=("datastream", service, ident))
        for i, ob in enumerate(self._children(obj, "Observations", where)):
            self.entity(ob, "observation", where=f"{where}.Observations[{i}]", depth=depth + 1,
                        datastream_id=ident, service=service)

    def observation(self, obj: dict, ident: str | None, datastream_id: str | None, service: str,
                    *, where: str, depth: int) -> None:
        ds = obj.get("Datastream")
        if ds is not None:
            self.entity(ds, "datastream", where=f"{where}.Datastream", depth=depth + 1,
                        service=service)
            datastream_id = (_id(ds.get("@iot.id"), where=f"{where}.Datastream")
                             or _entity_of_link(ds.get("@iot.selfLink"))[1] or datastream_id)
        if datastream_id is None:
            raise FeedError("validate", f"{where}: Observation without a Datastream id (expand "
                                        "Datastream, or pass the request URL or MQTT topic)")
        if "result" not in obj:
            raise FeedError("validate", f"{where}: Observation without result")
        time = (_instant(obj.get("phenomenonTime"), field="phenomenonTime", where=where)
                or _instant(obj.get("resultTime"), field="resultTime", where=where))
        if time is None:
            raise FeedError("validate", f"{where}: Observation without phenomenonTime")
        number, text = _result(obj["result"])
        self._emit({
            "kind": "observation",
            "service": service,
            "datastream_id": datastream_id,
            "observation_id": ident,
            "time": time,
            "result_time": _instant(obj.get("resultTime"), field="resultTime", where=where),
            "result": number,
            "result_text": text,
        })


def parse_document(payload: bytes, *, url: str | None = None) -> list[dict]:
    """Records of an STA document; `url` is where it was fetched (supplies ids a page lacks)."""
    doc = _decode_json(payload)
    _reject_nul(doc)
    ctx = _Context(url)
    if isinstance(doc, dict) and isinstance(doc.get("value"), list) and "@iot.id" not in doc:
        items = doc["value"]
        link_ctx = ctx if ctx.kind else _Context(doc.get("@iot.nextLink"))
        kind = link_ctx.kind if link_ctx.kind in ENTITY_SETS.values() else None
        walker = _Walker(ctx.service or link_ctx.service)
        parent = {}
        if link_ctx.parent_kind == "thing":
            parent["thing_id"] = link_ctx.parent_id
        elif link_ctx.parent_kind == "datastream":
            parent["datastream_id"] = link_ctx.parent_id
        for i, item in enumerate(items):
            walker.entity(item, kind, where=f"value[{i}]", depth=0, **parent)
        return walker.records
    if isinstance(doc, list):
        walker = _Walker(ctx.service)
        for i, item in enumerate(doc):
            walker.entity(item, None, where=f"[{i}]", depth=0)
        return walker.records
    if isinstance(doc, dict):
        kind = ctx.kind if ctx.kind in ENTITY_SETS.values() else None
        service = ctx.service or _link_path(doc.get("@iot.selfLink"))[0]
        walker = _Walker(service)
        walker.entity(doc, kind, where="$", depth=0, own_id=ctx.id,
                      datastream_id=ctx.parent_id if ctx.parent_kind == "datastream" else None,
                      thing_id=ctx.parent_id if ctx.parent_kind == "thing" else None)
        return walker.records
    raise FeedError("validate", "expected a SensorThings document (an object or a list)")


def parse_sta(payload: bytes) -> list[dict]:
    return parse_document(payload)


def parse_observation_message(topic: str, payload: bytes, *, service: str = "") -> list[dict]:
    """One Observation from STA's MQTT extension; its Datastream id is in the topic.

    `service` names the STA service the broker belongs to when the topic does not (a topic
    such as `STA_WaterResource_v2/v1.0/Datastreams(7)/Observations` does).
    """
    match = _OBS_TOPIC.search(topic) if isinstance(topic, str) else None
    if not match:
        raise FeedError("validate", f"topic {str(topic)[:80]!r} is not .../Datastreams(<id>)/Observations")
    datastream_id = _clean_id(match.group(1))
    if datastream_id is None:
        raise FeedError("validate", "topic names an empty Datastream id")
    doc = _decode_json(payload)
    _reject_nul(doc)
    if not isinstance(doc, dict):
        raise FeedError("validate", "an MQTT Observation message must be one JSON object")
    walker = _Walker(service or _link_path("/" + topic)[0])
    walker.entity(doc, "observation", where="$", depth=0, datastream_id=datastream_id)
    return walker.records


def next_link(doc, *, same_host_as: str | None = None) -> str | None:
    """The page after this one, or None at the end.

    `same_host_as` (the URL of the first page) refuses a link to another host, so a poller
    cannot be led away from the service it was pointed at; a relative link is resolved
    against it.
    """
    if isinstance(doc, (bytes, bytearray, memoryview)):
        doc = _decode_json(bytes(doc))
    if not isinstance(doc, dict):
        return None
    link = doc.get("@iot.nextLink")
    if link is None:
        return None
    if not isinstance(link, str) or not link.strip():
        raise FeedError("validate", "@iot.nextLink is not a URL")
    if same_host_as:
        link = urljoin(same_host_as, link)
    if urlsplit(link).scheme not in ("http", "https"):
        raise FeedError("validate", f"@iot.nextLink is not an http(s) URL: {link[:60]!r}")
    if same_host_as and urlsplit(link).netloc.lower() != urlsplit(same_host_as).netloc.lower():
        raise FeedError("validate", f"@iot.nextLink leads to another host: {urlsplit(link).netloc}")
    return link


# --- live checks and rows -------------------------------------------------------------------------

def check_sta(rec: dict) -> None:
    if rec["kind"] == "thing":
        check_lonlat(rec["lon"], rec["lat"])
    elif rec["kind"] == "observation":
        check_time(datetime.fromisoformat(rec["time"]), field="phenomenonTime")
        if rec["result"] is not None and abs(rec["result"]) > 1e9:
            raise FeedError("validate", f"result {rec['result']} is implausibly large")


def sta_rows(rec: dict, received_at: datetime):
    kind = rec["kind"]
    if kind == "thing":
        # Station metadata has no time of its own: the time received orders its versions.
        yield "sta_thing", (rec["service"], rec["thing_id"], rec["name"], rec["description"],
                            rec["properties"], rec["lon"], rec["lat"], rec["location"], received_at)
    elif kind == "datastream":
        unit = rec["unit"]
        yield "sta_datastream", (rec["service"], rec["datastream_id"], rec["thing_id"], rec["name"],
                                 rec["description"], unit["name"], unit["symbol"],
                                 unit["definition"], rec["observed_property"],
                                 rec["observation_type"], received_at)
    elif kind == "observation":
        result_time = rec["result_time"] and datetime.fromisoformat(rec["result_time"])
        yield "sta_observation", (datetime.fromisoformat(rec["time"]), rec["service"],
                                  rec["datastream_id"], rec["result"], rec["result_text"],
                                  result_time, rec["observation_id"])


STA_THING = Table("sta_thing", ("service", "thing_id", "name", "description", "properties", "lon",
                                "lat", "location", "time"),
                  key=("service", "thing_id"), mode="latest")
STA_DATASTREAM = Table("sta_datastream", ("service", "datastream_id", "thing_id", "name",
                                          "description", "unit_name", "unit_symbol",
                                          "unit_definition", "observed_property",
                                          "observation_type", "time"),
                       key=("service", "datastream_id"), mode="latest")
STA_OBSERVATION = Table("sta_observation", ("time", "service", "datastream_id", "result",
                                            "result_text", "result_time", "observation_id"),
                        key=("service", "datastream_id", "time"))

MQTT_SERVICE = "STA_WaterResource_v2"

STA = Feed(
    name="sta",
    description="民生公共物聯網 Civil IoT Taiwan sensors (water level 水位, rain 雨量, air quality, ...) "
                "via OGC SensorThings API v1.0: stations (Things with Locations), Datastreams (unit, "
                "observed property) and Observations, by HTTP paging (@iot.nextLink) or MQTT "
                "v1.0/Datastreams(<id>)/Observations. WRA water levels report every 10 minutes: "
                "stale after 10 minutes.",
    format="json",
    parse=parse_sta,
    check=check_sta,
    to_rows=sta_rows,
    cadence=timedelta(minutes=10),
    topics=("v1.0/+/Observations",),
    tables=(STA_THING, STA_DATASTREAM, STA_OBSERVATION),
    schema="sta.schema.json",
    # Our broker carries Civil IoT observations bridged from the water-resources service.
    parse_message=lambda topic, payload: parse_observation_message(topic, payload, service=MQTT_SERVICE),
    extra={"parse_message": parse_observation_message, "parse_document": parse_document,
           "next_link": next_link},
)
