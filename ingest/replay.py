"""Replaying a dead letter after a fix: its stored raw payload goes through today's pipeline and
sink again, exactly as if it had just arrived from where it came from (same source, topic or URL,
and time received). Only a message the pipeline now accepts whole is written; one still refused
is left as it is, with today's reason shown. A replayed dead letter is marked `replayed_at`
(in the caller's transaction, so the caller can audit it in the same commit). Writes are
idempotent, so replaying twice, or a message stored meanwhile by other means, stores it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from .envelope import Accepted, Envelope
from .feeds import all_feeds
from .pipeline import Router, process
from .sink import Sink

COLUMNS = "id, received_at, feed, source, topic, stage, error, raw, replayed_at"


@dataclass
class Outcome:
    id: int
    result: str  # stored | refused | refused_again | already | missing
    reason: str = ""  # why it is still refused, for the person replaying
    feed: str | None = None
    replayed_at: datetime | None = None


def load(conn: psycopg.Connection, dead_letter_id: int) -> dict | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM dead_letter WHERE id = %s FOR UPDATE",
                       (dead_letter_id,)).fetchone()
    return dict(zip(COLUMNS.split(", "), row)) if row else None


def replay_one(conn: psycopg.Connection, sink: Sink, router: Router, dead_letter_id: int) -> Outcome:
    """Replay one dead letter; `conn` is the caller's open transaction (row lock, mark)."""
    letter = load(conn, dead_letter_id)
    if letter is None:
        return Outcome(dead_letter_id, "missing")
    if letter["replayed_at"] is not None:
        return Outcome(dead_letter_id, "already", feed=letter["feed"], replayed_at=letter["replayed_at"])
    if letter["source"] == "mqtt":
        feed = router.feed_for(letter["topic"])
    else:
        feed = all_feeds().get(letter["feed"]) if letter["feed"] else None
    env = Envelope(letter["source"], letter["topic"], bytes(letter["raw"]), letter["received_at"], None)
    result = process(env, feed)
    if not isinstance(result, Accepted):
        return Outcome(dead_letter_id, "refused", f"{result.stage}: {result.error}", letter["feed"])
    if result.refused:
        return Outcome(dead_letter_id, "refused", f"validate: {result.refused}", result.feed)
    report = sink.write([(env, result)])  # its own transaction; TransientError: nothing marked
    outcome = "stored" if report.rejected == 0 else "refused_again"  # the database refused a row
    replayed_at = conn.execute("UPDATE dead_letter SET replayed_at = now() WHERE id = %s RETURNING replayed_at",
                               (dead_letter_id,)).fetchone()[0]
    reason = "" if outcome == "stored" else "the database refused it again: see the newest dead letter"
    return Outcome(dead_letter_id, outcome, reason, result.feed, replayed_at)
