"""What the wall shows at one moment: every layer's and tile's data and every feed's health,
assembled once per moment and shared by all screens asking for it (cached one second)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ingest.feeds import all_feeds

from . import queries
from .alarms import current_alarms
from .data import Database, TTLCache, with_memo
from .layers import all_layers
from .tiles import all_tiles

log = logging.getLogger(__name__)
_cache = TTLCache(ttl=1.0)
FAILED = object()  # a query that failed: its tile says so, the rest of the wall carries on


def feed_states(activity: dict[str, dict], as_of: datetime) -> list[dict]:
    """Each feed's freshness: ok within its cadence, stale past it, dead past 3x; `none` when
    never heard from. An event-driven feed that is silent is `quiet`, not stale."""
    states = []
    for name, feed in all_feeds().items():
        row = activity.get(name)
        last = row["last_received"] if row else None
        age = (as_of - last).total_seconds() if last else None
        cadence = feed.cadence.total_seconds()
        if age is None:
            state = "none"
        elif age <= cadence:
            state = "ok"
        elif feed.event_driven:
            state = "quiet"
        elif age <= 3 * cadence:
            state = "stale"
        else:
            state = "dead"
        states.append({"feed": name, "last_received": last, "last_data_at": row["last_data_at"] if row else None,
                       "age_s": age, "cadence_s": cadence, "state": state})
    return states


def _run(query, db, as_of):
    try:
        return query(db, as_of)
    except Exception:  # noqa: BLE001 - one broken query must not blank the wall
        log.exception("wall query %s failed", getattr(query, "__name__", query))
        return FAILED


def build(db: Database, as_of: datetime, *, live: bool = False) -> dict:
    def assemble():
        layers = {layer.id: _run(layer.query, db, as_of) for layer in all_layers() if layer.query}
        tiles = {tile.id: _run(tile.query, db, as_of) for tile in all_tiles()}
        activity = queries.feed_activity(db, as_of, list(all_feeds()))
        feeds = feed_states(activity, as_of)
        found = _run(lambda d, t: current_alarms(d, t, feeds), db, as_of)
        level = _run(queries.level, db, as_of)
        if level is FAILED:
            level = {"level": "normal", "drill": False, "since": None, "reason": None, "set_by": None}
        return {"as_of": as_of, "level": level, "layers": layers, "tiles": tiles, "feeds": feeds,
                "alarms": [] if found is FAILED else found}

    with db.bound():
        return with_memo(assemble, live=live)


def snapshot(db: Database, as_of: datetime | None) -> dict:
    if as_of is None:
        # Live: now rounded up to the second, and a level switch starts a new cache entry, so
        # every screen shows a switch at its next refresh (issue 6: within 2 seconds).
        now = datetime.now(timezone.utc)
        moment = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)
        switched = db.one("SELECT max(time) AS time FROM ops_level_change")
        return _cache.get((moment, switched and switched["time"]), lambda: build(db, moment, live=True))
    moment = as_of.replace(microsecond=0)
    return _cache.get(moment, lambda: build(db, moment))


def parse_as_of(value: str | None) -> datetime | None:
    """An as-of time from the URL (ISO 8601; Taipei time when no offset); None means live."""
    if not value:
        return None
    from ingest.feeds._common import TAIPEI

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TAIPEI)
    now = datetime.now(timezone.utc)
    return None if dt > now - timedelta(seconds=1) else dt
