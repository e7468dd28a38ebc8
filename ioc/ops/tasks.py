"""Tasks dispatched to agencies: created -> acknowledged -> in_progress -> closed, plus the
`escalated` mark when the acknowledgement deadline passes unanswered.

A task comes from an alert (CAP identifier), an incident (incident id), a point on the map or
nobody in particular (by hand). Its acknowledgement deadline is set by priority
(schemas/agencies.yaml). Every step writes the task, a `task_event` row and an audit row in one
transaction. Two people acknowledging at once: the conditional UPDATE lets exactly one through
and the other is told who was first and when (`AlreadyAcknowledged`).

Functions take a psycopg connection (autocommit), so the dashboard, the API, the CLI and the
escalation job share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.rows import dict_row

from . import agencies

STATUSES = ("created", "acknowledged", "in_progress", "closed")
OPEN_STATUSES = ("created", "acknowledged", "in_progress")
SOURCES = ("alert", "incident", "map", "manual")
PRIORITIES = (1, 2, 3)
MAX_TITLE = 200
MAX_NOTE = 2000
MAX_PERSON = 80
SYSTEM_ACTOR = "system:escalation"

_COLUMNS = ("id, title, detail, agency, priority, source, source_ref, lon, lat, district, level, drill, status, "
            "created_at, created_by, created_role, ack_deadline, acknowledged_at, acknowledged_by, started_at, "
            "closed_at, closed_by, close_note, escalated_at")


class TaskError(ValueError):
    """Bad input: says what is wrong."""


class TaskNotFound(LookupError):
    """No such task (or not one the caller may see)."""


class TaskConflict(Exception):
    """The task is not in a state that allows this step (HTTP 409)."""

    def __init__(self, message: str, task: dict):
        super().__init__(message)
        self.task = task


class AlreadyAcknowledged(TaskConflict):
    pass


@dataclass(frozen=True)
class NewTask:
    agency: str
    title: str
    priority: int
    source: str = "manual"
    source_ref: str | None = None
    lon: float | None = None
    lat: float | None = None
    detail: str | None = None


# -- pure rules -------------------------------------------------------------------------------------
def ack_deadline(created_at: datetime, priority: int) -> datetime:
    """When the agency must have acknowledged a task of this priority."""
    if priority not in PRIORITIES:
        raise TaskError(f"priority must be 1, 2 or 3, not {priority!r}")
    return created_at + timedelta(minutes=agencies.ack_minutes(priority))


def _text(value, what: str, limit: int, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise TaskError(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise TaskError(f"{what} must be text")
    value = value.strip()
    if "\x00" in value:
        raise TaskError(f"{what} contains a NUL character")
    if len(value) > limit:
        raise TaskError(f"{what} is longer than {limit} characters")
    return value


def check_new(new: NewTask) -> NewTask:
    """The task as it will be stored, or TaskError naming the first problem."""
    if new.agency not in agencies.agency_codes():
        raise TaskError(f"unknown agency {new.agency!r}")
    title = _text(new.title, "title", MAX_TITLE, required=True)
    detail = _text(new.detail, "detail", MAX_NOTE, required=False)
    if isinstance(new.priority, bool) or new.priority not in PRIORITIES:
        raise TaskError(f"priority must be 1, 2 or 3, not {new.priority!r}")
    if new.source not in SOURCES:
        raise TaskError(f"source must be one of {', '.join(SOURCES)}")
    ref = _text(new.source_ref, "source reference", 200, required=new.source in ("alert", "incident"))
    lon, lat = new.lon, new.lat
    if (lon is None) != (lat is None):
        raise TaskError("give both lon and lat, or neither")
    if lon is not None:
        try:
            lon, lat = float(lon), float(lat)
        except (TypeError, ValueError):
            raise TaskError("lon and lat must be numbers") from None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise TaskError("lon/lat out of range")
    if new.source == "map" and lon is None:
        raise TaskError("a task from a map point needs lon and lat")
    return NewTask(new.agency, title, int(new.priority), new.source, ref, lon, lat, detail)


def acknowledger(agency: str, person: str | None) -> str:
    person = _text(person, "name", MAX_PERSON, required=False)
    return f"{agency}:{person}" if person else agency


# -- writing --------------------------------------------------------------------------------------
def _audit(conn, **kw) -> None:
    from dashboard.auth import audit

    audit.record(conn, **kw)


def _event(conn, task_id: int, kind: str, actor: str, role: str | None, note: str | None = None) -> None:
    conn.execute("INSERT INTO task_event (task_id, kind, actor, role, note) VALUES (%s, %s, %s, %s, %s)",
                 (task_id, kind, actor, role, note))


def _one(conn, query: str, params) -> dict | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def _summary(task: dict) -> dict:
    return {"status": task["status"], "agency": task["agency"], "priority": task["priority"],
            "escalated": task["escalated_at"] is not None}


def resolve_source(conn: psycopg.Connection, new: NewTask) -> NewTask:
    """Fill in the place of a task from its alert or incident when none was given; refuse a
    reference to an alert or incident that does not exist."""
    from .geometry import alert_area, incident_place

    lon, lat = new.lon, new.lat
    if new.source == "alert":
        alert = alert_area(conn, new.source_ref)
        if alert is None:
            raise TaskError(f"no alert with identifier {new.source_ref!r}")
        if lon is None and alert["point"]:
            lon, lat = alert["point"]
    elif new.source == "incident":
        incident = incident_place(conn, new.source_ref)
        if incident is None:
            raise TaskError(f"no incident {new.source_ref!r}")
        if lon is None and incident["lon"] is not None:
            lon, lat = incident["lon"], incident["lat"]
    return NewTask(new.agency, new.title, new.priority, new.source, new.source_ref, lon, lat, new.detail)


def create_task(conn: psycopg.Connection, new: NewTask, *, actor: str, role: str | None,
                ip: str | None = None) -> dict:
    """Store a new task (state `created`) with its deadline; recorded and audited."""
    from ingest.feeds._geo_lookup import district_code_at

    from .levels import level_at

    new = resolve_source(conn, check_new(new))
    district = district_code_at(new.lon, new.lat) if new.lon is not None else None
    with conn.transaction():
        now = conn.execute("SELECT now()").fetchone()[0]
        level = level_at(conn, now)
        task = _one(conn, f"""
            INSERT INTO task (title, detail, agency, priority, source, source_ref, lon, lat, district, level, drill,
                              created_at, created_by, created_role, ack_deadline)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
                    (new.title, new.detail, new.agency, new.priority, new.source, new.source_ref, new.lon, new.lat,
                     district, level["level"], level["drill"], now, actor, role, ack_deadline(now, new.priority)))
        _event(conn, task["id"], "created", actor, role, new.detail)
        _audit(conn, actor=actor, role=role, action="task.create", target=f"task:{task['id']}",
               after={**_summary(task), "source": new.source, "source_ref": new.source_ref}, ip=ip)
    return task


