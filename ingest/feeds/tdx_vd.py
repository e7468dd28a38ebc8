"""Traffic vehicle detectors in the TDX (formerly PTX) shape: the site list (`tdx-vd`) and
live readings (`tdx-vdlive`).

A live message on `ioc/v1/traffic/vd/<VDID>` is one `VDLive` object; a file or an HTTP answer
is the API envelope `{"VDLives": [...]}` (or a bare list). TDX marks an invalid lane value with
a negative number (-99): that becomes null, never a reading.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from ._common import TAIPEI, check_lonlat, check_range, check_time, decode_json, parse_time, strip_bom
from .base import Feed, FeedError, Table


# Only what a reading needs is decoded (msgspec skips the rest: VehicleType, LaneType, ...).
# gc=False: these objects hold no reference cycles, so the garbage collector may skip them.
class Vehicle(msgspec.Struct, gc=False):
    Volume: int | None = None


class Lane(msgspec.Struct, gc=False):
    LaneID: int
    Speed: float | None = None
    Occupancy: float | None = None
    Vehicles: list[Vehicle] = []


class LinkFlow(msgspec.Struct, gc=False):
    LinkID: str | None = None
    Lanes: list[Lane] = []


class VDLive(msgspec.Struct, gc=False):
    VDID: str
    DataCollectTime: datetime  # RFC 3339, decoded in C
    Status: int = 0
    LinkFlows: list[LinkFlow] = []
    SubAuthorityCode: str | None = None


class VDLiveLenient(VDLive, gc=False):
    """For publishers whose time is not RFC 3339 (e.g. a space for the 'T'): the slow path."""

    DataCollectTime: str


class VDLiveEnvelope(msgspec.Struct):
    VDLives: list[VDLive]


class VDLiveLenientEnvelope(msgspec.Struct):
    VDLives: list[VDLiveLenient]


_STRICT = (msgspec.json.Decoder(VDLive), msgspec.json.Decoder(VDLiveEnvelope), msgspec.json.Decoder(list[VDLive]))
_LENIENT = (msgspec.json.Decoder(VDLiveLenient), msgspec.json.Decoder(VDLiveLenientEnvelope),
            msgspec.json.Decoder(list[VDLiveLenient]))


def _vdlive_record(vd: VDLive) -> dict:
    """One detector's reading, from its lanes. TDX marks an invalid value with a negative
    number: that is no value (a lane's volume is the sum of its valid vehicle-class volumes)."""
    lanes = counted = total = speed_n = occ_n = 0
    weighted = speed_sum = occ_sum = 0.0
    for link in vd.LinkFlows:
        for lane in link.Lanes:
            lanes += 1
            volume = None
            for vehicle in lane.Vehicles:
                v = vehicle.Volume
                if v is not None and v >= 0:
                    volume = v if volume is None else volume + v
            if volume is not None:
                total += volume
                counted += 1
            speed = lane.Speed
            if speed is not None and speed >= 0:
                speed_sum += speed
                speed_n += 1
                if volume:
                    weighted += speed * volume
            occ = lane.Occupancy
            if occ is not None and occ >= 0:
                occ_sum += occ
                occ_n += 1
    # Mean speed weighted by volume (what a driver experiences); plain mean when nothing passed.
    if total and weighted:
        speed = weighted / total
    else:
        speed = speed_sum / speed_n if speed_n else None
    when = vd.DataCollectTime
    if isinstance(when, str):
        when = parse_time(when, field="DataCollectTime")
    elif when.tzinfo is None:
        when = when.replace(tzinfo=TAIPEI)  # Taiwan's feeds mean Taiwan time
    return {
        "vd_id": vd.VDID,
        "time": when,
        "status": vd.Status,
        "speed_kmh": None if speed is None else round(speed, 2),
        "volume": total if counted else None,
        "occupancy_pct": round(occ_sum / occ_n, 2) if occ_n else None,
        "lanes": lanes,
    }


def _decode(body: bytes, decoders):
    head = body.lstrip()[:1]
    if head == b"[":
        return decoders[2].decode(body)
    if b'"VDLives"' in body:
        return decoders[1].decode(body).VDLives
    return [decoders[0].decode(body)]


def parse_vdlive(payload: bytes) -> list[dict]:
    body = strip_bom(payload)
    try:
        try:
            items = _decode(body, _STRICT)
        except msgspec.ValidationError as exc:
            if "DataCollectTime" not in str(exc):
                raise
            items = _decode(body, _LENIENT)
    except msgspec.ValidationError as exc:
        raise FeedError("validate", f"not a TDX VDLive: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise FeedError("decode", "JSON nested too deeply") from None
    return [_vdlive_record(vd) for vd in items]


def check_vdlive(rec: dict) -> None:
    if not 0 < len(rec["vd_id"]) <= 80:
        raise FeedError("validate", "VDID must be 1-80 characters")
    check_time(rec["time"], field="DataCollectTime")
    speed = rec["speed_kmh"]
    if speed is not None and not 0 <= speed <= 250:
        check_range(speed, 0, 250, field="speed_kmh")  # raises with the reason (NaN included)
    occupancy = rec["occupancy_pct"]
    if occupancy is not None and not 0 <= occupancy <= 100:
        check_range(occupancy, 0, 100, field="occupancy_pct")
    if rec["lanes"] > 64:
        raise FeedError("validate", "more than 64 lanes")


def vdlive_rows(rec: dict, received_at: datetime):
    return (("vd_reading", (rec["time"], rec["vd_id"], rec["speed_kmh"], rec["volume"], rec["occupancy_pct"],
                            rec["status"])),)


def parse_vd_sites(payload: bytes) -> list[dict]:
    doc = decode_json(payload)
    items = doc.get("VDs") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and items is None and "VDID" in doc:
        items = [doc]
    if not isinstance(items, list):
        raise FeedError("validate", "expected {'VDs': [...]}, a list of VDs or one VD")
    out = []
    for i, vd in enumerate(items):
        if not isinstance(vd, dict) or not isinstance(vd.get("VDID"), str):
            raise FeedError("validate", f"VDs[{i}]: VDID missing")
        lon, lat = vd.get("PositionLon"), vd.get("PositionLat")
        for name, v in (("PositionLon", lon), ("PositionLat", lat)):
            if v is not None and not isinstance(v, (int, float)):
                raise FeedError("validate", f"VDs[{i}].{name}: not a number")
        section = vd.get("RoadSection") or {}
        links = vd.get("DetectionLinks") or []
        if not isinstance(section, dict) or not isinstance(links, list) or \
                not all(isinstance(link, dict) for link in links):
            raise FeedError("validate", f"VDs[{i}]: RoadSection must be an object, DetectionLinks a list of objects")
        texts = {"Name": vd.get("Name"), "RoadName": vd.get("RoadName"), "SubAuthorityCode": vd.get("SubAuthorityCode"),
                 "RoadSection.Start": section.get("Start"), "RoadSection.End": section.get("End")}
        for name, v in texts.items():
            if v is not None and not isinstance(v, str):
                raise FeedError("validate", f"VDs[{i}].{name}: not a string")
        try:
            lanes = sum(int(link.get("LaneNum") or 0) for link in links)
        except (TypeError, ValueError, OverflowError):
            raise FeedError("validate", f"VDs[{i}].DetectionLinks: LaneNum is not a whole number") from None
        out.append({
            "vd_id": vd["VDID"],
            "name": vd.get("Name") or vd.get("RoadName"),
            "road": vd.get("RoadName"),
            "section": " - ".join(s for s in (section.get("Start"), section.get("End")) if s) or None,
            "lon": lon,
            "lat": lat,
            "lanes": lanes,
            "authority": vd.get("SubAuthorityCode"),
        })
    return out


def check_vd_site(rec: dict) -> None:
    check_lonlat(rec["lon"], rec["lat"])


def vd_site_rows(rec: dict, received_at: datetime):
    # A site list has no time of its own: the time it was received orders updates of a site.
    yield "vd_site", (rec["vd_id"], rec["name"], rec["road"], rec["section"], rec["lon"],
                      rec["lat"], rec["lanes"], received_at)


VD_READING = Table("vd_reading", ("time", "vd_id", "speed_kmh", "volume", "occupancy_pct", "status"),
                   key=("vd_id", "time"))
VD_SITE = Table("vd_site", ("vd_id", "name", "road", "section", "lon", "lat", "lanes", "time"),
                key=("vd_id",), mode="latest")

VDLIVE = Feed(
    name="tdx-vdlive",
    description="Vehicle detector readings (TDX VDLive): speed, volume, occupancy per detector",
    format="json",
    parse=parse_vdlive,
    check=check_vdlive,
    to_rows=vdlive_rows,
    cadence=timedelta(minutes=2),
    topics=("ioc/v1/traffic/vd/+",),
    tables=(VD_READING,),
    schema="tdx-vdlive.schema.json",
)

VD_SITES = Feed(
    name="tdx-vd",
    description="Vehicle detector sites (TDX VD): id, position, road",
    format="json",
    parse=parse_vd_sites,
    check=check_vd_site,
    to_rows=vd_site_rows,
    cadence=timedelta(days=1),
    topics=("ioc/v1/traffic/vd-sites",),
    tables=(VD_SITE,),
    schema="tdx-vd.schema.json",
)
