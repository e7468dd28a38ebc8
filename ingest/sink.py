"""The write path: one transaction per batch, COPY for rows, dead letters and feed activity.

Idempotency without slowing the common case: a batch is first COPYed straight into its
tables. Only when that meets a row already stored (a redelivery after a crash, a replay) is the
attempt undone and the batch written the slow way: COPY into a staging table, then INSERT ...
ON CONFLICT. "latest" tables (current state) always go through staging, newest row per key wins.

Errors are classified by SQLSTATE: a lost or frozen database is *transient* (the caller keeps
the batch, acknowledges nothing and retries); a row the database refuses is *permanent* (the
batch is split until the message that carries it is found and dead-lettered with the reason).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg
from psycopg import errors, sql

from ioc.db import connect

from .envelope import Accepted, Envelope, Rejected
from .feeds import Table

log = logging.getLogger(__name__)

DEAD_LETTER_COLUMNS = ("received_at", "feed", "source", "topic", "stage", "error", "raw")


class TransientError(Exception):
    """The database could not take the batch now; nothing of it was stored."""


class PermanentError(Exception):
    """The database refused a row of the batch; retrying the same batch cannot succeed."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError, TimeoutError)):
        return True  # lost connection, shutdown, cancelled statement, disk full, ...
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or ""
    # 08 connection, 40 rollback (serialization/deadlock), 53 resources, 55 lock not
    # available, 57 operator intervention, 58 system error; 42 means our schema is missing
    # or wrong: waiting for an operator beats dead-lettering every message.
    return state[:2] in {"08", "40", "42", "53", "55", "57", "58"}


@dataclass
class WriteReport:
    stored: int = 0  # messages whose rows are committed (duplicates included: they are stored)
    rejected: int = 0  # messages committed to the dead-letter table
    by_feed: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # recv, stored, rej


