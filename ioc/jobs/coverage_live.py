"""coverage-live: population coverage of the stations in bts_current, kept live, stored as
snapshots in `coverage_snapshot` (the kpi-coverage job turns the city row into indicator I7b).

Every 2 s the job brings its `LiveCoverage` (ioc/coverage/live.py) up to date with bts_current:
a status change recomputes only the villages the station's footprint reaches. It then stores
* the city, the 29 districts and the villages that changed, when something changed;
* a full snapshot (every village) on start, when the station list changes, and hourly, so the
  latest row of every village at any moment is at most an hour back (time travel reads that);
* the city and districts every 5 minutes even when nothing changed, so the wall can tell a
  quiet coverage from a stopped job.
Snapshot times are this process's clock (UTC), strictly increasing: "the coverage as known then".
With no 4G stations in bts_current nothing is stored (no figure is better than an invented one).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ioc.db import connect

from . import Job, JobContext

log = logging.getLogger(__name__)

FULL_EVERY = timedelta(hours=1)
HEARTBEAT_EVERY = timedelta(minutes=5)


def step(conn, memory: dict, now: datetime | None = None) -> list[tuple]:
    """One poll of bts_current and the snapshot it calls for; returns the rows stored."""
    from ioc.coverage.live import LiveCoverage, store_snapshot

    live = memory.setdefault("live", LiveCoverage())
    update = live.sync(conn)
    if not live.ready:
        if not memory.get("said_empty"):
            log.info("coverage-live: no %s stations in bts_current yet; nothing to store", live.technology)
            memory["said_empty"] = True
        return []
    memory["said_empty"] = False
    now = now or datetime.now(timezone.utc)
    last_full, last_stored = memory.get("last_full"), memory.get("last_stored")
    if update.rebuilt or last_full is None or now - last_full >= FULL_EVERY:
        villages = None  # all of them
    elif update.changed:
        villages = update.changed
    elif last_stored is None or now - last_stored >= HEARTBEAT_EVERY:
        villages = []  # city and districts only
    else:
        return []
    if last_stored is not None and now <= last_stored:
        now = last_stored + timedelta(microseconds=1)  # one snapshot per moment, in order
    rows = live.snapshot_rows(now, villages)
    with conn.transaction():
        store_snapshot(conn, rows)
    memory["last_stored"] = now
    if villages is None:
        memory["last_full"] = now
    if update.applied or update.rebuilt:
        city = rows[0]
        log.info("coverage-live: %d status changes, %d villages changed; city %.2f%% of people covered, "
                 "%d stations down", update.applied, len(update.changed), city[5] or 0.0, city[10])
    return rows


def run(ctx: JobContext) -> None:
    conn = ctx.state.get("conn")
    if conn is None or conn.closed:
        conn = ctx.state["conn"] = connect(ctx.db_url, autocommit=True, application_name="ioc-job-coverage-live")
    try:
        step(conn, ctx.state)
    except Exception:
        conn.close()  # a fresh connection next time; the coverage state itself is kept
        ctx.state.pop("conn", None)
        raise


COVERAGE_LIVE = Job(
    name="coverage-live",
    interval_s=2,
    run=run,
    description="4G population coverage of bts_current's stations, updated per status change; "
                "snapshots in coverage_snapshot",
)
