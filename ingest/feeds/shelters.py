"""Evacuation shelters 避難收容處所: the NFA list as a layer (`shelters`) and live occupancy
updates (`shelter-status`).

Two feeds, not one, because they are two formats on two rhythms: the list is the National
Fire Agency's CSV (避難收容處所點位檔案 v9, revised a few times a year), the updates are our own
JSON messages on `ioc/v1/disaster/shelters/<shelter_id>` during an activation. Both name a
shelter by the list's 序號 (as a string).

The list parser reads any NFA v9 CSV, not only Taichung's rows: UTF-8 with or without a BOM,
or Big5 (cp950) as Taiwan's portals often publish. The columns 管理人姓名 / 管理人電話 of the
national file are personal data: read past, never kept.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from ._common import check_lonlat, check_time, iso, strip_bom
from ._geo_lookup import district_code_by_name
from .base import Feed, FeedError, Table

# --- the NFA list (CSV) ------------------------------------------------------------------------

REQUIRED_COLUMNS = ("序號", "縣市及鄉鎮市區", "村里", "避難收容處所地址", "經度", "緯度",
                    "避難收容處所名稱", "預計收容村里", "預計收容人數", "適用災害類別",
                    "室內", "室外", "適合避難弱者安置")
OPTIONAL_COLUMNS = ("coord_check",)  # added by our Taichung extract (see geo/data/PROVENANCE.md)
YES_NO = {"是": True, "否": False, "": None}
MAX_ID = 40


def _decode_csv_text(payload: bytes) -> str:
    body = strip_bom(payload)
    if b"\x00" in body:
        raise FeedError("decode", "CSV contains NUL bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp950")
    except UnicodeDecodeError:
        raise FeedError("decode", "CSV is neither UTF-8 nor Big5 (cp950) text") from None


def _coordinate(text: str, *, field: str, limit: float, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FeedError("validate", f"{where}: {field} {text[:30]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise FeedError("validate", f"{where}: {field} {text[:30]!r} is not a coordinate")
    return value


def _capacity(text: str, *, where: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise FeedError("validate", f"{where}: 預計收容人數 {text[:30]!r} is not a whole number")
    return int(text)


def _yes_no(text: str, *, field: str, where: str) -> bool | None:
    try:
        return YES_NO[text.strip()]
    except KeyError:
        raise FeedError("validate", f"{where}: {field} must be 是 or 否, got {text[:20]!r}") from None


def _disaster_types(text: str) -> list[str]:
    for sep in ("、", "，", ";"):
        text = text.replace(sep, ",")
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_shelter_list(payload: bytes) -> list[dict]:
    text = _decode_csv_text(payload)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise FeedError("validate", "empty file: expected an NFA shelter CSV")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise FeedError("validate", f"not an NFA shelter list: missing columns {', '.join(missing)}")
        if len(set(header)) != len(header):
            raise FeedError("validate", "repeated column names in the header")
        index = {name: header.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
                 if name in header}
        out, seen = [], set()
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line, e.g. at the end of the file
            where = f"line {reader.line_num}"
            if len(row) != len(header):
                raise FeedError("validate", f"{where}: {len(row)} fields, header has {len(header)}")
            out.append(_shelter_record(row, index, where, seen))
    except csv.Error as exc:
        raise FeedError("decode", f"not valid CSV: {exc}") from None
    return out


def _shelter_record(row: list[str], index: dict, where: str, seen: set) -> dict:
    def cell(name: str) -> str:
        return row[index[name]] if name in index else ""

    shelter_id = cell("序號").strip()
    if not shelter_id or len(shelter_id) > MAX_ID:
        raise FeedError("validate", f"{where}: 序號 must be 1-{MAX_ID} characters")
    if shelter_id in seen:
        raise FeedError("validate", f"{where}: 序號 {shelter_id} appears twice")
    seen.add(shelter_id)
    where = f"{where} (序號 {shelter_id})"
    name = cell("避難收容處所名稱").strip()
    if not name:
        raise FeedError("validate", f"{where}: 避難收容處所名稱 is empty")
    county_district = cell("縣市及鄉鎮市區").strip()
    return {
        "shelter_id": shelter_id,
        "name": name,
        "address": cell("避難收容處所地址").strip() or None,
        "county_district": county_district or None,
        "district": district_code_by_name(county_district),
        "village": cell("村里").strip() or None,
        "lon": _coordinate(cell("經度"), field="經度", limit=180, where=where),
        "lat": _coordinate(cell("緯度"), field="緯度", limit=90, where=where),
        "capacity": _capacity(cell("預計收容人數"), where=where),
        "served_villages": cell("預計收容村里").strip() or None,
        "disaster_types": _disaster_types(cell("適用災害類別")),
        "indoor": _yes_no(cell("室內"), field="室內", where=where),
        "outdoor": _yes_no(cell("室外"), field="室外", where=where),
        "vulnerable_ok": _yes_no(cell("適合避難弱者安置"), field="適合避難弱者安置", where=where),
        "coord_check": cell("coord_check").strip() or None,
    }


def check_shelter(rec: dict) -> None:
    check_lonlat(rec["lon"], rec["lat"])
    if rec["capacity"] is not None and rec["capacity"] > 200_000:
        raise FeedError("validate", f"capacity {rec['capacity']} is implausible for one shelter")
    if len(rec["name"]) > 200 or len(rec["address"] or "") > 300:
        raise FeedError("validate", "name or address too long")


def shelter_rows(rec: dict, received_at: datetime):
    # The list has no time of its own: the time it was received orders versions of a shelter.
    yield "shelter", (rec["shelter_id"], rec["name"], rec["address"], rec["county_district"],
                      rec["district"], rec["village"], rec["lon"], rec["lat"], rec["capacity"],
                      rec["served_villages"], rec["disaster_types"], rec["indoor"], rec["outdoor"],
                      rec["vulnerable_ok"], rec["coord_check"], received_at)


# --- occupancy updates (JSON messages) ---------------------------------------------------------

Time = Annotated[datetime, msgspec.Meta(tz=True)]


class ShelterStatus(msgspec.Struct, forbid_unknown_fields=True):
    shelter_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_.:-]{1,40}$")]
    time: Time
    # A number, as JSON Schema's "integer" means it: 12 and 12.0 alike; 12.5 is refused below.
    occupancy: Annotated[float, msgspec.Meta(ge=0, le=100_000)]
    status: Literal["open", "closed", "full"]


_status_decoder = msgspec.json.Decoder(ShelterStatus | list[ShelterStatus])


def parse_shelter_status(payload: bytes) -> list[dict]:
    try:
        decoded = _status_decoder.decode(strip_bom(payload))
    except msgspec.ValidationError as exc:
        raise FeedError("validate", f"not a shelter status update: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    out = []
    for i, item in enumerate(items):
        if not float(item.occupancy).is_integer():
            raise FeedError("validate", f"[{i}] shelter {item.shelter_id}: occupancy {item.occupancy} "
                                        "is not a whole number of people")
        item.occupancy = int(item.occupancy)
        if item.status == "closed" and item.occupancy != 0:
            raise FeedError("validate", f"[{i}] shelter {item.shelter_id}: closed but occupancy "
                                        f"{item.occupancy} (a closed shelter holds nobody)")
        out.append({"shelter_id": item.shelter_id, "time": iso(item.time),
                    "occupancy": item.occupancy, "status": item.status})
    return out


def check_shelter_status(rec: dict) -> None:
    check_time(datetime.fromisoformat(rec["time"]))


def shelter_status_rows(rec: dict, received_at: datetime):
    values = (datetime.fromisoformat(rec["time"]), rec["shelter_id"], rec["occupancy"], rec["status"])
    yield "shelter_status", values
    yield "shelter_status_current", values


SHELTER = Table("shelter", ("shelter_id", "name", "address", "county_district", "district",
                            "village", "lon", "lat", "capacity", "served_villages",
                            "disaster_types", "indoor", "outdoor", "vulnerable_ok", "coord_check",
                            "time"),
                key=("shelter_id",), mode="latest")
STATUS_COLUMNS = ("time", "shelter_id", "occupancy", "status")
SHELTER_STATUS = Table("shelter_status", STATUS_COLUMNS, key=("shelter_id", "time"))
SHELTER_STATUS_CURRENT = Table("shelter_status_current", STATUS_COLUMNS, key=("shelter_id",),
                               mode="latest")

SHELTERS = Feed(
    name="shelters",
    description="避難收容處所 Evacuation shelters: the NFA list (避難收容處所點位檔案 v9 CSV, any county; "
                "UTF-8 or Big5) as a map layer with capacity, disaster types and suitability. "
                "Expected to change rarely: stale after 30 days.",
    format="csv",
    parse=parse_shelter_list,
    check=check_shelter,
    to_rows=shelter_rows,
    cadence=timedelta(days=30),
    topics=("ioc/v1/disaster/shelter-list",),
    tables=(SHELTER,),
    schema="shelters.schema.json",
)

SHELTER_STATUS_FEED = Feed(
    name="shelter-status",
    description="避難收容處所開設狀態 Shelter occupancy and state (open/closed/full), our own JSON "
                "message per shelter on ioc/v1/disaster/shelters/<序號>; during an activation each "
                "open shelter reports at least hourly: stale after 1 hour.",
    format="json",
    parse=parse_shelter_status,
    check=check_shelter_status,
    to_rows=shelter_status_rows,
    cadence=timedelta(hours=1),
    topics=("ioc/v1/disaster/shelters/+",),
    tables=(SHELTER_STATUS, SHELTER_STATUS_CURRENT),
    schema="shelter-status.schema.json",
)
