"""Small helpers shared by feed parsers: payload decoding, times, plausibility."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec

from .base import FeedError

TAIPEI = ZoneInfo("Asia/Taipei")
UTF8_BOM = b"\xef\xbb\xbf"

# A generous box around Taiwan and its outlying islands (Kinmen, Matsu, Pratas), lon/lat.
TAIWAN_BBOX = (116.0, 20.5, 123.0, 26.5)
MAX_FUTURE = timedelta(minutes=10)
MAX_AGE = timedelta(days=14)


def strip_bom(payload: bytes) -> bytes:
    return payload[3:] if payload.startswith(UTF8_BOM) else payload


def decode_json(payload: bytes):
    """Any JSON document, as Python objects; FeedError('decode') when it is not JSON."""
    try:
        return msgspec.json.decode(strip_bom(payload))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise FeedError("decode", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise FeedError("decode", "JSON nested too deeply") from None


def parse_time(value, *, field: str = "time") -> datetime:
    """An ISO 8601 time; one without an offset is Taiwan time, as Taiwan's feeds mean it."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FeedError("validate", f"{field}: not an ISO 8601 time: {value[:40]!r}") from None
    else:
        raise FeedError("validate", f"{field}: expected a time string, got {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TAIPEI)
    return dt


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


# The plausible window (newest, oldest allowed) per time zone, recomputed twice a second rather
# than for each of thousands of records a second (half a second is nothing against its ten
# minutes and fourteen days). Kept in the records' own zone: comparing two datetimes of one
# tzinfo is about 20 times cheaper than across zones.
_windows: dict = {}
_windows_until = 0.0


def _plausible_window(tz) -> tuple[datetime, datetime]:
    global _windows, _windows_until
    t = time.monotonic()
    if t >= _windows_until:
        _windows, _windows_until = {}, t + 0.5
    window = _windows.get(tz)
    if window is None:
        now = datetime.now(timezone.utc)
        if tz is not None:
            now = now.astimezone(tz)
        window = _windows[tz] = (now + MAX_FUTURE, now - MAX_AGE)
    return window


def check_time(dt: datetime, *, now: datetime | None = None, field: str = "time") -> None:
    newest, oldest = _plausible_window(dt.tzinfo) if now is None else (now + MAX_FUTURE, now - MAX_AGE)
    if dt > newest:
        raise FeedError("validate", f"{field} {dt.isoformat()} is in the future")
    if dt < oldest:
        raise FeedError("validate", f"{field} {dt.isoformat()} is older than {MAX_AGE.days} days")


def check_lonlat(lon, lat, *, field: str = "position") -> None:
    if lon is None or lat is None:
        return
    if not (isinstance(lon, (int, float)) and isinstance(lat, (int, float))):
        raise FeedError("validate", f"{field}: lon/lat must be numbers")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise FeedError("validate", f"{field}: lon/lat must be finite")
    x0, y0, x1, y1 = TAIWAN_BBOX
    if not (x0 <= lon <= x1 and y0 <= lat <= y1):
        raise FeedError("validate", f"{field}: ({lon}, {lat}) is outside Taiwan")


def check_range(value, lo: float, hi: float, *, field: str) -> None:
    if value is None:
        return
    if not math.isfinite(value) or not (lo <= value <= hi):
        raise FeedError("validate", f"{field} {value} is outside [{lo}, {hi}]")
