"""A database that looks like 30 days of a live operations center, for the wall benchmark.

* 2,000 detectors (sites through the `tdx-vd` feed) and their readings, written straight with
  `generate_series` (fast): 30 days at the spacing that gives the asked-for number of rows
  (10 million: one reading per detector every ~8.6 minutes), then the last two hours at the
  live cadence of 2 minutes, so the wall sees every detector as reporting.
* what the wall shows beside the traffic, through the feeds' own parsers and the real sink
  (so the rows are what ingest writes): police incidents (800 a day, two updates each, the last
  few hours still open), road events (30 a day, the last day's active), CAP alerts (10 a day,
  from the recorded Taiwan alerts in tests/fixtures, the latest in force), the NFA shelter list
  and two days of hourly occupancy of 100 open shelters. The live plausibility window (14 days)
  is not applied to this history: `check` is for live messages.
"""

from __future__ import annotations

import random
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import psycopg

from ingest.envelope import Accepted, Envelope
from ingest.feeds import get as feed
from ingest.feeds._common import TAIPEI
from ingest.sink import Sink, all_tables

from .stack import ROOT
from .vdlive import DETECTORS, Messages, detector_sites

DAYS = 30
LIVE_HOURS = 2
LIVE_STEP_S = 120
# The live cadence runs on a little past `now`, so that for the next minutes of the benchmark
# every detector keeps a reading younger than 2 minutes at the moment the wall asks for: the
# queries never see rows after their as_of, so what they see is exactly a live city.
LIVE_AHEAD_MIN = 20
CAP_FIXTURES = ("tw_fifows_extremely-rain_202404230229.cap", "tw_cwa.gov.tw_thunderstorm_20240424044654_000.cap",
                "tw_fifows_heat_202404221733.cap")


