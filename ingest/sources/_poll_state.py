"""What a poller remembers between rounds, kept in the `poll_state` table (one row per poller),
so a restarted process (or a new poller object) continues where the last one stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from ioc.db import connect

COLUMNS = ("last_attempt", "last_success", "last_error", "failures", "last_data_at", "validators", "seen")


@dataclass
class PollState:
    poller: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    last_data_at: datetime | None = None
    validators: dict = field(default_factory=dict)  # request key -> {etag, last_modified, sha256}
    seen: dict = field(default_factory=dict)  # entry id -> ISO time (first seen, or its own time)


class PollStateStore:
    """Loads and saves `PollState` on a connection of its own, opened per round (pollers run
    every few minutes: no idle connection waits, and a restarted database is simply reconnected)."""

    def __init__(self, url: str, *, timeout_s: float = 10.0):
        self.url = url
        self.timeout_s = timeout_s
        self.conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = connect(self.url, autocommit=True, statement_timeout_ms=int(self.timeout_s * 1000),
                                application_name="ioc-poll")
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                pass
            self.conn = None

    def load(self, poller: str) -> PollState:
        try:
            row = self._connection().execute(
                f"SELECT {', '.join(COLUMNS)} FROM poll_state WHERE poller = %s", (poller,)).fetchone()
        except Exception:
            self.close()
            raise
        if row is None:
            return PollState(poller)
        return PollState(poller, *row)

    def save(self, state: PollState) -> None:
        values = [getattr(state, c) for c in COLUMNS]
        values[5], values[6] = Jsonb(state.validators), Jsonb(state.seen)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
        try:
            self._connection().execute(
                f"INSERT INTO poll_state (poller, {', '.join(COLUMNS)}, updated_at) "
                f"VALUES (%s, {', '.join(['%s'] * len(COLUMNS))}, now()) "
                f"ON CONFLICT (poller) DO UPDATE SET {sets}, updated_at = now()", (state.poller, *values))
        except Exception:
            self.close()
            raise
