"""The dashboard's database access: one connection pool, rows as dicts, and a short-lived
cache so that many wall screens asking for the same moment cost one set of queries."""

from __future__ import annotations

import functools
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row

from ioc.db import pool


_bound: ContextVar = ContextVar("bound_connection", default=None)


class Database:
    def __init__(self, url: str, *, max_size: int = 12):
        self.pool = pool(url, min_size=2, max_size=max_size, name="ioc-dashboard")

    @contextmanager
    def connection(self):
        """The connection bound by `bound()` (one for a whole snapshot), else one from the pool."""
        conn = _bound.get()
        if conn is not None:
            yield conn
        else:
            with self.pool.connection() as conn:
                yield conn

    @contextmanager
    def bound(self):
        """Every query in this block runs on one connection: a snapshot's forty small queries
        would otherwise each take a connection from the pool and give it back."""
        if _bound.get() is not None:
            yield
            return
        with self.pool.connection() as conn:
            token = _bound.set(conn)
            try:
                yield
            finally:
                _bound.reset(token)

    def rows(self, query: str, params: dict | tuple | None = None) -> list[dict]:
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def tuples(self, query: str, params: dict | tuple | None = None) -> list[tuple]:
        """Rows as tuples: for the large reads of a refresh, where building dicts would cost."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def one(self, query: str, params: dict | tuple | None = None) -> dict | None:
        found = self.rows(query, params)
        return found[0] if found else None

    def execute(self, query: str, params: dict | tuple | None = None) -> None:
        with self.connection() as conn:
            conn.execute(query, params)

    def close(self) -> None:
        self.pool.close()


class TTLCache:
    """Results by key for `ttl` seconds; concurrent askers of a missing key wait for one
    computation instead of each running the queries."""

    def __init__(self, ttl: float = 1.0, max_entries: int = 256):
        self.ttl = ttl
        self.max_entries = max_entries
        self._values: dict[Any, tuple[float, Any]] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key):
        """The value kept for `key`, or None (nothing is computed)."""
        hit = self._values.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    def get(self, key, compute: Callable[[], Any]):
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._values.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
            value = compute()
            with self._guard:
                if len(self._values) >= self.max_entries:
                    self._values.clear()
                    self._locks = {key: lock}
                self._values[key] = (time.monotonic(), value)
            return value


_memo: ContextVar[dict | None] = ContextVar("snapshot_memo", default=None)


class _Once:
    """A value computed by the first thread that asks; the others wait for it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = False
        self.value = self.error = None

    def get(self, compute):
        with self.lock:
            if not self.done:
                try:
                    self.value = compute()
                except Exception as exc:  # noqa: BLE001 - every asker gets the same failure
                    self.error = exc
                self.done = True
        if self.error is not None:
            raise self.error
        return self.value


_memo_lock = threading.Lock()


def shared(query):
    """Run a `(db, as_of)` query once per snapshot, however many layers and tiles ask for it
    (from however many of the snapshot's threads)."""

    @functools.wraps(query)
    def run(db, as_of):
        memo = _memo.get()
        if memo is None:
            return query(db, as_of)
        with _memo_lock:
            once = memo.get(query)
            if once is None:
                once = memo[query] = _Once()
        return once.get(lambda: query(db, as_of))

    return run


def unbound():
    """Forget this context's bound connection (for a thread that runs part of a snapshot on its own)."""
    _bound.set(None)


def with_memo(build, *, live: bool = False):
    """Call `build()` with a fresh memo for `shared` queries; `live`: it is the live wall's
    snapshot, whose slow-moving answers `live_for` may keep."""
    token, live_token = _memo.set({}), _live.set(live)
    try:
        return build()
    finally:
        _memo.reset(token)
        _live.reset(live_token)


_live: ContextVar[bool] = ContextVar("live_snapshot", default=False)


def live_for(seconds: float, *, changed: str):
    """For a `(db, as_of)` query whose answer moves slowly (alerts in force, KPI figures): the
    live wall's snapshots reuse the answer for up to `seconds`, unless the cheap query `changed`
    (say, the newest received_at) answers differently, so new data shows at once and only a
    lapse in time (an alert expiring) may wait that long. A moment in the past is always read."""

    def wrap(query):
        kept: dict[int, tuple] = {}  # id(db) -> (db, version, until, value)
        lock = threading.Lock()

        @functools.wraps(query)
        def run(db, as_of):
            if not _live.get():
                return query(db, as_of)
            version = db.tuples(changed)
            hit = kept.get(id(db))
            if hit is not None and hit[0] is db and hit[1] == version and hit[2] > time.monotonic():
                return hit[3]
            value = query(db, as_of)
            with lock:
                kept[id(db)] = (db, version, time.monotonic() + seconds, value)
            return value

        return run

    return wrap
