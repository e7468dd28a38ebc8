"""What every feed is: a name, where its messages come from, how often, and pure functions
that turn a payload into normalised records and records into table rows.

A feed module builds one `Feed` and the registry (`ingest.feeds`) lists it. Parsers are pure:
bytes in, records (plain JSON-able dicts) out, `FeedError` on anything invalid. Plausibility
rules that only make sense for live data (inside Taiwan, a sane time window, size limits)
live in `check`, which live ingest runs and `ioc feeds parse` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

Record = dict
Row = tuple[str, tuple]  # (table name, values in the table spec's column order)


class FeedError(ValueError):
    """A payload or record that cannot be accepted; `stage` says where it failed."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


def _no_check(record: Record) -> None:
    return None


def _no_rows(record: Record, received_at: datetime) -> Iterable[Row]:
    return ()


@dataclass(frozen=True)
class Table:
    """Where rows go, and how a write stays idempotent.

    `append`: insert, ignoring a row whose `key` is already stored (readings in a hypertable;
    the key includes the time column, so a replay is stored once).
    `latest`: one row per `key`, replaced only by a row whose `time_column` is not older
    (current state, whatever the arrival order).
    """

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    mode: str = "append"  # "append" or "latest"
    time_column: str = "time"

    def __post_init__(self):
        if self.mode not in ("append", "latest"):
            raise ValueError(f"{self.name}: mode must be append or latest")
        missing = [c for c in (*self.key, self.time_column) if c not in self.columns]
        if missing:
            raise ValueError(f"{self.name}: key/time columns {missing} not in columns")


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    format: str  # "json", "xml" or "csv": what `parse` expects
    parse: Callable[[bytes], list[Record]]
    cadence: timedelta  # how often data is expected; older than this is stale
    topics: tuple[str, ...] = ()  # MQTT topic filters this feed is published on
    check: Callable[[Record], None] = _no_check
    # record, time the message was received (for data without a time of its own) -> rows
    to_rows: Callable[[Record, datetime], Iterable[Row]] = _no_rows
    tables: tuple[Table, ...] = ()  # where `to_rows` writes; rows name their table
    schema: str | None = None  # file name of its JSON Schema under schemas/messages/
    max_bytes: int = 1 << 20  # live ingest refuses larger payloads (dead-lettered, not parsed)
    # For feeds whose topic carries data (e.g. a SensorThings datastream id): (topic, payload)
    # -> records. Live ingest uses it when set, else `parse`.
    parse_message: Callable[[str, bytes], list[Record]] | None = None
    # A payload with no records is normal (no cyclone tracked, no alert in force): it still
    # counts as a sign of life of the feed instead of being refused.
    empty_ok: bool = False
    # Data comes only when something happens (alerts, quakes): silence is not staleness; only a
    # silent poller or subscription is.
    event_driven: bool = False
    extra: dict = field(default_factory=dict)
