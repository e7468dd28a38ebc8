"""The pure stages between a source and the sink: route -> decode/validate/normalise -> rows.

Nothing here does I/O. A message either becomes rows for the sink (`Accepted`) or a reason
it was refused (`Rejected`), which the sink keeps in the dead-letter table. No exception
escapes: a parser bug is a rejected message with its traceback's last line, not a dead worker.
"""

from __future__ import annotations

import logging
from datetime import datetime

from paho.mqtt.client import topic_matches_sub

from .envelope import Accepted, Envelope, Rejected
from .feeds import Feed, FeedError, all_feeds

log = logging.getLogger(__name__)

# Everything under our namespaces is subscribed, so a message on a topic that no feed claims
# is dead-lettered (a publisher's typo becomes visible) instead of never being seen.
SUBSCRIPTIONS = ("ioc/v1/#", "v1.0/#")
NOT_INGESTED = ("ioc/v1/notify/#",)  # our own outgoing notifications


class Router:
    """Topic -> feed, with the answer cached per topic (topics repeat, filters are few)."""

    def __init__(self, feeds: dict[str, Feed] | None = None, cache_size: int = 200_000):
        feeds = feeds if feeds is not None else all_feeds()
        self.filters = [(f, feed) for feed in feeds.values() for f in feed.topics]
        self.cache: dict[str, Feed | None] = {}
        self.cache_size = cache_size

    def feed_for(self, topic: str) -> Feed | None:
        try:
            return self.cache[topic]
        except KeyError:
            pass
        found = None
        if not any(topic_matches_sub(f, topic) for f in NOT_INGESTED):
            found = next((feed for f, feed in self.filters if topic_matches_sub(f, topic)), None)
        if len(self.cache) >= self.cache_size:
            self.cache.clear()
        self.cache[topic] = found
        return found


def process(env: Envelope, feed: Feed | None) -> Accepted | Rejected:
    if feed is None:
        return Rejected(None, "route", f"no feed is published on topic {env.topic!r}")
    if len(env.payload) > feed.max_bytes:
        return Rejected(feed.name, "validate",
                        f"payload of {len(env.payload)} bytes exceeds the feed's limit of {feed.max_bytes}")
    try:
        if feed.parse_message is not None and env.source == "mqtt":
            records = feed.parse_message(env.topic, env.payload)
        else:
            records = feed.parse(env.payload)
        if not records and not feed.empty_ok:
            return Rejected(feed.name, "validate", "payload holds no records")
        time_index = _time_columns(feed)
        rows = []
        refused: list[str] = []
        newest: datetime | None = None
        for i, record in enumerate(records):
            try:
                feed.check(record)
            except FeedError as exc:
                # One implausible station must not cost the other 480 of a file: keep the good
                # records, and the whole payload in the dead-letter table with every reason.
                refused.append(f"record {i}: {exc.reason}")
                continue
            for table, values in feed.to_rows(record, env.received_at):
                rows.append((table, values))
                i = time_index.get(table)
                t = values[i] if i is not None else None
                if isinstance(t, datetime) and (newest is None or t > newest):
                    newest = t
        if refused and len(refused) == len(records):
            return Rejected(feed.name, "validate", "; ".join(refused)[:2000])
        return Accepted(feed.name, rows, newest, "; ".join(refused)[:2000] if refused else None)
    except FeedError as exc:
        return Rejected(feed.name, exc.stage, exc.reason)
    except RecursionError:
        return Rejected(feed.name, "decode", "payload nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the worker
        log.exception("feed %s failed on a message from %s", feed.name, env.topic)
        return Rejected(feed.name, "normalise", f"internal error: {type(exc).__name__}: {exc}"[:500])


_TIME_COLUMNS: dict[str, dict[str, int]] = {}


def _time_columns(feed: Feed) -> dict[str, int]:
    """Where each of the feed's tables keeps its time, to know how fresh a message is."""
    found = _TIME_COLUMNS.get(feed.name)
    if found is None:
        found = _TIME_COLUMNS[feed.name] = {t.name: t.columns.index(t.time_column) for t in feed.tables}
    return found