def get_task(conn: psycopg.Connection, task_id: int, *, agency: str | None = None) -> dict:
    """One task; with `agency`, only if it is that agency's (TaskNotFound otherwise)."""
    task = _one(conn, f"SELECT {_COLUMNS} FROM task WHERE id = %s AND (%s::text IS NULL OR agency = %s)",
                (task_id, agency, agency))
    if task is None:
        raise TaskNotFound(f"no task {task_id}")
    return task


def acknowledge(conn: psycopg.Connection, task_id: int, *, agency: str | None, actor: str, role: str | None,
                person: str | None = None, ip: str | None = None) -> dict:
    """created -> acknowledged. Exactly one of two simultaneous calls wins: the UPDATE only
    matches a task still `created`, and the loser's UPDATE, waiting on the winner's row lock,
    finds it acknowledged and matches nothing."""
    by = acknowledger(agency or actor, person)
    with conn.transaction():
        task = _one(conn, f"""
            UPDATE task SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %s
             WHERE id = %s AND status = 'created' AND (%s::text IS NULL OR agency = %s)
            RETURNING {_COLUMNS}""", (by, task_id, agency, agency))
        if task is None:
            current = get_task(conn, task_id, agency=agency)  # TaskNotFound for another agency's task
            raise AlreadyAcknowledged(
                f"already acknowledged by {current['acknowledged_by']} at "
                f"{current['acknowledged_at'].astimezone(timezone.utc).isoformat()}", current)
        _event(conn, task_id, "acknowledged", by, role)
        _audit(conn, actor=actor, role=role, action="task.ack", target=f"task:{task_id}",
               before={"status": "created"}, after={"status": "acknowledged", "by": by}, ip=ip)
    return task


