"""Operational levels: what the center runs at, since when, and changing it (recorded, audited)."""

from __future__ import annotations

from datetime import datetime

import psycopg

LEVELS = ("normal", "level3", "level2", "level1")  # rising activation
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


class LevelError(ValueError):
    pass


def level_at(conn: psycopg.Connection, as_of: datetime) -> dict:
    """The level in force at `as_of` (normal if it was never changed)."""
    row = conn.execute("SELECT level, drill, time, reason, set_by FROM ops_level_change WHERE time <= %s "
                       "ORDER BY time DESC LIMIT 1", (as_of,)).fetchone()
    if row is None:
        return {"level": "normal", "drill": False, "since": None, "reason": None, "set_by": None}
    return {"level": row[0], "drill": row[1], "since": row[2], "reason": row[3], "set_by": row[4]}


def set_level(conn: psycopg.Connection, level: str, *, reason: str, actor: str, role: str | None,
              drill: bool = False, ip: str | None = None) -> dict:
    """Change the level (and drill flag). Needs a reason; writes the change and the audit row
    in one transaction. Returns the new state."""
    from dashboard.auth import audit

    if level not in LEVELS:
        raise LevelError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    reason = (reason or "").strip()
    if not reason:
        raise LevelError("a reason is required to change the level")
    with conn.transaction():
        before = level_at(conn, datetime.now().astimezone())
        row = conn.execute("INSERT INTO ops_level_change (level, drill, reason, set_by, role) "
                           "VALUES (%s, %s, %s, %s, %s) RETURNING time", (level, drill, reason[:500], actor, role)
                           ).fetchone()
        audit.record(conn, actor=actor, role=role, action="level.set", target=level,
                     before={"level": before["level"], "drill": before["drill"]},
                     after={"level": level, "drill": drill}, ip=ip, detail=reason[:300])
    return {"level": level, "drill": drill, "since": row[0], "reason": reason, "set_by": actor}
