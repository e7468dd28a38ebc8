"""Staffing: the seats of each level and who is short (pure rules and the shipped plan)."""

from __future__ import annotations

import pytest

from ioc.ops.levels import LEVELS, LEVEL_RANK
from ioc.ops.staffing import StaffingError, check_plan, required_seats, status, totals


def test_the_shipped_plan_is_valid_and_grows_with_the_level():
    seats = {level: sum(required_seats(level).values()) for level in LEVELS}
    assert seats["normal"] >= 1
    ordered = sorted(LEVELS, key=LEVEL_RANK.get)
    assert [seats[level] for level in ordered] == sorted(seats.values())
    assert set(required_seats("level3")) <= set(required_seats("level1"))


@pytest.mark.parametrize("plan, message", [
    ({}, "levels"),
    ({"levels": {"level9": {"fire": 1}}}, "unknown level"),
    ({"levels": {"level3": {"nobody": 1}}}, "unknown agency"),
    ({"levels": {"level3": {"fire": -1}}}, "whole number"),
    ({"levels": {"level3": {"fire": 1.5}}}, "whole number"),
])
def test_a_bad_plan_is_refused(plan, message):
    with pytest.raises(StaffingError, match=message):
        check_plan(plan)


def test_shortfall_per_agency_and_in_total():
    plan = {"levels": {"level2": {"fire": 2, "water": 1, "social": 0}}}
    required = required_seats("level2", plan)
    assert required == {"fire": 2, "water": 1}  # an agency with no seat is left out
    rows = status(required, {"fire": ["甲"], "police": ["乙"]})
    by = {r["agency"]: r for r in rows}
    assert by["fire"] == {"agency": "fire", "required": 2, "present": 1, "people": ["甲"], "missing": 1}
    assert by["water"]["missing"] == 1 and by["police"]["missing"] == 0  # present without a seat: not short
    assert [r["agency"] for r in rows][:2] == ["fire", "water"]  # short first
    assert totals(rows) == {"required": 3, "filled": 1, "missing": 2, "agencies_short": 2}


def test_extra_people_do_not_fill_another_agencys_seat():
    rows = status({"fire": 1, "water": 1}, {"fire": ["a", "b", "c"]})
    assert totals(rows)["filled"] == 1 and totals(rows)["missing"] == 1
