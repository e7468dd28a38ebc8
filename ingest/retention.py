"""Retention: readings older than their table's retention are dropped, a whole chunk at a time.

The database has no retention policies (TimescaleDB's Apache build has no add_retention_policy
job), so the `retention` job calls `drop_chunks` itself. Which tables: every hypertable the feeds
append readings to, plus `feed_activity` and `dead_letter`, keep IOC_RETENTION_DAYS; any
hypertable can be given its own number of days (or 0: kept for ever) in IOC_RETENTION_TABLES.
Other hypertables (KPI measurements, coverage snapshots) are kept unless named there.
A chunk is dropped only when all of it is older than the cut-off, so up to one chunk interval
more than the retention is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg

log = logging.getLogger(__name__)

ALWAYS_WITH_READINGS = ("feed_activity", "dead_letter")


@dataclass(frozen=True)
class Policy:
    table: str
    days: int

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


def parse_overrides(text: str | None) -> dict[str, int]:
    """`vd_reading=90, dead_letter=30` -> {"vd_reading": 90, "dead_letter": 30}."""
    found: dict[str, int] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        table, sep, days = part.partition("=")
        table, days = table.strip(), days.strip()
        if not sep or not table or not days.isdigit():
            raise ValueError(f"retention override {part!r}: expected table=days (days a whole number)")
        found[table] = int(days)
    return found


def reading_tables() -> set[str]:
    """Tables the feeds append readings to (not the current-state tables)."""
    from .sink import all_tables

    return {t.name for t in all_tables().values() if t.mode == "append"} | set(ALWAYS_WITH_READINGS)


def hypertables(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables "
        "WHERE hypertable_schema = 'public' ORDER BY 1").fetchall()]


def policies(conn: psycopg.Connection, default_days: int, overrides: dict[str, int]) -> list[Policy]:
    existing = hypertables(conn)
    unknown = sorted(set(overrides) - set(existing))
    if unknown:
        log.warning("retention settings name tables that are not hypertables: %s", ", ".join(unknown))
    readings = reading_tables()
    found = []
    for table in existing:
        days = overrides.get(table, default_days if table in readings else 0)
        if days > 0:
            found.append(Policy(table, days))
    return found


def apply(conn: psycopg.Connection, plan: list[Policy], now: datetime | None = None) -> dict[str, int]:
    """Drop every chunk older than its table's cut-off; returns chunks dropped per table.
    `conn` must be the tables' owner (drop_chunks needs ownership)."""
    now = now or datetime.now(timezone.utc)
    dropped: dict[str, int] = {}
    for policy in plan:
        rows = conn.execute("SELECT drop_chunks(%s::regclass, older_than => %s::timestamptz)",
                            (policy.table, policy.cutoff(now))).fetchall()
        dropped[policy.table] = len(rows)
        if rows:
            log.info("retention: dropped %d chunk(s) of %s older than %d days", len(rows), policy.table,
                     policy.days)
    return dropped
