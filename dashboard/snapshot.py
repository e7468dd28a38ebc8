"""What the wall shows at one moment: every layer's and tile's data and every feed's health,
assembled once per moment and shared by all screens asking for it (cached one second)."""

from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from ingest.feeds import all_feeds

from . import queries
from .alarms import current_alarms
from .data import Database, TTLCache, unbound, with_memo
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


# A snapshot's queries run on two connections at once: much of their time is the database's
# (a round trip each), and the database has a core to spare meanwhile.
QUERY_THREADS = 2
_helpers = ThreadPoolExecutor(max_workers=4 * (QUERY_THREADS - 1), thread_name_prefix="wall-query")


_cost: dict = {}  # job -> seconds its last run took: to give each thread an even share


def _timed(key, query, db, as_of):
    started = time.perf_counter()
    value = _run(query, db, as_of)
    _cost[key] = time.perf_counter() - started
    return key, value


def _run_all(db: Database, as_of: datetime, jobs: list) -> dict:
    """(key, query) jobs split over QUERY_THREADS connections (this thread's, and helper threads'
    with their own), the slowest first, each to the thread with the least to do; a query several
    layers share still runs once (`data.shared`)."""
    chunks: list[list] = [[] for _ in range(QUERY_THREADS)]
    loads = [0.0] * QUERY_THREADS
    for key, query in sorted(jobs, key=lambda job: -_cost.get(job[0], 0.0)):
        i = loads.index(min(loads))
        chunks[i].append((key, query))
        loads[i] += _cost.get(key, 0.0)

    def part(chunk):
        unbound()
        with db.bound():
            return [_timed(key, query, db, as_of) for key, query in chunk]

    others = [_helpers.submit(contextvars.copy_context().run, part, chunk) for chunk in chunks[1:]]
    found = [_timed(key, query, db, as_of) for key, query in chunks[0]]
    for future in others:
        found += future.result()
    return dict(found)


def build(db: Database, as_of: datetime, *, live: bool = False) -> dict:
    def assemble():
        jobs = [(("layer", layer.id), layer.query) for layer in all_layers() if layer.query]
        jobs += [(("tile", tile.id), tile.query) for tile in all_tiles()]
        found = _run_all(db, as_of, jobs)
        layers = {key[1]: value for key, value in found.items() if key[0] == "layer"}
        tiles = {key[1]: value for key, value in found.items() if key[0] == "tile"}
        feeds, alarms, level = _status(db, as_of)
        return {"as_of": as_of, "level": level, "layers": layers, "tiles": tiles, "feeds": feeds,
                "alarms": alarms}

    with db.bound():
        return with_memo(assemble, live=live)


def _status(db: Database, as_of: datetime) -> tuple[list, list, dict]:
    """Every feed's health, the alarms and the operational level at `as_of`."""
    activity = queries.feed_activity(db, as_of, list(all_feeds()))
    feeds = feed_states(activity, as_of)
    found = _run(lambda d, t: current_alarms(d, t, feeds), db, as_of)
    level = _run(queries.level, db, as_of)
    if level is FAILED:
        level = {"level": "normal", "drill": False, "since": None, "reason": None, "set_by": None}
    return feeds, [] if found is FAILED else found, level


def live_status(db: Database) -> tuple[list, dict]:
    """The live alarms and level for the alarm bar every page carries: from the live snapshot
    of this second when one is kept, else read on their own. Never by building a snapshot: its
    own timer would then hand the wall's next refresh, moments later, a snapshot from before
    what was committed meanwhile."""
    key = _live_key(db)
    kept = _cache.peek(key)
    if kept is not None:
        return kept["alarms"], kept["level"]
    return _status_cache.get(key, lambda: _read_status(db, key[0]))  # once a second for all pages


_status_cache = TTLCache(ttl=1.0)  # the alarm bar's own reads; never handed to the wall


def _read_status(db: Database, as_of: datetime) -> tuple[list, dict]:
    with db.bound():
        _, alarms, level = with_memo(lambda: _status(db, as_of), live=True)
    return alarms, level


def snapshot(db: Database, as_of: datetime | None, *, live_key: tuple | None = None) -> dict:
    """The snapshot at `as_of`, or live (None). `live_key`: a live snapshot's own `key`, to get
    that very snapshot again (the wall's map, drawn right after its panels) without asking the
    database which one is current."""
    if as_of is None:
        key = live_key or _live_key(db)
        # The screens of one second share its snapshot (one build a second however many ask).
        # The alarm bar, on a timer of its own, never builds one (`live_status`): a wall refresh
        # moments later would be handed it, without what was committed in between.
        return _cache.get(key, lambda: {**build(db, key[0], live=True), "key": key})
    moment = as_of.replace(microsecond=0)
    return _cache.get(moment, lambda: build(db, moment))


def _live_key(db: Database) -> tuple:
    # Now rounded up to the second, and a level switch starts a new cache entry, so every
    # screen shows a switch at its next refresh (issue 6: within 2 seconds).
    now = datetime.now(timezone.utc)
    moment = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)
    switched = db.one("SELECT max(time) AS time FROM ops_level_change")
    return moment, switched and switched["time"]


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
