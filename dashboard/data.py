"""The dashboard's database access: one connection pool, rows as dicts, and a short-lived
cache so that many wall screens asking for the same moment cost one set of queries."""

from __future__ import annotations

import functools
import threading
import time
from contextvars import ContextVar
from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row

from ioc.db import pool


class Database:
    def __init__(self, url: str, *, max_size: int = 12):
        self.pool = pool(url, min_size=2, max_size=max_size, name="ioc-dashboard")

    def rows(self, query: str, params: dict | tuple | None = None) -> list[dict]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def one(self, query: str, params: dict | tuple | None = None) -> dict | None:
        found = self.rows(query, params)
        return found[0] if found else None

    def execute(self, query: str, params: dict | tuple | None = None) -> None:
        with self.pool.connection() as conn:
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


def shared(query):
    """Run a `(db, as_of)` query once per snapshot, however many layers and tiles ask for it."""

    @functools.wraps(query)
    def run(db, as_of):
        memo = _memo.get()
        if memo is None:
            return query(db, as_of)
        if query not in memo:
            memo[query] = query(db, as_of)
        return memo[query]

    return run


def with_memo(build):
    """Call `build()` with a fresh memo for `shared` queries."""
    token = _memo.set({})
    try:
        return build()
    finally:
        _memo.reset(token)
