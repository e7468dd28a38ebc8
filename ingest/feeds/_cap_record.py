"""An OASIS CAP 1.1 / 1.2 `<alert>` element -> the normalised CAP record.

Follows the CAP 1.2 specification (sections 3.2-3.3) and the Taiwan profile of NCDR's alert
platform (Taiwan_Geocode_* geocodes, per-county parameters). Code values are matched without
regard to case and written in the specification's spelling; an unknown code value, a missing
required element, a time or a coordinate that cannot be read is a FeedError('validate') naming
the element. Elements of other namespaces (extensions, signatures) are ignored.

Geometry is GeoJSON in lon/lat: a `<polygon>` ("lat,lon lat,lon ...") becomes a Polygon with a
closed ring (an unclosed ring is closed; an empty `<polygon/>` is no polygon); a `<circle>`
("lat,lon radius_km") becomes {"center": Point, "radius_km": r}: exact, where a polygon would
only approximate it. Times keep the offset they were sent with (none given: Taiwan time).
"""

from __future__ import annotations

import re
from datetime import timezone
from xml.etree.ElementTree import Element

from . import _cap_geo
from ._cap_xml import split_tag, text_of
from ._common import iso, parse_time
from .base import FeedError

CAP_NAMESPACES = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
}


def _codes(*values: str) -> dict[str, str]:
    return {v.lower(): v for v in values}