def readings(db, rows: int, now: datetime) -> dict:
    """~`rows` readings over 30 days plus the live two hours; two connections share the work."""
    start = now - timedelta(days=DAYS)
    live_from = now - timedelta(hours=LIVE_HOURS)
    step_s = max(60, round(DAYS * 86400 * DETECTORS / rows))
    # Each detector reports at its own second within the step, like real clocks.
    sql = """
        INSERT INTO vd_reading (time, vd_id, speed_kmh, volume, occupancy_pct, status, received_at)
        SELECT t + make_interval(secs => i %% %(step)s), 'VD-BENCH-' || lpad(i::text, 4, '0'),
               greatest(3, 55 - 25 * sin(extract(epoch FROM t) / 13750.0 + i) + 8 * random())::real,
               (20 + 40 * random())::int, (5 + 40 * random())::real, 0,
               t + make_interval(secs => i %% %(step)s + 3)
          FROM generate_series(%(a)s::timestamptz, %(b)s::timestamptz, make_interval(secs => %(step)s)) t,
               generate_series(0, %(n)s - 1) i
         WHERE t + make_interval(secs => i %% %(step)s) < %(b_excl)s"""
    parts = []
    span = (live_from - start) / 2
    parts.append((start, start + span - timedelta(seconds=1), start + span, step_s))
    parts.append((start + span, live_from - timedelta(seconds=1), live_from, step_s))
    live_to = now + timedelta(minutes=LIVE_AHEAD_MIN)
    live = (live_from, live_to - timedelta(seconds=LIVE_STEP_S), live_to, LIVE_STEP_S)
    jobs = [parts[0], parts[1], live]
    errors: list[BaseException] = []

    def load(group):
        try:
            with psycopg.connect(db.owner_url, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = off")
                for a, b, b_excl, step in group:
                    conn.execute(sql, {"a": a, "b": b, "b_excl": b_excl, "step": step, "n": DETECTORS})
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=load, args=([jobs[0], jobs[2]],)), threading.Thread(target=load, args=([jobs[1]],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return {"step_s": step_s, "live_step_s": LIVE_STEP_S}


class FeedLoader:
    """Payloads through a feed's parser and the real sink (no live time window)."""

    def __init__(self, db_url: str):
        self.sink = Sink(db_url, all_tables(), timeout_s=120)
        self.counts: dict[str, int] = {}

    def load(self, feed_name: str, topic: str, payload: bytes, received_at: datetime) -> None:
        f = feed(feed_name)
        records = f.parse(payload)
        rows = [row for rec in records for row in f.to_rows(rec, received_at)]
        self.sink.write([(Envelope("file", topic, payload, received_at), Accepted(f.name, rows, None))])
        self.counts[feed_name] = self.counts.get(feed_name, 0) + len(records)

    def close(self) -> None:
        self.sink.close()


def _iso(t: datetime) -> str:
    return t.astimezone(TAIPEI).replace(microsecond=0).isoformat()


def incidents(loader: FeedLoader, now: datetime, rng: random.Random, per_day: int = 800) -> None:
    from ingest.feeds.incident import CATEGORIES

    sites = detector_sites()
    batch: list[dict] = []
    total = DAYS * per_day
    for n in range(total):
        reported = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        site = rng.choice(sites)
        dispatched = reported + timedelta(seconds=rng.uniform(30, 300))
        on_scene = dispatched + timedelta(seconds=rng.uniform(120, 900))
        closed = on_scene + timedelta(seconds=rng.uniform(600, 7200))
        base = {"id": f"TC110-{reported.astimezone(TAIPEI):%Y%m%d}-{n:06d}", "category": rng.choice(CATEGORIES),
                "priority": rng.choice((1, 2, 2, 3, 3, 3)), "lon": round(site.lon + rng.uniform(-0.004, 0.004), 6),
                "lat": round(site.lat + rng.uniform(-0.004, 0.004), 6), "unit": "分局",
                "reported_at": _iso(reported), "notes": "bench"}
        first = {**base, "status": "dispatched", "dispatched_at": _iso(min(dispatched, now)),
                 "updated_at": _iso(min(dispatched, now))}
        if closed < now:
            last = {**first, "status": "closed", "on_scene_at": _iso(on_scene), "closed_at": _iso(closed),
                    "updated_at": _iso(closed)}
        elif on_scene < now:
            last = {**first, "status": "on_scene", "on_scene_at": _iso(on_scene), "updated_at": _iso(on_scene)}
        else:
            last = None
        batch.append(first)
        if last is not None:
            batch.append(last)
        if len(batch) >= 2000:
            loader.load("incident", "ioc/v1/police/incidents", orjson.dumps(batch), now)
            batch = []
    if batch:
        loader.load("incident", "ioc/v1/police/incidents", orjson.dumps(batch), now)


def road_events(loader: FeedLoader, now: datetime, rng: random.Random, per_day: int = 30) -> None:
    kinds = ("accident", "construction", "closure", "flooding", "congestion", "obstacle", "signal_fault", "event")
    sites = detector_sites()
    events = []
    for n in range(DAYS * per_day):
        start = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        site = rng.choice(sites)
        active = now - start < timedelta(hours=24)
        end = None if active else start + timedelta(hours=rng.uniform(0.5, 12))
        events.append({"id": f"TXG-EV-{start.astimezone(TAIPEI):%Y%m%d}-{n:04d}", "kind": rng.choice(kinds),
                       "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                       "road": site.name_zh.split("/")[0][:40], "direction": "both", "lanes_affected": 1,
                       "start": _iso(start), "end": _iso(end) if end else None,
                       "status": "active" if active else "cleared", "description": "bench",
                       "source": "臺中市政府交通局", "updated_at": _iso(end or start)})
    loader.load("traffic-event", "ioc/v1/traffic/events", orjson.dumps(events), now)


_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def cap_alerts(loader: FeedLoader, now: datetime, rng: random.Random, per_day: int = 10) -> None:
    templates = [(ROOT / "tests" / "fixtures" / "cap" / name).read_text(encoding="utf-8") for name in CAP_FIXTURES]
    for n in range(DAYS * per_day):
        text = templates[n % len(templates)]
        sent_orig = datetime.fromisoformat(re.search(r"<sent>([^<]+)</sent>", text).group(1))
        sent = now - timedelta(seconds=rng.uniform(0, DAYS * 86400)) if n >= 12 else now - timedelta(hours=n + 1)
        shift = sent - sent_orig
        text = _TIME.sub(lambda m: _iso(datetime.fromisoformat(m.group(0)) + shift), text)
        text = re.sub(r"<identifier>([^<]+)</identifier>", lambda m: f"<identifier>{m.group(1)}-b{n}</identifier>", text)
        loader.load("cap", "ioc/v1/disaster/cap", text.encode("utf-8"), now)


def shelters(loader: FeedLoader, now: datetime, rng: random.Random, open_count: int = 100) -> None:
    path = ROOT / "geo" / "data" / "poi" / "taichung_shelters_nfa_v9.csv"
    loader.load("shelters", "ioc/v1/disaster/shelter-list", Path(path).read_bytes(), now)
    ids = [r[0] for r in loader.sink._connection().execute("SELECT shelter_id FROM shelter").fetchall()]
    loader.sink.conn.commit()
    chosen = rng.sample(ids, min(open_count, len(ids)))
    updates = []
    for hour in range(48, 0, -1):
        t = now - timedelta(hours=hour)
        for sid in chosen:
            updates.append({"shelter_id": sid, "time": _iso(t), "occupancy": rng.randint(0, 300),
                            "status": rng.choice(("open", "open", "open", "full"))})
    for i in range(0, len(updates), 2000):
        loader.load("shelter-status", "ioc/v1/disaster/shelters/bench", orjson.dumps(updates[i:i + 2000]), now)


def tasks(db, now: datetime, per_day: int = 40) -> None:
    """Tasks as the operations desk creates them (no feed: the desk writes them): 40 a day, closed
    within hours, the last few hours' still created / acknowledged / in progress."""
    import yaml

    agencies = [a["code"] for a in yaml.safe_load((ROOT / "schemas" / "agencies.yaml").read_text("utf-8"))["agencies"]]
    sql = """
        WITH t AS (
            SELECT n, %(now)s::timestamptz - make_interval(secs => random() * %(span)s) AS created,
                   (1 + floor(random() * 3))::smallint AS priority
              FROM generate_series(1, %(count)s) n)
        INSERT INTO task (title, agency, priority, source, level, status, created_at, created_by, ack_deadline,
                          acknowledged_at, acknowledged_by, started_at, closed_at, closed_by, lon, lat)
        SELECT 'bench task ' || n, (%(agencies)s::text[])[1 + n %% cardinality(%(agencies)s::text[])], priority,
               (ARRAY['alert','incident','map','manual'])[1 + n %% 4], 'normal',
               CASE WHEN age > interval '6 hours' THEN 'closed'
                    WHEN age > interval '2 hours' THEN 'in_progress'
                    WHEN age > interval '20 minutes' THEN 'acknowledged' ELSE 'created' END,
               created, 'duty-bench', created + make_interval(mins => 10 * priority),
               CASE WHEN age > interval '20 minutes' THEN created + interval '8 minutes' END,
               CASE WHEN age > interval '20 minutes' THEN 'agency-bench' END,
               CASE WHEN age > interval '2 hours' THEN created + interval '30 minutes' END,
               CASE WHEN age > interval '6 hours' THEN created + interval '5 hours' END,
               CASE WHEN age > interval '6 hours' THEN 'agency-bench' END,
               120.55 + random() * 0.3, 24.05 + random() * 0.25
          FROM (SELECT *, %(now)s::timestamptz - created AS age FROM t) x"""
    with psycopg.connect(db.owner_url, autocommit=True) as conn:
        conn.execute(sql, {"now": now, "span": DAYS * 86400, "count": DAYS * per_day, "agencies": agencies})
        conn.execute("""INSERT INTO task_event (task_id, time, kind, actor)
                        SELECT id, created_at, 'created', created_by FROM task
                        UNION ALL SELECT id, acknowledged_at, 'acknowledged', acknowledged_by FROM task
                         WHERE acknowledged_at IS NOT NULL
                        UNION ALL SELECT id, closed_at, 'closed', closed_by FROM task WHERE closed_at IS NOT NULL""")


def build(db, rows: int, now: datetime, say) -> dict:
    """Fill `db`; returns what it holds."""
    loader = FeedLoader(db.url)
    rng = random.Random(5)
    try:
        topic, payload = Messages(now).site_list()
        loader.load("tdx-vd", topic, payload, now)
        say(f"wall data: {rows:,} readings of {DETECTORS:,} detectors")
        spacing = readings(db, rows, now)
        say("wall data: incidents, road events, CAP alerts, shelters")
        for name, fn in (("incident", incidents), ("traffic-event", road_events), ("cap", cap_alerts),
                         ("shelters", shelters)):
            try:
                fn(loader, now, rng)
            except Exception as exc:  # noqa: BLE001 - a feed another engineer is changing must not stop the bench
                say(f"wall data: {name} not loaded: {type(exc).__name__}: {exc}")
                loader.counts[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        loader.close()
    try:
        tasks(db, now)
    except Exception as exc:  # noqa: BLE001 - the task schema is another engineer's, still moving
        say(f"wall data: tasks not loaded: {type(exc).__name__}: {exc}")
    say("wall data: VACUUM ANALYZE")
    with psycopg.connect(db.owner_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    counts = {t: db.scalar(f"SELECT count(*) FROM {t}") for t in (
        "vd_site", "vd_reading", "incident", "incident_history", "traffic_event", "cap_alert", "cap_area",
        "shelter", "shelter_status", "feed_activity") if db.scalar("SELECT to_regclass(%s)", (t,))}
    in_force = db.scalar("SELECT count(DISTINCT (sender, identifier, sent)) FROM cap_alerts_in_force(%s)", (now,))
    open_incidents = db.scalar("SELECT count(*) FROM incident WHERE status <> 'closed'")
    active_events = db.scalar("SELECT count(*) FROM traffic_event WHERE status = 'active'")
    return {**counts, **spacing, "cap_in_force": in_force, "incidents_open": open_incidents,
            "road_events_active": active_events,
            "tasks": db.scalar("SELECT count(*) FROM task") if db.scalar("SELECT to_regclass('task')") else None,
            "tasks_open": db.scalar("SELECT count(*) FROM task WHERE status <> 'closed'")
            if db.scalar("SELECT to_regclass('task')") else None,
            "loaded": loader.counts}
