"""Database access: connections with client-side timeouts, pools, and schema migrations.

Migrations are the files `schemas/sql/NNN_name.sql`, applied in order, each in its own
transaction, recorded in `schema_migrations` with a checksum; rerunning applies nothing new.
An advisory lock keeps two processes from migrating at once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x10C_5C4E  # any fixed number: pg_advisory_lock key for migrations
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

# Client-side limits, so a frozen server is noticed instead of waited on forever:
# TCP keepalives find a dead peer; the statement timeout bounds any one query.
CONNECT_KWARGS = dict(
    connect_timeout=5,
    keepalives=1,
    keepalives_idle=5,
    keepalives_interval=2,
    keepalives_count=3,
    tcp_user_timeout=15000,
    application_name="ioc",
)


def connect(url: str, *, autocommit: bool = False, statement_timeout_ms: int = 30000,
            application_name: str = "ioc") -> psycopg.Connection:
    kwargs = {**CONNECT_KWARGS, "application_name": application_name}
    if statement_timeout_ms:
        kwargs["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return psycopg.connect(url, autocommit=autocommit, **kwargs)


def pool(url: str, *, min_size: int = 1, max_size: int = 10, name: str = "ioc",
         statement_timeout_ms: int = 10000, check_on_get: bool = False) -> ConnectionPool:
    """A pool of autocommit connections. Broken connections are noticed when used (and
    replaced); `check_on_get` adds a round trip to every checkout to notice them earlier."""
    # Short queries at a steady rate: JIT compilation (seen: seconds for a millisecond query)
    # and parallel workers cost more than they save here.
    options = f"-c statement_timeout={statement_timeout_ms} -c jit=off -c max_parallel_workers_per_gather=0"
    kwargs = {**CONNECT_KWARGS, "application_name": name, "options": options, "autocommit": True}
    return ConnectionPool(url, min_size=min_size, max_size=max_size, kwargs=kwargs, name=name,
                          open=True, timeout=10, reconnect_timeout=0,
                          check=ConnectionPool.check_connection if check_on_get else None)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(folder: Path | None = None) -> list[Migration]:
    files = folder.iterdir() if folder else resources.files("schemas").joinpath("sql").iterdir()
    found = []
    for entry in files:
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def migrate(url: str, *, folder: Path | None = None) -> list[str]:
    """Apply the migrations not yet applied; returns the names applied."""
    applied_now = []
    with connect(url, autocommit=True, statement_timeout_ms=0, application_name="ioc-migrate") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())""")
            done = {v: c for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")}
            for mig in migrations(folder):
                if mig.version in done:
                    if done[mig.version] != mig.checksum:
                        log.warning("migration %03d_%s changed after it was applied", mig.version, mig.name)
                    continue
                log.info("applying migration %03d_%s", mig.version, mig.name)
                with conn.transaction():
                    conn.execute(mig.sql)
                    conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                                 (mig.version, mig.name, mig.checksum))
                applied_now.append(f"{mig.version:03d}_{mig.name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied_now


def has_function(conn: psycopg.Connection, name: str) -> bool:
    """Whether the database offers a function (TimescaleDB's Apache build lacks some)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = %s)", (name,)).fetchone()[0]