def report_progress(conn: psycopg.Connection, task_id: int, note: str, *, agency: str | None, actor: str,
                    role: str | None, person: str | None = None, ip: str | None = None) -> dict:
    """A progress note: acknowledged/in_progress -> in_progress."""
    note = _text(note, "note", MAX_NOTE, required=True)
    by = acknowledger(agency or actor, person)
    with conn.transaction():
        task = _one(conn, f"""
            UPDATE task SET status = 'in_progress', started_at = coalesce(started_at, now())
             WHERE id = %s AND status IN ('acknowledged', 'in_progress') AND (%s::text IS NULL OR agency = %s)
            RETURNING {_COLUMNS}""", (task_id, agency, agency))
        if task is None:
            current = get_task(conn, task_id, agency=agency)
            raise TaskConflict(_not_now(current, "report progress on"), current)
        _event(conn, task_id, "progress", by, role, note)
        _audit(conn, actor=actor, role=role, action="task.progress", target=f"task:{task_id}",
               after={"status": "in_progress"}, ip=ip, detail=note[:300])
    return task


def close_task(conn: psycopg.Connection, task_id: int, note: str, *, agency: str | None, actor: str,
               role: str | None, person: str | None = None, ip: str | None = None) -> dict:
    """acknowledged/in_progress -> closed, with a closing note."""
    note = _text(note, "note", MAX_NOTE, required=True)
    by = acknowledger(agency or actor, person)
    with conn.transaction():
        before = _one(conn, "SELECT status FROM task WHERE id = %s AND (%s::text IS NULL OR agency = %s) FOR UPDATE",
                      (task_id, agency, agency))
        task = _one(conn, f"""
            UPDATE task SET status = 'closed', closed_at = now(), closed_by = %s, close_note = %s
             WHERE id = %s AND status IN ('acknowledged', 'in_progress') AND (%s::text IS NULL OR agency = %s)
            RETURNING {_COLUMNS}""", (by, note, task_id, agency, agency))
        if task is None:
            current = get_task(conn, task_id, agency=agency)
            raise TaskConflict(_not_now(current, "close"), current)
        _event(conn, task_id, "closed", by, role, note)
        _audit(conn, actor=actor, role=role, action="task.close", target=f"task:{task_id}",
               before={"status": before["status"]}, after={"status": "closed"}, ip=ip, detail=note[:300])
    return task


def _not_now(task: dict, verb: str) -> str:
    if task["status"] == "created":
        return f"acknowledge task {task['id']} before you {verb} it"
    if task["status"] == "closed":
        return f"task {task['id']} was closed by {task['closed_by']} at {task['closed_at'].isoformat()}"
    return f"cannot {verb} task {task['id']} in state {task['status']}"


def escalate_overdue(conn: psycopg.Connection, on_escalated=None) -> list[dict]:
    """Mark every task past its deadline and still unacknowledged as escalated, once: the
    UPDATE matches only tasks not escalated yet, so two runners never escalate one task twice.
    `on_escalated(conn, task)` runs inside the same transaction (the notification outbox)."""
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            escalated = cur.execute(f"""
                UPDATE task SET escalated_at = now()
                 WHERE status = 'created' AND escalated_at IS NULL AND ack_deadline <= now()
                RETURNING {_COLUMNS}""").fetchall()
        for task in escalated:
            late = task["escalated_at"] - task["ack_deadline"]
            _event(conn, task["id"], "escalated", SYSTEM_ACTOR, None)
            _audit(conn, actor=SYSTEM_ACTOR, role=None, action="task.escalate", target=f"task:{task['id']}",
                   before={"escalated": False}, after={"escalated": True, "agency": task["agency"]},
                   detail=f"deadline passed {int(late.total_seconds())} s ago")
            if on_escalated is not None:
                on_escalated(conn, task)
    return escalated


# -- reading ---------------------------------------------------------------------------------------
def list_tasks(conn: psycopg.Connection, *, agency: str | None = None, open_only: bool = False,
               limit: int = 200) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM task WHERE (%s::text IS NULL OR agency = %s) "
            "AND (NOT %s OR status <> 'closed') ORDER BY (status = 'closed'), priority, created_at DESC LIMIT %s",
            (agency, agency, open_only, limit)).fetchall()


