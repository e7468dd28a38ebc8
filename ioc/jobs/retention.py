"""The `retention` job: every hour, drop chunks of readings older than their retention
(IOC_RETENTION_DAYS, IOC_RETENTION_TABLES; see ingest/retention.py), and record the run as the
`retention` health check."""

from __future__ import annotations

import logging

from psycopg.types.json import Jsonb

from ingest import retention
from ioc import settings
from ioc.db import connect

from . import Job, JobContext

log = logging.getLogger(__name__)


def run(ctx: JobContext) -> None:
    default_days = settings.get_int("IOC_RETENTION_DAYS")
    overrides = retention.parse_overrides(settings.get("IOC_RETENTION_TABLES"))  # ValueError: logged
    with connect(ctx.owner_url, autocommit=True, statement_timeout_ms=600_000,
                 application_name="ioc-retention") as conn:
        plan = retention.policies(conn, default_days, overrides)
        dropped = retention.apply(conn, plan)
        conn.execute(
            "INSERT INTO health_check (name, status, detail, checked_at) VALUES ('retention', 'ok', %s, now()) "
            "ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status, detail = EXCLUDED.detail, "
            "checked_at = EXCLUDED.checked_at",
            (Jsonb({"days": {p.table: p.days for p in plan}, "dropped_chunks": dropped}),))


RETENTION = Job("retention", 3600, run, "drop chunks of readings older than IOC_RETENTION_DAYS / _TABLES")