class Watchdog:
    """A client-side deadline: a server frozen with SIGSTOP still has its kernel ACK our
    packets, so keepalives and TCP timeouts never fire. Past the deadline we shut the socket
    down, which makes the waiting call fail at once. One thread for the sink's whole life
    (a thread per batch would cost more than some batches)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Condition()
        self._conn: psycopg.Connection | None = None
        self._deadline = 0.0
        self._thread = threading.Thread(target=self._watch, name="db-watchdog", daemon=True)
        self._thread.start()

    def guard(self, conn: psycopg.Connection) -> "Watchdog":
        self._pending = conn
        return self

    def __enter__(self):
        with self._lock:
            self._conn = self._pending
            self._deadline = time.monotonic() + self.seconds
            self._lock.notify()
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._conn = None
        return False

    def _watch(self) -> None:
        while True:
            with self._lock:
                while self._conn is None:
                    self._lock.wait()
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._lock.wait(remaining)
                    continue
                conn, self._conn = self._conn, None
            self._shut(conn)

    @staticmethod
    def _shut(conn: psycopg.Connection) -> None:
        try:
            sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            log.warning("database did not answer in time; connection shut down")
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass


class Sink:
    def __init__(self, url: str, tables: dict[str, Table], *, timeout_s: float = 10.0,
                 application_name: str = "ioc-ingest", activity_every_s: float = 0.0):
        self.url = url
        self.activity_every_s = activity_every_s
        self.tables = tables
        self.timeout_s = timeout_s
        self.application_name = application_name
        self.conn: psycopg.Connection | None = None
        self._types: dict[str, list[int]] = {}
        self._staged: set[str] = set()
        self.watchdog = Watchdog(timeout_s)
        # Feed activity is counted per batch but written at most every `activity_every_s` (with a
        # batch, or alone by `flush_activity` when idle): for the MQTT worker a statement per batch
        # would cost more than the rows. Occasional writers (pollers, replay) write it each time.
        self._pending_activity: dict[str, list] = {}
        self._activity_written = 0.0

    # -- connection -------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = connect(self.url, statement_timeout_ms=int(self.timeout_s * 1000),
                                application_name=self.application_name)
            self._staged.clear()
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None

    def _oids(self, conn: psycopg.Connection, table: str, columns: tuple[str, ...]) -> list[int]:
        key = f"{table}:{','.join(columns)}"
        if key not in self._types:
            found = dict(conn.execute(
                "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())
            missing = [c for c in columns if c not in found]
            if missing:
                raise errors.UndefinedColumn(f"{table} has no column(s) {missing}")
            self._types[key] = [found[c] for c in columns]
        return self._types[key]

    # -- writing ----------------------------------------------------------------------------
    def write(self, items: list[tuple[Envelope, Accepted | Rejected]]) -> WriteReport:
        """Commit a batch. TransientError: nothing stored, retry later. Permanent refusals are
        narrowed down to the message at fault, which is dead-lettered; the rest is stored."""
        report = WriteReport()
        self._write_splitting(items, report)
        return report

    def _write_splitting(self, items, report: WriteReport) -> None:
        try:
            self._write_once(items, report)
        except PermanentError as exc:
            if len(items) == 1:
                env, res = items[0]
                feed = res.feed if res is not None else None
                log.warning("database refused a message of %s: %s", feed, exc)
                self._write_once([(env, Rejected(feed, "sink", str(exc)[:1000]))], report)
                return
            mid = len(items) // 2
            self._write_splitting(items[:mid], report)
            self._write_splitting(items[mid:], report)

    def _write_once(self, items, report: WriteReport, *, idempotent: bool = False) -> None:
        """One transaction. First try: COPY straight into the tables. A row already stored
        (a redelivery, a replay) undoes the attempt and the batch is written the idempotent way."""
        rows_by_table: dict[str, list[tuple]] = defaultdict(list)
        dead: list[tuple] = []
        activity: dict[str, list] = {}
        for env, res in items:
            feed = res.feed or "(unrouted)"
            act = activity.setdefault(feed, [0, 0, 0, None])
            act[0] += 1
            if isinstance(res, Accepted):
                for table, values in res.rows:
                    rows_by_table[table].append(values)
                act[1] += 1
                if res.refused:
                    dead.append((env.received_at, res.feed, env.source, env.topic, "validate",
                                 f"some records refused: {res.refused}", env.payload))
                if res.data_time is not None and (act[3] is None or res.data_time > act[3]):
                    act[3] = res.data_time
            else:
                dead.append((env.received_at, res.feed, env.source, env.topic, res.stage, res.error,
                             env.payload))
                act[2] += 1
        staged_before = set(self._staged)  # a rolled-back transaction drops the temp tables it made
        try:
            conn = self._connection()
            with self.watchdog.guard(conn), conn.transaction():
                for table, rows in rows_by_table.items():
                    self._write_table(conn, self.tables[table], rows, fast=not idempotent)
                if dead:
                    self._copy(conn, "dead_letter", DEAD_LETTER_COLUMNS, dead)
                pending = _merged(self._pending_activity, activity)
                write_activity = time.monotonic() - self._activity_written >= self.activity_every_s
                if write_activity:
                    self._record_activity(conn, pending)
        except errors.UniqueViolation:
            self._staged = staged_before
            if idempotent:
                raise PermanentError("a unique key was violated on the idempotent path") from None
            return self._write_once(items, report, idempotent=True)
        except Exception as exc:
            self._staged = staged_before
            if is_transient(exc):
                self.close()
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
        if write_activity:
            self._pending_activity = {}
            self._activity_written = time.monotonic()
        else:
            self._pending_activity = pending
        for feed, (received, stored, rejected, _) in activity.items():
            counts = report.by_feed[feed]
            counts[0] += received
            counts[1] += stored
            counts[2] += rejected
        report.stored += sum(a[1] for a in activity.values())
        report.rejected += len(dead)

    def _copy(self, conn, table: str, columns: tuple[str, ...], rows) -> None:
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        oids = self._oids(conn, table, columns)  # before COPY: the connection is busy during it
        with conn.cursor() as cur, cur.copy(stmt) as copy:
            copy.set_types(oids)
            for row in rows:
                copy.write_row(row)

    def _write_table(self, conn, spec: Table, rows: list[tuple], *, fast: bool) -> None:
        if spec.mode == "append" and fast:
            self._copy(conn, spec.name, spec.columns, rows)  # UniqueViolation: the caller retries
            return
        stage = self._staging_table(conn, spec)
        self._copy(conn, stage, spec.columns, rows)
        cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
        key = sql.SQL(", ").join(map(sql.Identifier, spec.key))
        if spec.mode == "append":
            conn.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT DO NOTHING").format(
                t=sql.Identifier(spec.name), c=cols, s=sql.Identifier(stage)))
        else:
            others = [c for c in spec.columns if c not in spec.key]
            updates = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in others)
            conn.execute(sql.SQL(
                "INSERT INTO {t} AS cur ({c}) SELECT DISTINCT ON ({k}) {c} FROM {s} ORDER BY {k}, {tc} DESC "
                "ON CONFLICT ({k}) DO UPDATE SET {u} WHERE cur.{tc} <= EXCLUDED.{tc}").format(
                t=sql.Identifier(spec.name), c=cols, k=key, s=sql.Identifier(stage), u=updates,
                tc=sql.Identifier(spec.time_column)))
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(stage)))

    def _staging_table(self, conn, spec: Table) -> str:
        stage = f"_stage_{spec.name}"
        if stage not in self._staged:
            conn.execute(sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {s} (LIKE {t} INCLUDING DEFAULTS)").format(
                s=sql.Identifier(stage), t=sql.Identifier(spec.name)))
            self._staged.add(stage)
        return stage

    def flush_activity(self, *, force: bool = False) -> None:
        """Write the activity counted since the last write, when due (or now, with `force`)."""
        if not self._pending_activity:
            return
        if not force and time.monotonic() - self._activity_written < self.activity_every_s:
            return
        try:
            conn = self._connection()
            with self.watchdog.guard(conn), conn.transaction():
                self._record_activity(conn, self._pending_activity)
        except Exception as exc:
            if is_transient(exc):
                self.close()
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
        self._pending_activity = {}
        self._activity_written = time.monotonic()

    def heartbeat(self, feed: str, last_data_at: datetime | None = None) -> None:
        """A sign of life of a feed that brought nothing new (an HTTP poll answered 304, or an
        unchanged index): a feed_activity row with nothing received, so the wall knows the feed's
        poller is alive. TransientError when the database cannot take it now."""
        try:
            conn = self._connection()
            with self.watchdog.guard(conn), conn.transaction():
                self._record_activity(conn, {feed: [0, 0, 0, last_data_at]})
        except Exception as exc:
            if is_transient(exc):
                self.close()
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    def _record_activity(self, conn, activity: dict[str, list]) -> None:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO feed_activity (time, feed, received, stored, rejected, last_data_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (feed, time) DO UPDATE SET "
                "received = feed_activity.received + EXCLUDED.received, "
                "stored = feed_activity.stored + EXCLUDED.stored, "
                "rejected = feed_activity.rejected + EXCLUDED.rejected, "
                "last_data_at = GREATEST(feed_activity.last_data_at, EXCLUDED.last_data_at)",
                [(now, feed, *counts) for feed, counts in activity.items()])


def _merged(pending: dict[str, list], activity: dict[str, list]) -> dict[str, list]:
    """Activity counts of `pending` plus `activity` (a new dict: `pending` stays as it was until
    the transaction that writes them commits)."""
    out = {feed: list(counts) for feed, counts in pending.items()}
    for feed, (received, stored, rejected, last) in activity.items():
        counts = out.setdefault(feed, [0, 0, 0, None])
        counts[0] += received
        counts[1] += stored
        counts[2] += rejected
        if last is not None and (counts[3] is None or last > counts[3]):
            counts[3] = last
    return out


def all_tables() -> dict[str, Table]:
    from .feeds import all_feeds

    tables: dict[str, Table] = {}
    for feed in all_feeds().values():
        for table in feed.tables:
            if table.name in tables and tables[table.name] != table:
                raise RuntimeError(f"feeds disagree on table {table.name}")
            tables[table.name] = table
    return tables


def wait_backoff(attempt: int, *, base: float = 0.2, cap: float = 10.0) -> float:
    """Exponential backoff with full jitter, for reconnecting."""
    import random

    delay = random.uniform(0, min(cap, base * 2 ** attempt))
    time.sleep(delay)
    return delay