def events(conn: psycopg.Connection, task_id: int) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT time, kind, actor, role, note FROM task_event WHERE task_id = %s ORDER BY time, id",
                           (task_id,)).fetchall()


# The state of a task at a moment, from the times of its steps (so the wall can travel in time).
_STATE_AT = """CASE WHEN closed_at <= %(as_of)s THEN 'closed'
                    WHEN started_at <= %(as_of)s THEN 'in_progress'
                    WHEN acknowledged_at <= %(as_of)s THEN 'acknowledged' ELSE 'created' END"""


def open_at(conn: psycopg.Connection, as_of: datetime) -> list[dict]:
    """Tasks open at `as_of`, each with its state then (`state`), whether it was escalated by
    then (`escalated`) and overdue (`overdue`: unacknowledged past its deadline)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"""
            SELECT {_COLUMNS}, {_STATE_AT} AS state,
                   coalesce(escalated_at <= %(as_of)s, false) AS escalated,
                   (ack_deadline < %(as_of)s AND (acknowledged_at IS NULL OR acknowledged_at > %(as_of)s)) AS overdue
              FROM task
             WHERE created_at <= %(as_of)s AND (closed_at IS NULL OR closed_at > %(as_of)s)
             ORDER BY priority, created_at""", {"as_of": as_of}).fetchall()


def board(conn: psycopg.Connection, as_of: datetime, window: timedelta = timedelta(hours=24)) -> list[dict]:
    """Per agency with any task open at `as_of` or finished within `window` before it: counts by
    state, overdue, the age of the oldest open task, and the median minutes to acknowledge and
    to close (tasks acknowledged / closed within the window)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"""
            WITH t AS (
                SELECT agency, created_at, acknowledged_at, closed_at, ack_deadline, escalated_at,
                       {_STATE_AT} AS state
                  FROM task
                 WHERE created_at <= %(as_of)s AND (closed_at IS NULL OR closed_at > %(since)s))
            SELECT agency,
                   count(*) FILTER (WHERE state = 'created') AS created,
                   count(*) FILTER (WHERE state = 'acknowledged') AS acknowledged,
                   count(*) FILTER (WHERE state = 'in_progress') AS in_progress,
                   count(*) FILTER (WHERE state <> 'closed') AS open,
                   count(*) FILTER (WHERE state = 'created' AND ack_deadline < %(as_of)s) AS overdue,
                   count(*) FILTER (WHERE state = 'created' AND escalated_at <= %(as_of)s) AS escalated,
                   count(*) FILTER (WHERE state = 'closed') AS closed,
                   extract(epoch FROM %(as_of)s - min(created_at) FILTER (WHERE state <> 'closed'))::float8 AS oldest_open_s,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
                       FILTER (WHERE acknowledged_at > %(since)s AND acknowledged_at <= %(as_of)s) AS median_ack_s,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at))
                       FILTER (WHERE state = 'closed') AS median_close_s
              FROM t GROUP BY agency
             ORDER BY count(*) FILTER (WHERE state = 'created' AND ack_deadline < %(as_of)s) DESC,
                      count(*) FILTER (WHERE state <> 'closed') DESC, agency""",
                           {"as_of": as_of, "since": as_of - window}).fetchall()


def summary_at(conn: psycopg.Connection, as_of: datetime) -> dict:
    """For the wall's tile: open tasks, overdue ones and escalations at `as_of`."""
    rows = open_at(conn, as_of)
    return {"open": len(rows), "overdue": sum(1 for r in rows if r["overdue"]),
            "escalated": sum(1 for r in rows if r["escalated"] and r["state"] == "created"),
            "unacknowledged": sum(1 for r in rows if r["state"] == "created"),
            "newest": max((r["created_at"] for r in rows), default=None)}


def as_json(task: dict) -> dict:
    """A task for the API: times in ISO 8601 UTC, durations in seconds."""
    out = {}
    for key, value in task.items():
        out[key] = value.astimezone(timezone.utc).isoformat() if isinstance(value, datetime) else value
    ack = task.get("acknowledged_at")
    closed = task.get("closed_at")
    out["escalated"] = task.get("escalated_at") is not None
    out["seconds_to_acknowledge"] = (ack - task["created_at"]).total_seconds() if ack else None
    out["seconds_to_close"] = (closed - task["created_at"]).total_seconds() if closed else None
    for private in ("created_role",):
        out.pop(private, None)
    return out
