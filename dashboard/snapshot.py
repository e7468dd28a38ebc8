"""What the wall shows at one moment, assembled from the queries and cached briefly.

Twenty screens refreshing every second ask for the same moment: they share one snapshot
(keyed by the moment, rounded to the second) instead of each running every query.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.feeds import all_feeds

from . import queries
from .data import Database, TTLCache

_cache = TTLCache(ttl=1.0)


def feed_states(activity: dict[str, dict], as_of: datetime) -> list[dict]:
    """Each feed's freshness: ok within its cadence, stale past it, dead past 3x (or never)."""
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
        elif age <= 3 * cadence:
            state = "stale"
        else:
            state = "dead"
        states.append({"feed": name, "last_received": last, "last_data_at": row["last_data_at"] if row else None,
                       "age_s": age, "cadence_s": cadence, "state": state})
    return states


def build(db: Database, as_of: datetime) -> dict:
    detectors = queries.detectors(db, as_of)
    # "Reporting" means within the detectors' cadence; older readings still show on the map.
    cadence = all_feeds()["tdx-vdlive"].cadence
    fresh = [d for d in detectors if d["time"] > as_of - cadence]
    speeds = [d["speed_kmh"] for d in fresh if d["speed_kmh"] is not None]
    activity = queries.feed_activity(db, as_of, list(all_feeds()))
    return {
        "as_of": as_of,
        "detectors": detectors,
        "traffic": {
            "reporting": len(fresh),
            "known": len(detectors),
            "mean_speed": sum(speeds) / len(speeds) if speeds else None,
            "data_time": max((d["time"] for d in fresh), default=None),
        },
        "feeds": feed_states(activity, as_of),
    }


def snapshot(db: Database, as_of: datetime | None) -> dict:
    moment = (as_of or datetime.now(timezone.utc)).replace(microsecond=0)
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
