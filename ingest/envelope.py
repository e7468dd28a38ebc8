"""The one shape every message has on its way in, whatever its source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Envelope:
    source: str  # "mqtt", "http" or "file"
    topic: str  # MQTT topic, URL or file name
    payload: bytes
    received_at: datetime
    token: object = None  # what the source needs to acknowledge it (an MQTT message id)


@dataclass(slots=True)
class Accepted:
    feed: str
    rows: list  # (table, values) pairs
    data_time: datetime | None  # newest data time among the rows, for freshness
    refused: str | None = None  # records of the payload refused on their own (dead-lettered)


@dataclass(slots=True)
class Rejected:
    feed: str | None
    stage: str  # route | decode | validate | normalise | sink
    error: str
