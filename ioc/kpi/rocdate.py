"""Years and dates as Taiwan writes them: Gregorian (2015, 2015-06-30) or ROC / Minguo
(roc104, 民國104年, 104/06/30). ROC year + 1911 = Gregorian year.

Every parser raises `ValueError` with a message fit to show a user; callers wrap it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

ROC_OFFSET = 1911
TAIPEI = ZoneInfo("Asia/Taipei")

# roc104, ROC 104, roc-104, 民國104, 民國104年, 民國 104 年
_ROC_YEAR = re.compile(r"^(?:roc|民國)[\s\-_]*(\d{1,3})\s*年?$", re.IGNORECASE)
_GREGORIAN_YEAR = re.compile(r"^\d{4}$")
# 104/06/30, 104-6-30, 104.06.30, roc104-06-30, 民國104年6月30日
_ROC_DATE = re.compile(
    r"^(?:(?:roc|民國)[\s\-_]*)?(\d{2,3})\s*[/\-.年]\s*(\d{1,2})\s*[/\-.月]\s*(\d{1,2})\s*日?$",
    re.IGNORECASE,
)
# 2015-06-30, 2015-6-30, 2015/06/30
_GREGORIAN_DATE = re.compile(r"^(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})$")

# The plan's years; a Gregorian year outside this window is a typo, not a plan year.
MIN_YEAR, MAX_YEAR = 1912, 2200


def roc_to_gregorian(roc_year: int) -> int:
    return roc_year + ROC_OFFSET


def gregorian_to_roc(year: int) -> int:
    return year - ROC_OFFSET


def parse_year(value) -> int:
    """A Gregorian year from 2015, "2015", "roc104", "ROC 104" or "民國104年"."""
    if isinstance(value, bool):
        raise ValueError(f"year: expected a year such as 2015 or roc104, got {value!r}")
    if isinstance(value, int):
        year = value
    elif isinstance(value, str):
        text = value.strip()
        roc = _ROC_YEAR.match(text)
        if roc:
            number = int(roc.group(1))
            if number < 1:
                raise ValueError(f"year: ROC year must be 1 or later, got {value!r}")
            return roc_to_gregorian(number)
        if text.isdigit() and len(text) <= 3:
            raise ValueError(f"year: {text} is not a Gregorian year (did you mean roc{int(text)}?)")
        if not _GREGORIAN_YEAR.match(text):
            raise ValueError(
                f"year: {value!r} is not a year; give the Gregorian year (2015) "
                f"or the ROC year with its prefix (roc104)"
            )
        year = int(text)
    else:
        raise ValueError(f"year: expected a year such as 2015 or roc104, got {type(value).__name__}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        hint = f" (did you mean roc{year}?)" if 0 < year < MIN_YEAR else ""
        raise ValueError(f"year: {year} is not a plausible Gregorian year{hint}")
    return year


def parse_date(value) -> date:
    """A calendar date from an ISO date (2015-06-30), an ISO time with offset (taken in Taiwan
    time, the plan's clock) or an ROC date (104/06/30, 民國104年6月30日)."""
    if isinstance(value, datetime):
        return _taipei_date(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise ValueError(f"expected a date string such as 2015-06-30, got {shown}")
    text = value.strip()
    shown = text[:40]
    gregorian = _GREGORIAN_DATE.match(text)
    if gregorian:
        try:
            return date(*(int(g) for g in gregorian.groups()))
        except ValueError:
            raise ValueError(f"{shown!r} is not a real date") from None
    roc = _ROC_DATE.match(text)
    if roc:
        year, month, day = (int(g) for g in roc.groups())
        try:
            return date(roc_to_gregorian(year), month, day)
        except ValueError:
            raise ValueError(f"{shown!r} is not a real date (ROC year {year})") from None
    if "T" in text or " " in text:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return _taipei_date(moment)
    raise ValueError(f"{shown!r} is not a date; use YYYY-MM-DD (or an ROC date such as 104/06/30)")


def parse_datetime(value) -> datetime:
    """An aware datetime from an ISO 8601 string; one without an offset is Taiwan time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from None
    else:
        raise ValueError(f"expected an ISO 8601 time string, got {type(value).__name__}")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"{moment.isoformat()[:40]} is not a plausible time (year {moment.year})")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TAIPEI)


def today_in_taipei() -> date:
    return datetime.now(TAIPEI).date()


def _taipei_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(TAIPEI).date()
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is out of the calendar's range") from None
