"""The `disk` job: every minute, free space on the filesystems the local services write to
(IOC_HOME, the database's data folder, the broker's store), each reported as a health check:
`ok`, `low` (under IOC_DISK_WARN_FREE_PCT percent free) or `critical` (under
IOC_DISK_MIN_FREE_MB). A full disk must be visible before it bites, and when it does bite it
must not be fatal: the database refuses writes (the ingest worker then holds its messages
unacknowledged and retries: SQLSTATE 53100 is transient), the broker keeps its queue in memory.

`/healthz` and `/metrics` measure the same paths themselves (statvfs is cheap), so a disk too
full for the database to record this check is still reported.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from psycopg.types.json import Jsonb

from ioc import settings
from ioc.db import connect

from . import Job, JobContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiskUsage:
    label: str  # what lives there: home, database, broker
    path: str
    total_bytes: int
    free_bytes: int  # available to unprivileged writers
    status: str  # ok | low | critical

    @property
    def free_pct(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def classify(free_bytes: int, total_bytes: int, *, warn_pct: float, min_free_mb: int) -> str:
    if free_bytes < min_free_mb * 1024 * 1024:
        return "critical"
    if total_bytes and 100.0 * free_bytes / total_bytes < warn_pct:
        return "low"
    return "ok"


def watched_paths(home: Path | None = None) -> list[tuple[str, Path]]:
    """The local services' folders that exist (symlinks to /var/tmp followed)."""
    home = home or settings.home()
    candidates = [("home", home), ("database", home / "pg"), ("broker", home / "mosquitto")]
    return [(label, path.resolve()) for label, path in candidates if path.exists()]


def measure(paths: list[tuple[str, Path]] | None = None) -> list[DiskUsage]:
    """One entry per filesystem (the first label that lives on it names it)."""
    warn_pct = float(settings.get("IOC_DISK_WARN_FREE_PCT"))
    min_free_mb = settings.get_int("IOC_DISK_MIN_FREE_MB")
    seen: set[int] = set()
    found = []
    for label, path in paths if paths is not None else watched_paths():
        try:
            device = os.stat(path).st_dev
            if device in seen:
                continue
            seen.add(device)
            st = os.statvfs(path)
        except OSError as exc:
            log.warning("disk check of %s failed: %s", path, exc)
            continue
        total, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
        found.append(DiskUsage(label, str(path), total, free,
                               classify(free, total, warn_pct=warn_pct, min_free_mb=min_free_mb)))
    return found


def worst(usages: list[DiskUsage]) -> str:
    order = ("ok", "low", "critical")
    return max((u.status for u in usages), key=order.index, default="ok")


def tablespace_paths(conn) -> list[tuple[str, Path]]:
    """Tablespaces of the database whose folders are on this machine (a local database)."""
    rows = conn.execute("SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace").fetchall()
    return [(f"tablespace-{name}", Path(location)) for name, location in rows
            if location and Path(location).exists()]


def _log(usages: list[DiskUsage]) -> None:
    for u in usages:
        if u.status != "ok":
            (log.error if u.status == "critical" else log.warning)(
                "disk %s (%s): %.1f%% free, %d MiB: %s", u.label, u.path, u.free_pct, u.free_bytes >> 20, u.status)


def run(ctx: JobContext) -> None:
    local = watched_paths()
    _log(measure(local))  # in the log first: a full disk may keep the database from recording it
    with connect(ctx.db_url, autocommit=True, application_name="ioc-disk") as conn:
        usages = measure(local + tablespace_paths(conn))
        _log([u for u in usages if u.label.startswith("tablespace-")])
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        rows = [(f"disk:{u.label}", u.status, Jsonb({"path": u.path, "free_bytes": u.free_bytes,
                                                    "total_bytes": u.total_bytes,
                                                    "free_pct": round(u.free_pct, 2)}))
                for u in usages]
        rows.append(("database_size", "ok", Jsonb({"bytes": size})))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO health_check (name, status, detail, checked_at) VALUES (%s, %s, %s, now()) "
                "ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status, detail = EXCLUDED.detail, "
                "checked_at = EXCLUDED.checked_at", rows)


DISK = Job("disk", 60, run, "free space of the local services' filesystems (IOC_DISK_*)")
