"""Disaster alerts in OASIS CAP 1.1 / 1.2 (災害示警), as Taiwan's alert platform (NCDR 民生示警
公開資料平台) publishes them, and as any other CAP publisher does.

A message (on `ioc/v1/disaster/cap`, or a file) is one CAP XML `<alert>`; `parse` gives one
record per alert, with every `<info>` and `<area>`, each area mapped to the Taichung districts
and villages it covers (see `_cap_geo`). The record's fields are in
`schemas/messages/cap.schema.json`.

Storage (`schemas/sql/020_cap.sql`) is insert-or-ignore only: `cap_alert` (one row per message,
the record as jsonb), `cap_area` (one row per info x area, for map shading) and `cap_reference`
(which earlier messages an Update/Cancel/Ack/Error refers to). Whether an alert is still in
force is computed when read (`cap_alerts_in_force(as_of)`), so a cancelled alert ends cancelled
whatever order the messages arrive in, and a replay is stored once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import orjson

from ._cap_record import SEVERITY_RANK, alert_record
from ._cap_xml import decode_xml, split_tag, text_of
from ._common import check_lonlat, check_time, iso, parse_time
from .base import Feed, FeedError, Table

TOPIC = "ioc/v1/disaster/cap"

# Live limits, far above any real alert (the county-wide rain warning in the fixtures, every
# district of 3 counties, is 17 KB with 73 areas). Live ingest refuses a payload over
# MAX_LIVE_BYTES before parsing (Feed.max_bytes); `parse` itself takes up to 16 MiB (files).
MAX_LIVE_BYTES = 1024 * 1024
MAX_RECORD_BYTES = 4 * 1024 * 1024  # the normalised record as JSON (village lists make it grow)
MAX_INFOS = 20
MAX_AREAS = 2000
MAX_GEOCODES = 20000
MAX_POLYGON_POINTS = 20000  # in one polygon
MAX_RADIUS_KM = 2000.0
MAX_KEY_CHARS = 256
# A message without <expires> is taken to be in force this long after it was sent (the SQL
# function `cap_alerts_in_force` applies the same rule).
DEFAULT_VALIDITY = timedelta(hours=24)


def parse_cap(payload: bytes) -> list[dict]:
    """One CAP document -> [record]; FeedError('decode') for unsafe or broken XML,
    FeedError('validate') for XML that is not a valid CAP 1.1/1.2 alert."""
    return [alert_record(decode_xml(payload))]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def check_cap(rec: dict, *, now: datetime | None = None) -> None:
    """Live ingest only: plausible size, time and place for an alert meant for Taiwan."""
    size = len(orjson.dumps(rec))
    if size > MAX_RECORD_BYTES:
        raise FeedError("validate", f"record is {size} bytes as JSON, more than {MAX_RECORD_BYTES}")
    for key in ("identifier", "sender"):
        value = rec[key]
        if len(value) > MAX_KEY_CHARS or any(c.isspace() or c in ",<&" for c in value):
            raise FeedError("validate", f"{key} must be at most {MAX_KEY_CHARS} characters without "
                            "spaces, commas, '<' or '&' (CAP 1.2 3.2.1)")
    sent = _time(rec["sent"])
    check_time(sent, now=now, field="sent")
    infos = rec["infos"]
    if len(infos) > MAX_INFOS:
        raise FeedError("validate", f"{len(infos)} info blocks, more than {MAX_INFOS}")
    areas = [a for info in infos for a in info["areas"]]
    if len(areas) > MAX_AREAS:
        raise FeedError("validate", f"{len(areas)} areas, more than {MAX_AREAS}")
    geocodes = sum(len(a["geocodes"]) for a in areas)
    if geocodes > MAX_GEOCODES:
        raise FeedError("validate", f"{geocodes} geocodes, more than {MAX_GEOCODES}")
    for i, info in enumerate(infos):
        expires = _time(info["expires"])
        if expires is not None and expires <= sent:
            raise FeedError("validate", f"info[{i}]: expires {info['expires']} is not after sent")
        for j, area in enumerate(info["areas"]):
            where = f"info[{i}].area[{j}]"
            for poly in area["polygons"]:
                ring = poly["coordinates"][0]
                if len(ring) > MAX_POLYGON_POINTS:
                    raise FeedError("validate", f"{where}: polygon of {len(ring)} points, "
                                    f"more than {MAX_POLYGON_POINTS}")
                for lon, lat in ring:
                    check_lonlat(lon, lat, field=f"{where} polygon")
            for circle in area["circles"]:
                check_lonlat(*circle["center"]["coordinates"], field=f"{where} circle")
                if circle["radius_km"] > MAX_RADIUS_KM:
                    raise FeedError("validate", f"{where}: circle radius {circle['radius_km']} km "
                                    f"is more than {MAX_RADIUS_KM}")


def _alert_validity(rec: dict, sent: datetime) -> tuple[datetime, datetime | None]:
    """(earliest effective, latest expires) over the infos; expires None if any info has none."""
    infos = rec["infos"]
    effective = min((_time(i["effective"]) or sent for i in infos), default=sent)
    ends = [_time(i["expires"]) for i in infos]
    expires = max(ends) if ends and all(e is not None for e in ends) else None
    return effective, expires


def cap_rows(rec: dict, received_at: datetime):
    sent = _time(rec["sent"])
    key = (sent, rec["sender"], rec["identifier"])
    effective, expires = _alert_validity(rec, sent)
    severity = rec["severity"]
    yield "cap_alert", (*key, rec["status"], rec["msg_type"], rec["scope"], rec["source"],
                        rec["event"], rec["headline"], severity,
                        None if severity is None else SEVERITY_RANK[severity],
                        effective, expires, rec["districts"], rec["villages"], rec, received_at)
    seen = set()
    for ref in rec["references"]:
        target = (ref["sender"], ref["identifier"], _time(ref["sent"]))
        if target not in seen:  # a reference listed twice is one row (same key)
            seen.add(target)
            yield "cap_reference", (*key, rec["msg_type"], *target)
    for i, info in enumerate(rec["infos"]):
        # An info without <area> still gets a row (no geometry, no districts): it is in force.
        for j, area in enumerate(info["areas"] or [None]):
            area = area or {}
            yield "cap_area", (*key, rec["status"], rec["msg_type"], i, j, info["language"],
                               info["event"], info["category"], info["urgency"], info["severity"],
                               SEVERITY_RANK[info["severity"]], info["certainty"],
                               _time(info["effective"]), _time(info["onset"]),
                               _time(info["expires"]), info["headline"], info["sender_name"],
                               area.get("description"), area.get("polygons", []),
                               area.get("circles", []), area.get("geocodes", []),
                               area.get("districts", []), area.get("villages", []))


# ---------------------------------------------------------------------------------------------
# The platform's index of current alerts (Atom 1.0, or RSS 2.0), for the HTTP poller.

ATOM_NS = "http://www.w3.org/2005/Atom"


def _entry_link(links: list) -> str | None:
    """The link to the CAP document: one typed as CAP/XML or ending .cap/.xml, else the
    alternate (or untyped) link, else the first."""
    hrefs = [(link.get("rel") or "alternate", (link.get("type") or "").lower(), link.get("href").strip())
             for link in links if (link.get("href") or "").strip()]
    for _, kind, href in hrefs:
        if "cap" in kind or href.lower().split("?")[0].endswith((".cap", ".xml")):
            return href
    for rel, _, href in hrefs:
        if rel == "alternate":
            return href
    return hrefs[0][2] if hrefs else None


def _index_time(raw: str | None, path: str) -> str | None:
    if raw is None:
        return None
    try:
        return iso(parse_time(raw, field=path))
    except FeedError:
        pass
    try:  # RSS dates are RFC 822 ("Tue, 23 Apr 2024 02:29:35 +0800")
        dt = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise FeedError("validate", f"{path}: not a date: {raw[:40]!r}") from None
    return iso(dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc))


def parse_atom_index(payload: bytes) -> list[dict]:
    """An Atom feed (or RSS 2.0 channel) listing CAP alerts -> [{id, link, updated}], in
    document order; `link` is the CAP document's URL, `updated` ISO 8601 (None if absent)."""
    root = decode_xml(payload)
    ns, local = split_tag(root.tag)
    out = []
    if ns == ATOM_NS and local == "feed":
        a = f"{{{ATOM_NS}}}"
        for i, entry in enumerate(root.findall(f"{a}entry")):
            path = f"feed/entry[{i}]"
            id_el = entry.find(f"{a}id")
            ident = None if id_el is None else text_of(id_el)
            link = _entry_link(entry.findall(f"{a}link"))
            when = entry.find(f"{a}updated")
            if when is None:
                when = entry.find(f"{a}published")
            out.append(_index_entry(ident, link, None if when is None else text_of(when), path))
    elif ns is None and local == "rss":
        for i, item in enumerate(root.iterfind("channel/item")):
            path = f"rss/channel/item[{i}]"
            link_el, guid_el, date_el = item.find("link"), item.find("guid"), item.find("pubDate")
            link = None if link_el is None else text_of(link_el)
            ident = (text_of(guid_el) if guid_el is not None else None) or link
            out.append(_index_entry(ident, link, None if date_el is None else text_of(date_el), path))
    else:
        where = f"{{{ns}}}{local}" if ns else local
        raise FeedError("validate", f"not an Atom feed or RSS 2.0 channel: root element <{where}>")
    return out


