"""Traffic vehicle detectors in the TDX (formerly PTX) shape: the site list (`tdx-vd`) and
live readings (`tdx-vdlive`).

A live message on `ioc/v1/traffic/vd/<VDID>` is one `VDLive` object; a file or an HTTP answer
is the API envelope `{"VDLives": [...]}` (or a bare list). TDX marks an invalid lane value with
a negative number (-99): that becomes null, never a reading.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from ._common import check_lonlat, check_range, check_time, decode_json, iso, parse_time, strip_bom
from .base import Feed, FeedError, Table


class Vehicle(msgspec.Struct):
    VehicleType: str | None = None
    Volume: int | None = None
    Speed: float | None = None


class Lane(msgspec.Struct):
    LaneID: int
    Speed: float | None = None
    Occupancy: float | None = None
    LaneType: int | None = None
    Vehicles: list[Vehicle] = []


class LinkFlow(msgspec.Struct):
    LinkID: str | None = None
    Lanes: list[Lane] = []


class VDLive(msgspec.Struct):
    VDID: str
    DataCollectTime: str
    Status: int = 0
    LinkFlows: list[LinkFlow] = []
    SubAuthorityCode: str | None = None


class VDLiveEnvelope(msgspec.Struct):
    VDLives: list[VDLive]


_single = msgspec.json.Decoder(VDLive)
_envelope = msgspec.json.Decoder(VDLiveEnvelope)
_many = msgspec.json.Decoder(list[VDLive])


def _valid(x):
    """TDX uses negative numbers for 'no valid value'."""
    return None if x is None or x < 0 else x


def _vdlive_record(vd: VDLive) -> dict:
    lanes = []
    total_volume = 0
    speed_weighted = 0.0
    speed_plain = []
    occupancies = []
    for link in vd.LinkFlows:
        for lane in link.Lanes:
            speed = _valid(lane.Speed)
            occ = _valid(lane.Occupancy)
            volume = None
            if lane.Vehicles:
                vols = [_valid(v.Volume) for v in lane.Vehicles]
                if any(v is not None for v in vols):
                    volume = sum(v for v in vols if v is not None)
            lanes.append({"link_id": link.LinkID, "lane_id": lane.LaneID, "speed_kmh": speed,
                          "occupancy_pct": occ, "volume": volume})
            if speed is not None:
                speed_plain.append(speed)
                if volume:
                    speed_weighted += speed * volume
            if volume is not None:
                total_volume += volume
            if occ is not None:
                occupancies.append(occ)
    # Mean speed weighted by volume (what a driver experiences); plain mean when nothing passed.
    if total_volume and speed_weighted:
        speed = speed_weighted / total_volume
    else:
        speed = sum(speed_plain) / len(speed_plain) if speed_plain else None
    return {
        "vd_id": vd.VDID,
        "time": iso(parse_time(vd.DataCollectTime, field="DataCollectTime")),
        "status": vd.Status,
        "speed_kmh": None if speed is None else round(speed, 2),
        "volume": total_volume if lanes else None,
        "occupancy_pct": round(sum(occupancies) / len(occupancies), 2) if occupancies else None,
        "lanes": lanes,
    }


def parse_vdlive(payload: bytes) -> list[dict]:
    body = strip_bom(payload)
    head = body.lstrip()[:1]
    try:
        if head == b"[":
            items = _many.decode(body)
        elif b'"VDLives"' in body:
            items = _envelope.decode(body).VDLives
        else:
            items = [_single.decode(body)]
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
    check_time(datetime.fromisoformat(rec["time"]), field="DataCollectTime")
    check_range(rec["speed_kmh"], 0, 250, field="speed_kmh")
    check_range(rec["occupancy_pct"], 0, 100, field="occupancy_pct")
    if len(rec["lanes"]) > 64:
        raise FeedError("validate", "more than 64 lanes")


def vdlive_rows(rec: dict, received_at: datetime):
    yield "vd_reading", (datetime.fromisoformat(rec["time"]), rec["vd_id"], rec["speed_kmh"],
                         rec["volume"], rec["occupancy_pct"], rec["status"])


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
        out.append({
            "vd_id": vd["VDID"],
            "name": vd.get("Name") or vd.get("RoadName"),
            "road": vd.get("RoadName"),
            "section": " - ".join(s for s in (section.get("Start"), section.get("End")) if s) or None,
            "lon": lon,
            "lat": lat,
            "lanes": sum(int(link.get("LaneNum") or 0) for link in vd.get("DetectionLinks") or []),
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
