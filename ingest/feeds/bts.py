"""Mobile base-station status (`bts`): our own JSON message on `ioc/v1/telecom/bts/<bts_id>`.

The contract is `schemas/messages/bts.schema.json`; `parse` applies the same rules (msgspec
structs below). A message is one station; a file may hold a JSON array of them. Every reading
is kept in the hypertable `bts_status` (key bts_id, time: a replay is stored once) and
`bts_current` holds the latest per station, which the coverage calculation reads: its footprint
is a circle of `radius_m`, or a sector (`azimuth_deg` clockwise from north, `beamwidth_deg`
wide) of that radius.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from ._common import check_lonlat, check_time, iso, strip_bom
from .base import Feed, FeedError, Table

Time = Annotated[datetime, msgspec.Meta(tz=True)]


class Footprint(msgspec.Struct, forbid_unknown_fields=True):
    radius_m: Annotated[float, msgspec.Meta(gt=0, le=50_000)]
    # Left out for a circle, never null: a sector gives both.
    azimuth_deg: Annotated[float, msgspec.Meta(ge=0, lt=360)] | msgspec.UnsetType = msgspec.UNSET
    beamwidth_deg: Annotated[float, msgspec.Meta(gt=0, le=360)] | msgspec.UnsetType = msgspec.UNSET


class Station(msgspec.Struct, forbid_unknown_fields=True):
    bts_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")]
    operator: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[^\u0000]*$")]
    technology: Literal["4G", "5G"]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    footprint: Footprint
    status: Literal["up", "down", "degraded"]
    time: Time


_decoder = msgspec.json.Decoder(Station | list[Station])


def _station_record(st: Station, where: str) -> dict:
    fp = st.footprint
    azimuth = None if fp.azimuth_deg is msgspec.UNSET else fp.azimuth_deg
    beamwidth = None if fp.beamwidth_deg is msgspec.UNSET else fp.beamwidth_deg
    if (azimuth is None) != (beamwidth is None):
        raise FeedError("validate", f"{where} station {st.bts_id}: a sector needs both "
                                    "azimuth_deg and beamwidth_deg (a circle neither)")
    return {
        "bts_id": st.bts_id,
        "operator": st.operator,
        "technology": st.technology,
        "lon": st.lon,
        "lat": st.lat,
        "radius_m": fp.radius_m,
        "azimuth_deg": azimuth,
        "beamwidth_deg": beamwidth,
        "status": st.status,
        "time": iso(st.time),
    }


def parse_bts(payload: bytes) -> list[dict]:
    try:
        decoded = _decoder.decode(strip_bom(payload))
    except msgspec.ValidationError as exc:
        raise FeedError("validate", f"not a base-station status: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    return [_station_record(st, f"[{i}]") for i, st in enumerate(items)]


def check_bts(rec: dict) -> None:
    check_lonlat(rec["lon"], rec["lat"])
    check_time(datetime.fromisoformat(rec["time"]))


def bts_rows(rec: dict, received_at: datetime):
    values = (datetime.fromisoformat(rec["time"]), rec["bts_id"], rec["operator"],
              rec["technology"], rec["lon"], rec["lat"], rec["radius_m"], rec["azimuth_deg"],
              rec["beamwidth_deg"], rec["status"])
    yield "bts_status", values
    yield "bts_current", values


COLUMNS = ("time", "bts_id", "operator", "technology", "lon", "lat", "radius_m", "azimuth_deg",
           "beamwidth_deg", "status")
BTS_STATUS = Table("bts_status", COLUMNS, key=("bts_id", "time"))
BTS_CURRENT = Table("bts_current", COLUMNS, key=("bts_id",), mode="latest")

BTS = Feed(
    name="bts",
    description="行動通信基地臺狀態 Base-station status: operator, 4G/5G, position, footprint "
                "(radius, or sector azimuth + beamwidth) and up/down/degraded; our own JSON message "
                "per station on ioc/v1/telecom/bts/<bts_id>, sent at least every 5 minutes: stale "
                "after 5 minutes.",
    format="json",
    parse=parse_bts,
    check=check_bts,
    to_rows=bts_rows,
    cadence=timedelta(minutes=5),
    topics=("ioc/v1/telecom/bts/+",),
    tables=(BTS_STATUS, BTS_CURRENT),
    schema="bts.schema.json",
)