def _index_entry(ident: str | None, link: str | None, when: str | None, path: str) -> dict:
    if not ident:
        raise FeedError("validate", f"{path}: no id")
    if not link:
        raise FeedError("validate", f"{path}: no link to the CAP document")
    return {"id": ident, "link": link, "updated": _index_time(when, f"{path}/updated")}


# ---------------------------------------------------------------------------------------------

CAP_ALERT = Table(
    "cap_alert",
    ("sent", "sender", "identifier", "status", "msg_type", "scope", "source", "event", "headline",
     "severity", "severity_rank", "effective", "expires", "districts", "villages", "record",
     "received_at"),
    key=("sender", "identifier", "sent"), time_column="sent")
CAP_REFERENCE = Table(
    "cap_reference",
    ("sent", "sender", "identifier", "msg_type", "ref_sender", "ref_identifier", "ref_sent"),
    key=("sender", "identifier", "sent", "ref_sender", "ref_identifier", "ref_sent"),
    time_column="sent")
CAP_AREA = Table(
    "cap_area",
    ("sent", "sender", "identifier", "status", "msg_type", "info_index", "area_index", "language",
     "event", "category", "urgency", "severity", "severity_rank", "certainty", "effective", "onset",
     "expires", "headline", "sender_name", "area_desc", "polygons", "circles", "geocodes",
     "districts", "villages"),
    key=("sender", "identifier", "sent", "info_index", "area_index"), time_column="sent")

CAP = Feed(
    name="cap",
    description="災害示警 CAP（民生示警公開資料平台，OASIS CAP 1.1/1.2）: disaster alerts with "
                "their areas mapped to Taichung districts and villages. Event-driven: the poller "
                "asks every 10 minutes, so the feed is stale when its poller or subscription has "
                "been silent that long (not when there is simply no alert).",
    format="xml",
    parse=parse_cap,
    check=check_cap,
    to_rows=cap_rows,
    cadence=timedelta(minutes=10),
    topics=(TOPIC,),
    tables=(CAP_ALERT, CAP_REFERENCE, CAP_AREA),
    schema="cap.schema.json",
    max_bytes=MAX_LIVE_BYTES,
    event_driven=True,
    # The HTTP poller reads this index with `parse_atom_index` and fetches each entry's link.
    extra={"index_url": "https://alerts.ncdr.nat.gov.tw/RssAtomFeed.ashx",
           "default_validity_hours": DEFAULT_VALIDITY.total_seconds() / 3600},
)
