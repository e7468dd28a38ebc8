"""I7b live: the population coverage of base stations becomes a KPI measurement.

Reads the latest city snapshot of `coverage_snapshot` (schemas/sql/050_coverage.sql, written by
the live coverage calculation) and records an I7b measurement (covered population / city
population, source `coverage`) when the figures changed since the last one it recorded, or
when the day changed (a measurement's as_of is a date: one a day keeps the tile's as-of current
while the coverage holds steady, as long as the snapshot is at most a week old). Checked every
five minutes; recording the snapshot's own time as `recorded_at` makes a rerun store nothing
twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from ioc.db import connect
from ioc.kpi import load_definitions, validate_measurement
from ioc.kpi.rocdate import TAIPEI

from . import Job, JobContext

log = logging.getLogger(__name__)

INDICATOR = "I7b"
ENTERED_BY = "job:kpi-coverage"
# Same figures are recorded again on a new day only while the snapshot is this recent: past it,
# the live calculation may have stopped, and the tile should go stale rather than look current.
HEARTBEAT_MAX_AGE = timedelta(days=7)
CITY_SNAPSHOT = ("SELECT time, population, covered_population FROM coverage_snapshot "
                 "WHERE scope = 'city' ORDER BY time DESC LIMIT 1")
LAST_RECORDED = ("SELECT as_of, numerator, denominator FROM kpi_measurement "
                 "WHERE indicator = %s AND source = 'coverage' ORDER BY recorded_at DESC, as_of DESC LIMIT 1")


def measurement_from_snapshot(time: datetime, population: int, covered: float, as_of: date | None = None):
    """The I7b measurement a city snapshot gives on `as_of` (default the snapshot's own date):
    whole people, covered never above the population (a union of footprints can overshoot by a
    hair in floating point)."""
    people = int(population)
    day = as_of or time.astimezone(TAIPEI).date()
    return validate_measurement({
        "indicator": INDICATOR, "as_of": day.isoformat(),
        "numerator": min(int(round(covered)), people), "denominator": people,
        "note": f"coverage snapshot {time.isoformat()}",
    })


def record_coverage(conn, now: datetime | None = None) -> bool:
    """Record I7b from the latest city snapshot if it says something new: figures other than
    the last recorded, or the same figures on a later day. True when a row was stored."""
    from ioc.kpi import store

    snapshot = conn.execute(CITY_SNAPSHOT).fetchone()
    if snapshot is None:
        return False
    time, population, covered = snapshot
    if population <= 0:
        return False  # no people to cover: nothing to measure
    today = (now or datetime.now(TAIPEI)).astimezone(TAIPEI).date()
    m = measurement_from_snapshot(time, population, covered, max(time.astimezone(TAIPEI).date(), today))
    last = conn.execute(LAST_RECORDED, (INDICATOR,)).fetchone()
    if last is not None and (last[1], last[2]) == (m.numerator, m.denominator):
        moment = now or datetime.now(TAIPEI)
        if last[0] >= m.as_of or moment - time > HEARTBEAT_MAX_AGE:
            return False  # nothing new; or a snapshot so old the calculation may have stopped
    stored = store.insert_measurements(conn, [m], source="coverage", entered_by=ENTERED_BY, recorded_at=time)
    if stored:
        log.info("I7b from coverage: %d of %d people (%.2f%%) as of %s", m.numerator, m.denominator,
                 m.value, m.as_of)
    return bool(stored)


def run(ctx: JobContext) -> None:
    load_definitions()
    with connect(ctx.db_url, autocommit=True, application_name="ioc-job-kpi-coverage") as conn:
        with conn.transaction():
            record_coverage(conn)


KPI_COVERAGE = Job(
    name="kpi-coverage",
    interval_s=300,
    run=run,
    description="I7b (4G population coverage) from the latest city coverage snapshot, on change or daily",
)
