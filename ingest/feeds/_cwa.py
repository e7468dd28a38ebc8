"""Shared helpers of the Central Weather Administration (CWA, 中央氣象署) feeds.

CWA serves the same data in several envelopes: the REST "datastore" API
(`{"success": ..., "result": ..., "records": {...}}`), the file API (`{"cwaopendata": {"dataset": ...}}`,
an XML document converted to JSON, so a one-element list may arrive as a bare object) and, for
older files, `{"cwbopendata": ...}`. Values arrive as numbers or as strings ("-998.00"), and
special markers (-99, -998, "T", "X", ...) stand for "missing", "no rain", "trace" or "fault".
Everything that touches those conventions lives here, so each feed module only maps fields.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from functools import cache
from urllib.parse import quote, urlencode

from ._common import decode_json, parse_time
from ._geo_lookup import CITY_NAMES, district_code_at, district_code_by_name, normalise_name
from .base import FeedError

API_BASE = "https://opendata.cwa.gov.tw/api/v1/rest/datastore"
FILE_API_BASE = "https://opendata.cwa.gov.tw/fileapi/v1/opendataapi"
_DATASET_ID = re.compile(r"^[A-Z]-[A-Z0-9]{5}-\d{3}$")  # e.g. O-A0001-001, W-C0034-005


def dataset_url(dataset_id: str, api_key: str, **params) -> str:
    """REST datastore URL of a CWA dataset, JSON format.

    Extra query parameters (StationId=..., limit=...) are passed through; a list or tuple value
    becomes CWA's comma-separated form. The key is the caller's (the poller reads
    `IOC_CWA_API_KEY`); it is part of the URL, so never log the URL.
    """
    if not _DATASET_ID.match(dataset_id or ""):
        raise ValueError(f"not a CWA dataset id: {dataset_id!r}")
    if not api_key:
        raise ValueError("a CWA API key (Authorization) is required")
    query = {"Authorization": api_key, "format": "JSON"}
    for name, value in params.items():
        query[name] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return f"{API_BASE}/{quote(dataset_id)}?{urlencode(query)}"


def file_url(dataset_id: str, api_key: str) -> str:
    """File API URL of a dataset (the `cwaopendata` envelope; typhoon tracks come this way)."""
    if not _DATASET_ID.match(dataset_id or ""):
        raise ValueError(f"not a CWA dataset id: {dataset_id!r}")
    if not api_key:
        raise ValueError("a CWA API key (Authorization) is required")
    return f"{FILE_API_BASE}/{quote(dataset_id)}?{urlencode({'Authorization': api_key, 'format': 'JSON'})}"


# ---------------------------------------------------------------------------------------------
# Special values (特殊值).  The one place that says what each CWA marker means.
#
# Sources:
#  * CWA observation legend, as shown with CWA's station observations (現在天氣觀測/自動雨量站):
#    "X：表示儀器故障  T：表示雨跡  -99：表示缺值或資料異常  -98：表示連續 6 小時無降水";
#    wind direction 990 = 風向不定 (variable).  The current JSON (O-A0001-001, O-A0002-001,
#    O-A0003-001) uses -99 / -98 / -990; legacy `cwbopendata` files (O-A0002-001 before 2023)
#    write the same codes three digits wide as strings: "-999.00", "-998.00".  The recorded
#    legacy rain file (tests/fixtures/cwa) shows -998 exactly in the windows of 6 h or less
#    (MIN_10, RAIN, HOUR_3, HOUR_6) of every dry station while HOUR_12/HOUR_24 read 0.00:
#    "no rain for 6 hours", i.e. zero, not missing.
#  * CWA climate data bank special values (dbar.pccu.edu.tw FAQ, CWA 觀測資料特殊值):
#    -9991 儀器故障待修, -9996 資料累計於後, -9997 因不明原因或故障而無資料,
#    -9998 雨跡 (Trace), -9999 未觀測而無資料.
#  * -990 appears in O-A0003-001 `Now.Precipitation` (e.g. 基隆 466940, 2025-03-09 13:50) and is
#    not explained in any CWA text we found: it is treated as missing, never as a reading.
#
# Meaning -> what we store: a zero (it did not rain / a trace too small to measure), or null.
# The record keeps the meaning as a flag next to the value, so "0 because dry" and "null because
# the gauge is broken" stay distinguishable.
# ---------------------------------------------------------------------------------------------

NO_RAIN_6H = "no_rain_6h"  # 連續 6 小時無降水 -> 0
TRACE = "trace"  # 雨跡, less than the gauge resolution -> 0
MISSING = "missing"  # 缺值或資料異常 -> null
FAULT = "fault"  # 儀器故障 -> null
NOT_OBSERVED = "not_observed"  # 未觀測而無資料 -> null
ACCUMULATED_LATER = "accumulated_later"  # 資料累計於後 -> null (the amount shows up later)
VARIABLE = "variable"  # 風向不定 -> null direction
OUT_OF_RANGE = "out_of_range"  # a number no instrument can report (an undocumented marker) -> null

FLAG_MEANINGS = {
    NO_RAIN_6H: ("連續 6 小時無降水", "no precipitation for 6 consecutive hours", 0.0),
    TRACE: ("雨跡", "trace of precipitation (below gauge resolution)", 0.0),
    MISSING: ("缺值或資料異常", "missing or abnormal", None),
    FAULT: ("儀器故障", "instrument fault", None),
    NOT_OBSERVED: ("未觀測而無資料", "not observed", None),
    ACCUMULATED_LATER: ("資料累計於後", "accumulated into a later value", None),
    VARIABLE: ("風向不定", "variable wind direction", None),
    OUT_OF_RANGE: ("超出可能範圍", "outside the physically possible range", None),
}

# Markers valid for every quantity.
_COMMON_MARKERS = {
    -99.0: MISSING, -999.0: MISSING, -990.0: MISSING, -9997.0: MISSING,
    -9999.0: NOT_OBSERVED, -9991.0: FAULT, -9996.0: ACCUMULATED_LATER,
}
# Markers that only make sense for precipitation amounts.
_PRECIP_MARKERS = {-98.0: NO_RAIN_6H, -998.0: NO_RAIN_6H, -9998.0: TRACE}
_TEXT_MARKERS = {"T": TRACE, "X": FAULT, "/": MISSING, "": MISSING, "-": MISSING, "--": MISSING}

# Physically possible ranges per kind of quantity: anything else is a marker we do not know.
_RANGES = {
    "precipitation": (0.0, 5000.0), "temperature": (-40.0, 50.0), "humidity": (0.0, 100.0),
    "pressure": (400.0, 1100.0), "wind_speed": (0.0, 120.0), "direction": (0.0, 360.0),
    "sunshine": (0.0, 24.0), "uv": (0.0, 30.0), "elevation": (-100.0, 4500.0),
}


def to_number(raw, *, field: str) -> float:
    """A JSON number or a numeric string, as a finite float; FeedError for anything else."""
    if isinstance(raw, bool) or raw is None:
        raise FeedError("validate", f"{field}: expected a number, got {type(raw).__name__}")
    if not isinstance(raw, (int, float, str)):
        raise FeedError("validate", f"{field}: expected a number, got {type(raw).__name__}")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except ValueError:
        raise FeedError("validate", f"{field}: not a number: {str(raw)[:30]!r}") from None
    except OverflowError:  # an integer with hundreds of digits
        raise FeedError("validate", f"{field}: not a finite number") from None
    if not math.isfinite(value):
        raise FeedError("validate", f"{field}: not a finite number")
    return value


def clean_value(raw, kind: str, *, field: str) -> tuple[float | None, str | None]:
    """A CWA reading as (value, flag): the value to store (a number, 0 or None) and, when the
    raw value was a special marker, what it meant. FeedError when it is neither a number nor a
    known marker."""
    if raw is None:
        return None, MISSING
    if isinstance(raw, str) and raw.strip().upper() in _TEXT_MARKERS:
        flag = _TEXT_MARKERS[raw.strip().upper()]
        if flag == TRACE and kind != "precipitation":
            flag = MISSING  # "T" means trace only for precipitation; elsewhere it is no value
        return FLAG_MEANINGS[flag][2], flag
    value = to_number(raw, field=field)
    flag = _COMMON_MARKERS.get(value)
    if flag is None and kind == "precipitation":
        flag = _PRECIP_MARKERS.get(value)
    if flag is None and kind == "direction" and value == 990.0:
        flag = VARIABLE
    if flag is not None:
        return FLAG_MEANINGS[flag][2], flag
    lo, hi = _RANGES.get(kind, (-math.inf, math.inf))
    if not lo <= value <= hi:
        return None, OUT_OF_RANGE
    return value, None


def clean_text(raw, *, field: str) -> str | None:
    """A text reading ("晴", ">30"); CWA's -99 / "-99" / "X" mean there is none."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw in _COMMON_MARKERS:  # ints compare equal to their float keys, no conversion
            return None
        return str(raw)[:200]
    if not isinstance(raw, str):
        raise FeedError("validate", f"{field}: expected text, got {type(raw).__name__}")
    text = raw.strip()
    if text.upper() in _TEXT_MARKERS or text in ("-99", "-99.0", "-999", "-990"):
        return None
    return text[:200]


