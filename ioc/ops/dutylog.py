"""The duty log (值勤日誌): entries by the officers on duty and a handover note at each shift
change, read back shift by shift together with what happened in that shift (level changes,
task steps, escalations). Shifts are data: schemas/duty_shifts.yaml."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import psycopg
import yaml
from psycopg.rows import dict_row

from schemas import path as schema_path

KINDS = ("entry", "handover")
MAX_TEXT = 4000


class DutyLogError(ValueError):
    pass


@cache
def shift_plan() -> tuple[ZoneInfo, tuple[time, ...]]:
    with open(schema_path("duty_shifts.yaml"), encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    return parse_plan(data)


def parse_plan(data: dict) -> tuple[ZoneInfo, tuple[time, ...]]:
    try:
        zone = ZoneInfo(str(data.get("timezone", "Asia/Taipei")))
        starts = tuple(sorted(time.fromisoformat(str(s)) for s in data["starts"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise DutyLogError(f"duty_shifts.yaml: {exc}") from None
    if not starts or len(set(starts)) != len(starts):
        raise DutyLogError("duty_shifts.yaml: `starts` needs distinct times")
    return zone, starts


def shift_bounds(moment: datetime, zone: ZoneInfo, starts: tuple[time, ...]) -> tuple[datetime, datetime]:
    """The shift containing `moment`: [start, end), aware datetimes. The last shift of a day
    runs past midnight into the first of the next."""
    local = moment.astimezone(zone)
    candidates = []
    for day in (local.date() - timedelta(days=1), local.date(), local.date() + timedelta(days=1)):
        candidates.extend(datetime.combine(day, s, tzinfo=zone) for s in starts)
    candidates.sort()
    start = max(c for c in candidates if c <= local)
    end = min(c for c in candidates if c > local)
    return start, end


def current_shift(moment: datetime) -> tuple[datetime, datetime]:
    zone, starts = shift_plan()
    return shift_bounds(moment, zone, starts)


def previous_shift(start: datetime) -> tuple[datetime, datetime]:
    return current_shift(start - timedelta(seconds=1))


def add_entry(conn: psycopg.Connection, text: str, *, kind: str = "entry", actor: str, role: str | None,
              ip: str | None = None) -> dict:
    from dashboard.auth import audit

    if kind not in KINDS:
        raise DutyLogError(f"kind must be one of {', '.join(KINDS)}")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT or "\x00" in text:
        raise DutyLogError(f"an entry needs 1 to {MAX_TEXT} characters of text")
    with conn.transaction():
        now = conn.execute("SELECT now()").fetchone()[0]
        start, _ = current_shift(now)
        entry_id = conn.execute(
            "INSERT INTO duty_log_entry (time, shift_start, author, role, kind, text) VALUES (%s, %s, %s, %s, %s, %s) "
            "RETURNING id", (now, start, actor, role, kind, text)).fetchone()[0]
        audit.record(conn, actor=actor, role=role, action=f"dutylog.{kind}", target=f"duty_log:{entry_id}", ip=ip,
                     detail=text[:300])
    return {"id": entry_id, "time": now, "shift_start": start, "kind": kind, "text": text, "author": actor}


def shift_log(conn: psycopg.Connection, start: datetime, end: datetime, as_of: datetime | None = None) -> dict:
    """A shift's entries, its handover notes, the handover left by the shift before, and the
    events of its hours (up to `as_of` when the shift is still running)."""
    until = min(end - timedelta(microseconds=1), as_of) if as_of else end - timedelta(microseconds=1)
    with conn.cursor(row_factory=dict_row) as cur:
        entries = cur.execute(
            "SELECT id, time, author, role, kind, text FROM duty_log_entry WHERE shift_start = %s AND time <= %s "
            "ORDER BY time, id", (start, until)).fetchall()
        prev_start, _ = previous_shift(start)
        handed_over = cur.execute(
            "SELECT id, time, author, role, kind, text FROM duty_log_entry WHERE shift_start = %s "
            "AND kind = 'handover' ORDER BY time, id", (prev_start,)).fetchall()
        events = cur.execute(
            """SELECT time, 'level' AS kind, level AS what, set_by AS actor, reason AS note, NULL::bigint AS task_id
                 FROM ops_level_change WHERE time >= %(start)s AND time <= %(until)s
               UNION ALL
               SELECT e.time, 'task.' || e.kind, t.agency || ': ' || t.title, e.actor, e.note, e.task_id
                 FROM task_event e JOIN task t ON t.id = e.task_id
                WHERE e.time >= %(start)s AND e.time <= %(until)s
               ORDER BY 1""", {"start": start, "until": until}).fetchall()
    return {"start": start, "end": end, "entries": entries, "handed_over": handed_over, "events": events}
