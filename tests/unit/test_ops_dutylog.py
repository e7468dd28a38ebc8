"""Duty shifts: which shift a moment belongs to (time zone, midnight, the shipped plan)."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from ioc.ops.dutylog import DutyLogError, parse_plan, shift_bounds, shift_plan

TPE = ZoneInfo("Asia/Taipei")
PLAN = (TPE, (time(8), time(20)))


def local(*args):
    return datetime(*args, tzinfo=TPE)


@pytest.mark.parametrize("moment, start, end", [
    (local(2025, 9, 24, 9, 0), local(2025, 9, 24, 8), local(2025, 9, 24, 20)),
    (local(2025, 9, 24, 8, 0), local(2025, 9, 24, 8), local(2025, 9, 24, 20)),  # a shift begins at its start
    (local(2025, 9, 24, 19, 59, 59), local(2025, 9, 24, 8), local(2025, 9, 24, 20)),
    (local(2025, 9, 24, 23, 0), local(2025, 9, 24, 20), local(2025, 9, 25, 8)),
    (local(2025, 9, 25, 2, 0), local(2025, 9, 24, 20), local(2025, 9, 25, 8)),  # past midnight: last night's shift
    (local(2025, 12, 31, 21, 0), local(2025, 12, 31, 20), local(2026, 1, 1, 8)),
])
def test_shift_of_a_moment(moment, start, end):
    assert shift_bounds(moment, *PLAN) == (start, end)


def test_utc_moments_are_placed_in_taipei_shifts():
    # 00:30 UTC is 08:30 in Taipei: the day shift.
    start, end = shift_bounds(datetime(2025, 9, 24, 0, 30, tzinfo=timezone.utc), *PLAN)
    assert start == local(2025, 9, 24, 8) and end == local(2025, 9, 24, 20)


def test_three_shifts_and_the_shipped_plan():
    zone, starts = parse_plan({"timezone": "Asia/Taipei", "starts": ["16:00", "00:00", "08:00"]})
    assert starts == (time(0), time(8), time(16))
    assert shift_bounds(local(2025, 1, 1, 17), zone, starts) == (local(2025, 1, 1, 16), local(2025, 1, 2, 0))
    zone, starts = shift_plan()
    assert len(starts) >= 1 and str(zone) == "Asia/Taipei"


@pytest.mark.parametrize("data", [{}, {"starts": []}, {"starts": ["8 o'clock"]}, {"starts": ["08:00", "08:00"]},
                                  {"starts": ["08:00"], "timezone": "Mars/Olympus"}])
def test_a_bad_shift_plan_is_refused(data):
    with pytest.raises(DutyLogError):
        parse_plan(data)
