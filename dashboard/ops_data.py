"""What the operations page shows at a moment, assembled once per second however many
coordinators' screens ask (the same short cache the wall uses)."""

from __future__ import annotations

import logging
from datetime import datetime

from ioc.ops import dutylog, shelters, sitrep, staffing, tasks
from ioc.ops.levels import level_at

from .data import Database, TTLCache

log = logging.getLogger(__name__)
_cache = TTLCache(ttl=1.0)


def build(db: Database, as_of: datetime) -> dict:
    with db.pool.connection() as conn:
        level = level_at(conn, as_of)
        start, end = dutylog.current_shift(as_of)
        shelter_rows = shelters.open_at(conn, as_of)
        return {
            "as_of": as_of,
            "level": level,
            "board": tasks.board(conn, as_of),
            "open_tasks": tasks.open_at(conn, as_of),
            "staffing": staffing.staffing_at(conn, level["level"], as_of),
            "shift": dutylog.shift_log(conn, start, end, as_of),
            "shelters": shelter_rows,
            "shelter_summary": shelters.summary(shelter_rows),
            "alerts": sitrep.alerts_in_force(conn, as_of),
            "incidents": sitrep.open_incidents(conn, as_of),
        }


def ops_state(db: Database, as_of: datetime) -> dict:
    moment = as_of.replace(microsecond=0)
    return _cache.get(moment, lambda: build(db, moment))