def optional_time(raw, *, field: str) -> datetime | None:
    """A time that CWA may replace by "-99" (e.g. the time of a gust that was not measured)."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", "-99", "-999", "X")):
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw in _COMMON_MARKERS:
        return None
    return parse_time(raw, field=field)


# ---------------------------------------------------------------------------------------------
# Shape helpers: clear errors with the path of what was wrong.
# ---------------------------------------------------------------------------------------------

def load(payload: bytes):
    """Decode a payload; a CWA answer with `success: "false"` is refused with its message."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise FeedError("decode", f"expected bytes, got {type(payload).__name__}")
    doc = decode_json(bytes(payload))
    if isinstance(doc, dict) and str(doc.get("success", "true")).lower() == "false":
        message = doc.get("message") or doc.get("result") or "no message"
        raise FeedError("validate", f"CWA answered success=false: {str(message)[:120]}")
    return doc


def as_list(value, *, field: str) -> list:
    """A list, or a single object the XML-to-JSON conversion left unwrapped; null is empty."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise FeedError("validate", f"{field}: expected a list or an object, got {type(value).__name__}")


def obj(value, *, field: str) -> dict:
    if not isinstance(value, dict):
        raise FeedError("validate", f"{field}: expected an object, got {type(value).__name__}")
    return value


def opt_obj(value, *, field: str) -> dict:
    """An optional nested object: null / "" / missing is an empty object."""
    if value is None or value == "":
        return {}
    return obj(value, field=field)


def text(value, *, field: str, required: bool = False, limit: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FeedError("validate", f"{field}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FeedError("validate", f"{field}: expected text, got {type(value).__name__}")
    return str(value).strip()[:limit]


def envelope_items(doc, *, list_key: str, dataset_keys: tuple[str, ...] = ()) -> tuple[list, str | None]:
    """The items of a CWA answer and its dataset id, whatever the envelope.

    Accepts `{"records": {list_key: [...]}}` (REST), `{"cwaopendata": {"dataset": {list_key: ...}}}`
    (file API), a bare list of items, or one item (an object holding the first of
    `dataset_keys`, which say what an item looks like).
    """
    if isinstance(doc, list):
        return doc, None
    if not isinstance(doc, dict):
        raise FeedError("validate", f"expected a CWA document (an object or a list), got {type(doc).__name__}")
    resource = doc.get("result", {}).get("resource_id") if isinstance(doc.get("result"), dict) else None
    # resource_id may carry a title after the id ("E-A0015-001顯著有感地震報告").
    head = resource.strip()[:11] if isinstance(resource, str) else ""
    dataset_id = head if _DATASET_ID.match(head) else None
    if "records" in doc:
        records = obj(doc["records"], field="records")
        if list_key not in records:
            raise FeedError("validate", f"records.{list_key} missing: not the expected CWA dataset")
        return as_list(records[list_key], field=f"records.{list_key}"), dataset_id
    if "cwaopendata" in doc:
        root = obj(doc["cwaopendata"], field="cwaopendata")
        dataset = opt_obj(root.get("dataset"), field="cwaopendata.dataset")
        if list_key not in dataset:
            raise FeedError("validate", f"cwaopendata.dataset.{list_key} missing: not the expected CWA dataset")
        return as_list(dataset[list_key], field=f"cwaopendata.dataset.{list_key}"), dataset_id
    if any(key in doc for key in dataset_keys):
        return [doc], None
    raise FeedError("validate", f"not a CWA answer: no records.{list_key} or cwaopendata.dataset.{list_key}")


# ---------------------------------------------------------------------------------------------
# Station positions and Taichung districts.
# ---------------------------------------------------------------------------------------------

@cache
def _twd67_transformer():
    from pyproj import CRS, Transformer

    # TWD67 (Hayford/aust_SA ellipsoid) with the 3-parameter shift to WGS84 that reproduces
    # CWA's own TWD67/WGS84 station pairs within a few metres (O-A0001-001 lists both).
    twd67 = CRS.from_proj4("+proj=longlat +ellps=aust_SA +towgs84=-752,-358,-179 +no_defs")
    return Transformer.from_crs(twd67, "EPSG:4326", always_xy=True)


def twd67_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Legacy CWB files give TWD67 lon/lat; the wall and every other feed use WGS84."""
    x, y = _twd67_transformer().transform(lon, lat)
    return round(x, 6), round(y, 6)