STATUS = _codes("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPE = _codes("Alert", "Update", "Cancel", "Ack", "Error")
SCOPE = _codes("Public", "Restricted", "Private")
CATEGORY = _codes("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                  "Transport", "Infra", "CBRNE", "Other")
RESPONSE_TYPE = _codes("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess",
                       "AllClear", "None")
URGENCY = _codes("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = _codes("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = _codes("Observed", "Likely", "Possible", "Unlikely", "Unknown")
CERTAINTY["very likely"] = "Likely"  # a CAP 1.0 value, no longer in 1.1/1.2: read as Likely
# Map shading order: a higher rank wins where alerts overlap.
SEVERITY_RANK = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1, "Unknown": 0}

DEFAULT_LANGUAGE = "en-US"  # CAP 1.2 3.2.2: the language when <language> is absent
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_COMMA = re.compile(r"\s*,\s*")
_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|(\S+)')
_WRAPPED = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def _bad(path: str, why: str) -> FeedError:
    return FeedError("validate", f"{path}: {why}")


class _Block:
    """Children of one CAP element, by local name, in the CAP namespace only."""

    def __init__(self, elem: Element, ns: str, path: str):
        self.path = path
        self.children: dict[str, list[Element]] = {}
        for child in elem:
            child_ns, local = split_tag(child.tag)
            if child_ns == ns:
                self.children.setdefault(local, []).append(child)

    def all(self, name: str) -> list[Element]:
        return self.children.get(name, [])

    def element(self, name: str, *, required: bool = False) -> Element | None:
        found = self.all(name)
        if len(found) > 1:
            raise _bad(f"{self.path}/{name}", f"appears {len(found)} times, at most once allowed")
        if not found:
            if required:
                raise _bad(f"{self.path}/{name}", "required element is missing")
            return None
        return found[0]

    def text(self, name: str, *, required: bool = False) -> str | None:
        elem = self.element(name, required=required)
        value = None if elem is None else text_of(elem)
        if required and value is None:
            raise _bad(f"{self.path}/{name}", "required element is empty")
        return value

    def line(self, name: str, *, required: bool = False) -> str | None:
        """A one-line field (headline, names): line breaks from the XML layout become a space."""
        value = self.text(name, required=required)
        return None if value is None else _WRAPPED.sub(" ", value)

    def code(self, name: str, values: dict[str, str], *, required: bool = False) -> str | None:
        raw = self.text(name, required=required)
        return None if raw is None else _code(raw, values, f"{self.path}/{name}")

    def time(self, name: str, *, required: bool = False) -> str | None:
        raw = self.text(name, required=required)
        return None if raw is None else _time(raw, f"{self.path}/{name}")


def _code(raw: str, values: dict[str, str], path: str) -> str:
    try:
        return values[" ".join(raw.split()).lower()]
    except KeyError:
        allowed = ", ".join(sorted(set(values.values())))
        raise _bad(path, f"{raw[:40]!r} is not one of {allowed}") from None


def _time(raw: str, path: str) -> str:
    """A CAP dateTime -> ISO 8601 with its offset; one that has no UTC equivalent is refused."""
    dt = parse_time(raw, field=path)
    try:
        dt.astimezone(timezone.utc)  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
    except OverflowError:
        raise _bad(path, f"time out of range: {raw[:40]!r}") from None
    return iso(dt)


def _number(raw: str, path: str) -> float:
    if not _NUMBER.match(raw):
        raise _bad(path, f"{raw[:40]!r} is not a number")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise _bad(path, f"{raw[:40]!r} is not a finite number")
    return value


def _lat_lon(pair: str, path: str) -> tuple[float, float]:
    """'lat,lon' (WGS 84) -> (lon, lat)."""
    parts = pair.split(",")
    if len(parts) != 2:
        raise _bad(path, f"{pair[:40]!r} is not a 'latitude,longitude' pair")
    lat, lon = _number(parts[0], path), _number(parts[1], path)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad(path, f"{pair[:40]!r}: latitude or longitude out of range")
    return lon, lat


def _words(raw: str | None) -> list[str]:
    """A CAP space-delimited list; an item holding spaces is in double quotes."""
    if raw is None:
        return []
    return [q if q else w for q, w in _QUOTED_OR_WORD.findall(raw) if q or w]


def _pairs(elems: list[Element], ns: str, path: str) -> list[dict]:
    """<parameter>/<eventCode>/<geocode>: [{name, value}] (value None when blank)."""
    out = []
    for i, elem in enumerate(elems):
        block = _Block(elem, ns, f"{path}[{i}]")
        out.append({"name": block.line("valueName", required=True), "value": block.text("value")})
    return out


def parse_references(raw: str | None, path: str) -> list[dict]:
    """'sender,identifier,sent sender,identifier,sent ...' -> [{sender, identifier, sent}]."""
    out = []
    for triplet in (raw or "").split():
        parts = triplet.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2]:
            raise _bad(path, f"{triplet[:80]!r} is not 'sender,identifier,sent'")
        out.append({"sender": parts[0], "identifier": parts[1], "sent": _time(parts[2], path)})
    return out


def _polygon(raw: str | None, path: str) -> dict | None:
    if raw is None:
        return None  # <polygon/>: valid, describes nothing
    ring = [_lat_lon(pair, path) for pair in _COMMA.sub(",", raw).split()]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise _bad(path, f"a polygon needs at least 4 points (first = last), got {len(ring)}")
    return {"type": "Polygon", "coordinates": [[[lon, lat] for lon, lat in ring]]}


def _circle(raw: str | None, path: str) -> dict | None:
    if raw is None:
        return None
    parts = _COMMA.sub(",", raw).split()
    if len(parts) != 2:
        raise _bad(path, f"{raw[:60]!r} is not 'latitude,longitude radius'")
    lon, lat = _lat_lon(parts[0], path)
    radius = _number(parts[1], path)
    if radius < 0:
        raise _bad(path, f"negative radius {radius}")
    return {"center": {"type": "Point", "coordinates": [lon, lat]}, "radius_km": radius}


def _area(elem: Element, ns: str, path: str) -> dict:
    block = _Block(elem, ns, path)
    block.element("areaDesc", required=True)
    polygons = [p for i, e in enumerate(block.all("polygon"))
                if (p := _polygon(text_of(e), f"{path}/polygon[{i}]")) is not None]
    circles = [c for i, e in enumerate(block.all("circle"))
               if (c := _circle(text_of(e), f"{path}/circle[{i}]")) is not None]
    geocodes = _pairs(block.all("geocode"), ns, f"{path}/geocode")
    altitude = block.text("altitude")
    ceiling = block.text("ceiling")

    # The area is the union of its polygons, circles and geocodes (CAP 1.2 3.2.4).
    districts: set[str] = set()
    villages: set[str] = set()
    for d, v in [_cap_geo.polygon_coverage([tuple(p) for p in poly["coordinates"][0]])
                 for poly in polygons] + \
                [_cap_geo.circle_coverage(*c["center"]["coordinates"], c["radius_km"])
                 for c in circles] + \
                [_cap_geo.geocode_coverage(g["name"], g["value"]) for g in geocodes]:
        districts |= d
        villages |= v
    return {
        "description": block.line("areaDesc"),
        "polygons": polygons,
        "circles": circles,
        "geocodes": geocodes,
        "altitude": None if altitude is None else _number(altitude, f"{path}/altitude"),
        "ceiling": None if ceiling is None else _number(ceiling, f"{path}/ceiling"),
        "districts": sorted(districts),
        "villages": sorted(villages),
    }


def _resource(elem: Element, ns: str, path: str) -> dict:
    block = _Block(elem, ns, path)
    size = block.text("size")
    if size is not None and not size.isdigit():
        raise _bad(f"{path}/size", f"{size[:40]!r} is not a whole number of bytes")
    return {
        "description": block.line("resourceDesc", required=True),
        "mime_type": block.text("mimeType"),
        "size": None if size is None else int(size),
        "uri": block.text("uri"),
        "digest": block.text("digest"),
        # Embedded content (base64) is not kept: the record says only that it was there.
        "has_deref": block.element("derefUri") is not None,
    }


def _info(elem: Element, ns: str, path: str) -> dict:
    block = _Block(elem, ns, path)
    categories = block.all("category")
    if not categories:
        raise _bad(f"{path}/category", "required element is missing")
    return {
        "language": block.text("language") or DEFAULT_LANGUAGE,
        "category": [_code(text_of(c) or "", CATEGORY, f"{path}/category[{i}]")
                     for i, c in enumerate(categories)],
        "event": block.line("event", required=True),
        "response_type": [_code(text_of(r) or "", RESPONSE_TYPE, f"{path}/responseType[{i}]")
                          for i, r in enumerate(block.all("responseType"))],
        "urgency": block.code("urgency", URGENCY, required=True),
        "severity": block.code("severity", SEVERITY, required=True),
        "certainty": block.code("certainty", CERTAINTY, required=True),
        "audience": block.line("audience"),
        "event_codes": _pairs(block.all("eventCode"), ns, f"{path}/eventCode"),
        "effective": block.time("effective"),
        "onset": block.time("onset"),
        "expires": block.time("expires"),
        "sender_name": block.line("senderName"),
        "headline": block.line("headline"),
        "description": block.text("description"),
        "instruction": block.text("instruction"),
        "web": block.text("web"),
        "contact": block.line("contact"),
        "parameters": _pairs(block.all("parameter"), ns, f"{path}/parameter"),
        "resources": [_resource(r, ns, f"{path}/resource[{i}]")
                      for i, r in enumerate(block.all("resource"))],
        "areas": [_area(a, ns, f"{path}/area[{i}]") for i, a in enumerate(block.all("area"))],
    }


def _primary(infos: list[dict]) -> dict | None:
    """The info block shown first: Traditional Chinese when there is one, else the first."""
    for info in infos:
        if info["language"].lower().startswith("zh"):
            return info
    return infos[0] if infos else None


def alert_record(root: Element) -> dict:
    ns, local = split_tag(root.tag)
    if local != "alert" or ns not in CAP_NAMESPACES:
        where = f"{{{ns}}}{local}" if ns else local
        hint = " (an Atom/RSS index: use parse_atom_index)" if local in ("feed", "rss") else ""
        raise FeedError("validate", f"not a CAP 1.1/1.2 alert: root element is <{where}>{hint}; "
                        f"expected <alert> in {' or '.join(CAP_NAMESPACES)}")
    block = _Block(root, ns, "alert")
    infos = [_info(e, ns, f"alert/info[{i}]") for i, e in enumerate(block.all("info"))]
    districts = sorted({d for info in infos for a in info["areas"] for d in a["districts"]})
    villages = sorted({v for info in infos for a in info["areas"] for v in a["villages"]})
    primary = _primary(infos)
    severities = [info["severity"] for info in infos]
    return {
        "cap_version": CAP_NAMESPACES[ns],
        "identifier": block.text("identifier", required=True),
        "sender": block.text("sender", required=True),
        "sent": block.time("sent", required=True),
        "status": block.code("status", STATUS, required=True),
        "msg_type": block.code("msgType", MSG_TYPE, required=True),
        "source": block.text("source"),
        "scope": block.code("scope", SCOPE, required=True),
        "restriction": block.text("restriction"),
        "addresses": _words(block.text("addresses")),
        "code": [c for e in block.all("code") if (c := text_of(e)) is not None],
        "note": block.text("note"),
        "references": parse_references(block.text("references"), "alert/references"),
        "incidents": _words(block.text("incidents")),
        "event": primary["event"] if primary else None,
        "headline": primary["headline"] if primary else None,
        "severity": max(severities, key=SEVERITY_RANK.__getitem__) if severities else None,
        "infos": infos,
        "districts": districts,
        "villages": villages,
    }
