"""Staffing of the operations center: the seats each agency must fill at each level
(schemas/staffing.yaml, peacetime and disaster) against who has checked in (`staff_checkin`)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import psycopg
import yaml
from psycopg.rows import dict_row

from schemas import path as schema_path

from . import agencies
from .levels import LEVELS

MAX_PERSON = 80


class StaffingError(ValueError):
    pass


@cache
def _data() -> dict:
    with open(schema_path("staffing.yaml"), encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    check_plan(data)
    return data


def check_plan(data: dict) -> None:
    """The staffing plan must name known levels and agencies with whole, non-negative seats."""
    levels = data.get("levels")
    if not isinstance(levels, dict):
        raise StaffingError("staffing.yaml: `levels` must map each level to its seats")
    for level, seats in levels.items():
        if level not in LEVELS:
            raise StaffingError(f"staffing.yaml: unknown level {level!r}")
        for code, n in (seats or {}).items():
            if code not in agencies.agency_codes():
                raise StaffingError(f"staffing.yaml: {level}: unknown agency {code!r}")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise StaffingError(f"staffing.yaml: {level}: {code}: seats must be a whole number >= 0")


def required_seats(level: str, plan: dict | None = None) -> dict[str, int]:
    """Agency code -> seats to fill at `level` (agencies without a seat left out)."""
    levels = (plan or _data())["levels"]
    return {code: n for code, n in (levels.get(level) or {}).items() if n}


def status(required: dict[str, int], present: dict[str, list[str]]) -> list[dict]:
    """Per agency that has a seat or someone present: required, present (names), missing.
    Agencies short of people first."""
    rows = []
    for code in sorted(set(required) | set(present)):
        people = present.get(code, [])
        need = required.get(code, 0)
        rows.append({"agency": code, "required": need, "present": len(people), "people": people,
                     "missing": max(0, need - len(people))})
    return sorted(rows, key=lambda r: (-r["missing"], -r["required"], r["agency"]))


def totals(rows: list[dict]) -> dict:
    required = sum(r["required"] for r in rows)
    filled = sum(min(r["present"], r["required"]) for r in rows)
    return {"required": required, "filled": filled, "missing": sum(r["missing"] for r in rows),
            "agencies_short": sum(1 for r in rows if r["missing"])}


# -- check-in -------------------------------------------------------------------------------------
def present_at(conn: psycopg.Connection, as_of: datetime) -> dict[str, list[dict]]:
    """Agency -> the people checked in at `as_of` (id, person, since)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, agency, person, checked_in_at FROM staff_checkin WHERE checked_in_at <= %(as_of)s "
            "AND (checked_out_at IS NULL OR checked_out_at > %(as_of)s) ORDER BY agency, checked_in_at",
            {"as_of": as_of}).fetchall()
    found: dict[str, list[dict]] = {}
    for r in rows:
        found.setdefault(r["agency"], []).append(r)
    return found


def staffing_at(conn: psycopg.Connection, level: str, as_of: datetime) -> dict:
    present = present_at(conn, as_of)
    rows = status(required_seats(level), {a: [p["person"] for p in people] for a, people in present.items()})
    return {"level": level, "agencies": rows, "totals": totals(rows), "checked_in": present}


def check_in(conn: psycopg.Connection, agency: str, person: str, *, actor: str, role: str | None,
             ip: str | None = None) -> int:
    from dashboard.auth import audit

    if agency not in agencies.agency_codes():
        raise StaffingError(f"unknown agency {agency!r}")
    person = (person or "").strip()
    if not person or len(person) > MAX_PERSON or "\x00" in person:
        raise StaffingError(f"a name of 1 to {MAX_PERSON} characters is required")
    try:
        with conn.transaction():
            checkin_id = conn.execute(
                "INSERT INTO staff_checkin (agency, person, checked_in_by) VALUES (%s, %s, %s) RETURNING id",
                (agency, person, actor)).fetchone()[0]
            audit.record(conn, actor=actor, role=role, action="staff.checkin", target=f"{agency}:{person}",
                         after={"checkin": checkin_id}, ip=ip)
    except psycopg.errors.UniqueViolation:
        raise StaffingError(f"{person} is already checked in for {agency}") from None
    return checkin_id


def check_out(conn: psycopg.Connection, checkin_id: int | None = None, *, actor: str, role: str | None,
              ip: str | None = None, agency: str | None = None, person: str | None = None) -> dict:
    """End a check-in, named by its id (the ops page) or by agency and person (the API)."""
    from dashboard.auth import audit

    with conn.transaction():
        if checkin_id is not None:
            row = conn.execute(
                "UPDATE staff_checkin SET checked_out_at = now(), checked_out_by = %s "
                "WHERE id = %s AND checked_out_at IS NULL RETURNING agency, person", (actor, checkin_id)).fetchone()
        else:
            row = conn.execute(
                "UPDATE staff_checkin SET checked_out_at = now(), checked_out_by = %s "
                "WHERE agency = %s AND lower(person) = lower(%s) AND checked_out_at IS NULL RETURNING agency, person",
                (actor, agency, (person or "").strip())).fetchone()
        if row is None:
            raise StaffingError(f"{person or checkin_id} is not checked in" + (f" for {agency}" if agency else ""))
        audit.record(conn, actor=actor, role=role, action="staff.checkout", target=f"{row[0]}:{row[1]}", ip=ip)
    return {"agency": row[0], "person": row[1]}