def wgs84_position(geo: dict, *, field: str) -> tuple[float | None, float | None]:
    """(lon, lat) from `GeoInfo.Coordinates`: the WGS84 entry (the other is TWD67, ~800 m off)."""
    coords = as_list(geo.get("Coordinates"), field=f"{field}.Coordinates")
    found = {}
    for i, entry in enumerate(coords):
        entry = obj(entry, field=f"{field}.Coordinates[{i}]")
        name = str(entry.get("CoordinateName", "")).strip().upper()
        if name in ("WGS84", "TWD67") and name not in found:
            lon = to_number(entry.get("StationLongitude"), field=f"{field}.Coordinates[{i}].StationLongitude")
            lat = to_number(entry.get("StationLatitude"), field=f"{field}.Coordinates[{i}].StationLatitude")
            found[name] = (lon, lat)
    if "WGS84" in found:
        return lonlat(*found["WGS84"], field=f"{field}.Coordinates")
    if "TWD67" in found:  # only the old datum given: shift it rather than mix datums on the map
        return twd67_to_wgs84(*lonlat(*found["TWD67"], field=f"{field}.Coordinates"))
    return None, None


def lonlat(lon: float, lat: float, *, field: str) -> tuple[float, float]:
    """A position that exists on Earth (whether it is plausible is `check`'s business)."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise FeedError("validate", f"{field}: ({lon}, {lat}) is not a longitude/latitude")
    return lon, lat


def is_taichung(county: str | None) -> bool:
    return county is not None and normalise_name(county) in CITY_NAMES


def taichung_district(county: str | None, town: str | None, lon: float | None, lat: float | None) -> str | None:
    """The Taichung district code (TOWNCODE, e.g. 66000050 北區) of a station, or None outside
    Taichung: by the town name CWA gives, else by the station's position."""
    if county is not None and not is_taichung(county):
        return None  # 北區 exists in other cities too: trust the county CWA names
    if county is not None and town:
        code = district_code_by_name(town)
        if code:
            return code
    if lon is None or lat is None:
        return None
    return district_code_at(lon, lat)


# ---------------------------------------------------------------------------------------------
# Live plausibility.
# ---------------------------------------------------------------------------------------------

def check_time_window(dt: datetime, *, max_age: timedelta, field: str, now: datetime | None = None,
                      max_future: timedelta = timedelta(minutes=10)) -> None:
    now = now or datetime.now(timezone.utc)
    if dt > now + max_future:
        raise FeedError("validate", f"{field} {dt.isoformat()} is in the future")
    if dt < now - max_age:
        raise FeedError("validate", f"{field} {dt.isoformat()} is older than {max_age.days} days")


def check_box(lon, lat, box: tuple[float, float, float, float], *, field: str, where: str) -> None:
    if lon is None or lat is None:
        raise FeedError("validate", f"{field}: no position")
    x0, y0, x1, y1 = box
    if not (x0 <= lon <= x1 and y0 <= lat <= y1):
        raise FeedError("validate", f"{field}: ({lon}, {lat}) is outside {where}")
