"""Traffic CCTV sites (`tdx-cctv`): where the cameras are and where their pictures are.

Two publishers, one layer:
* TDX (formerly PTX) `CCTV` lists: the envelope `{"CCTVs": [...]}`, a bare list, or one CCTV
  object (CCTVID, PositionLon/PositionLat, VideoStreamURL, RoadName, RoadDirection, ...);
* the Taichung City CCTV list CSV (`cctvid,roadsection,px,py,url,status`), as in
  `geo/data/poi/taichung_cctv_2023-11.csv`.
The format is told by the first byte: `{` or `[` is TDX JSON, anything else is the CSV.
Only http(s) links are accepted: the wall shows them as links.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta

from . import _common
from ._common import check_lonlat, strip_bom
from .base import Feed, FeedError, Table

TAICHUNG_COLUMNS = ("cctvid", "roadsection", "px", "py", "url", "status")
MAX_ID = 80


def _decode_json(payload: bytes):
    """`_common.decode_json`, also refusing JSON nested deeper than msgspec can follow."""
    try:
        return _common.decode_json(payload)
    except RecursionError:
        raise FeedError("decode", "JSON nested too deeply") from None


def _text(value, *, field: str, where: str, limit: int = 300) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FeedError("validate", f"{where}.{field}: expected text, got {type(value).__name__}")
    value = value.strip()
    if "\x00" in value:
        raise FeedError("validate", f"{where}.{field}: contains NUL")
    if len(value) > limit:
        raise FeedError("validate", f"{where}.{field}: longer than {limit} characters")
    return value or None


def _url(value, *, field: str, where: str) -> str | None:
    url = _text(value, field=field, where=where, limit=2000)
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise FeedError("validate", f"{where}.{field}: not an http(s) URL: {url[:40]!r}")
    return url


def _coordinate(value, *, field: str, where: str, limit: float) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise FeedError("validate", f"{where}.{field}: {value[:30]!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FeedError("validate", f"{where}.{field}: not a number")
    if not math.isfinite(value) or abs(value) > limit:
        raise FeedError("validate", f"{where}.{field}: {value} is not a coordinate")
    return float(value)


def _cctv_id(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_ID:
        raise FeedError("validate", f"{where}: CCTVID must be text of 1-{MAX_ID} characters")
    return _text(value, field="CCTVID", where=where)


def _from_tdx(doc) -> list[dict]:
    authority = None
    if isinstance(doc, dict) and "CCTVs" in doc:
        authority = doc.get("AuthorityCode")
        items = doc["CCTVs"]
    elif isinstance(doc, dict) and "CCTVID" in doc:
        items = [doc]
    else:
        items = doc
    if not isinstance(items, list):
        raise FeedError("validate", "expected {'CCTVs': [...]}, a list of CCTVs or one CCTV")
    out, seen = [], set()
    for i, cctv in enumerate(items):
        where = f"CCTVs[{i}]"
        if not isinstance(cctv, dict):
            raise FeedError("validate", f"{where}: not an object")
        cctv_id = _cctv_id(cctv.get("CCTVID"), where)
        if cctv_id in seen:
            raise FeedError("validate", f"{where}: CCTVID {cctv_id} appears twice")
        seen.add(cctv_id)
        section = cctv.get("RoadSection")
        if section is not None and not isinstance(section, dict):
            raise FeedError("validate", f"{where}.RoadSection: not an object")
        section = section or {}
        start = _text(section.get("Start"), field="RoadSection.Start", where=where)
        end = _text(section.get("End"), field="RoadSection.End", where=where)
        road = _text(cctv.get("RoadName"), field="RoadName", where=where)
        mile = _text(cctv.get("LocationMile"), field="LocationMile", where=where)
        name = _text(cctv.get("CCTVName"), field="CCTVName", where=where)
        out.append({
            "cctv_id": cctv_id,
            "name": name or " ".join(p for p in (road, mile) if p) or None,
            "road": road,
            "direction": _text(cctv.get("RoadDirection"), field="RoadDirection", where=where, limit=10),
            "section": " - ".join(p for p in (start, end) if p) or None,
            "lon": _coordinate(cctv.get("PositionLon"), field="PositionLon", where=where, limit=180),
            "lat": _coordinate(cctv.get("PositionLat"), field="PositionLat", where=where, limit=90),
            "video_url": _url(cctv.get("VideoStreamURL"), field="VideoStreamURL", where=where),
            "status": None,
            "authority": _text(cctv.get("SubAuthorityCode") or authority, field="SubAuthorityCode",
                               where=where, limit=40),
            "source": "tdx",
        })
    return out


def _from_taichung_csv(body: bytes) -> list[dict]:
    if b"\x00" in body:
        raise FeedError("decode", "CSV contains NUL bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedError("decode", "neither TDX JSON nor a UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if header[:len(TAICHUNG_COLUMNS)] != list(TAICHUNG_COLUMNS):
            raise FeedError("validate", "expected TDX JSON or the Taichung CCTV CSV with columns "
                                        + ",".join(TAICHUNG_COLUMNS))
        out, seen = [], set()
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = f"line {reader.line_num}"
            if len(row) != len(header):
                raise FeedError("validate", f"{where}: {len(row)} fields, header has {len(header)}")
            cctv_id = _cctv_id(row[0], where)
            if cctv_id in seen:
                raise FeedError("validate", f"{where}: cctvid {cctv_id} appears twice")
            seen.add(cctv_id)
            status = row[5].strip()
            if status and not (status.isascii() and status.lstrip("-").isdigit()):
                raise FeedError("validate", f"{where}: status {status[:20]!r} is not a whole number")
            out.append({
                "cctv_id": cctv_id,
                "name": _text(row[1], field="roadsection", where=where),
                "road": None,
                "direction": None,
                "section": None,
                "lon": _coordinate(row[2], field="px", where=where, limit=180),
                "lat": _coordinate(row[3], field="py", where=where, limit=90),
                "video_url": _url(row[4], field="url", where=where),
                "status": int(status) if status else None,
                "authority": None,
                "source": "taichung-csv",
            })
    except csv.Error as exc:
        raise FeedError("decode", f"not valid CSV: {exc}") from None
    return out


def parse_cctv_sites(payload: bytes) -> list[dict]:
    body = strip_bom(payload)
    if body.lstrip()[:1] in (b"{", b"["):
        return _from_tdx(_decode_json(body))
    return _from_taichung_csv(body)


def check_cctv_site(rec: dict) -> None:
    check_lonlat(rec["lon"], rec["lat"])


def cctv_site_rows(rec: dict, received_at: datetime):
    # A site list has no time of its own: the time it was received orders versions of a site.
    yield "cctv_site", (rec["cctv_id"], rec["name"], rec["road"], rec["direction"], rec["section"],
                        rec["lon"], rec["lat"], rec["video_url"], rec["status"], rec["authority"],
                        rec["source"], received_at)


CCTV_SITE = Table("cctv_site", ("cctv_id", "name", "road", "direction", "section", "lon", "lat",
                                "video_url", "status", "authority", "source", "time"),
                  key=("cctv_id",), mode="latest")

CCTV_SITES = Feed(
    name="tdx-cctv",
    description="Traffic CCTV sites 路口監視器: TDX/PTX CCTV lists (JSON) and the Taichung City CCTV "
                "list (CSV cctvid,roadsection,px,py,url,status); position, road, stream link. "
                "Site lists change slowly: stale after 1 day.",
    format="json",
    parse=parse_cctv_sites,
    check=check_cctv_site,
    to_rows=cctv_site_rows,
    cadence=timedelta(days=1),
    topics=("ioc/v1/traffic/cctv-sites",),
    tables=(CCTV_SITE,),
    schema="tdx-cctv.schema.json",
)
