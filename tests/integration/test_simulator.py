"""`ioc simulate` is a publisher like any other: run against the real broker with a real ingest
worker and database, every feed's tables fill and nothing is dead-lettered.

The typhoon and the earthquake run side by side at high speed (the typhoon's 18 scenario
hours in 12 s, the earthquake's 8 in 8 s), so the whole of both timelines is covered."""

from __future__ import annotations

import pytest

from ingest.feeds import all_feeds
from ingest.simulate.simulation import NOT_SIMULATED
from tests.support.stack import ioc_env, start_ioc, start_worker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _simulate(db, broker, tmp_path, scenario: str, duration: int, speed: int):
    args = ["simulate", "--scenario", scenario, "--duration", str(duration), "--speed", str(speed),
            "--rate", "5", "--bts-refresh", "1800", "--seed", "11"]
    return start_ioc(args, ioc_env(db, broker), tmp_path / f"simulate-{scenario}.log")


def _tables_without_rows(db) -> list[str]:
    empty = []
    for name, feed in all_feeds().items():
        if name in NOT_SIMULATED:
            continue
        for table in feed.tables:
            if not db.scalar(f"SELECT EXISTS (SELECT 1 FROM {table.name})"):
                empty.append(f"{name}:{table.name}")
    return empty


def _dead_letters(db) -> list[tuple]:
    return db.query("SELECT feed, topic, stage, left(error, 300) FROM dead_letter ORDER BY id LIMIT 20")


# The drills' story as it must reach the database: alerts updated and cancelled through
# references, stations down and back, a quake felt in Taichung, calls closed, roads blocked.
STORY = {
    "typhoon alerts cancelled": "SELECT count(*) >= 4 FROM cap_alert WHERE msg_type = 'Cancel'",
    "updates and cancels refer to earlier alerts": "SELECT count(*) >= 10 FROM cap_reference",
    "stations down and back up": "SELECT count(*) > 0 FROM bts_status WHERE status = 'down' AND bts_id IN "
                                 "(SELECT bts_id FROM bts_status WHERE status = 'up')",
    "quake felt 5強 or more in Taichung": "SELECT coalesce(max(taichung_intensity_rank), 0) >= 6 FROM cwa_quake_report",
    "110 calls closed": "SELECT count(*) > 0 FROM incident WHERE status = 'closed'",
    "landslides on the road": "SELECT count(*) > 0 FROM traffic_event WHERE kind = 'landslide'",
    "all 17 STA datastreams": "SELECT count(DISTINCT datastream_id) = 17 FROM sta_observation",
}


def _untold(db) -> list[str]:
    return [name for name, query in STORY.items() if not db.scalar(query)]


def test_typhoon_and_earthquake_fill_every_feed_without_dead_letters(db, broker, tmp_path):
    worker = start_worker(db, broker, tmp_path / "worker.log")
    typhoon = _simulate(db, broker, tmp_path, "typhoon", 14, 5400)
    quake = _simulate(db, broker, tmp_path, "earthquake", 10, 3600)
    try:
        for proc in (quake, typhoon):
            proc.popen.wait(timeout=90)
            assert proc.popen.returncode == 0, proc.log()
            assert "published" in proc.log()
        try:  # the worker may still be working through the backlog
            wait_until(lambda: (not _tables_without_rows(db) and not _untold(db)) or _dead_letters(db), 60,
                       message="every simulated feed has rows and the drills' story is told")
        finally:
            dead = _dead_letters(db)
            assert not dead, "dead letters:\n" + "\n".join(map(str, dead))
            assert not _tables_without_rows(db)
            assert not _untold(db)
    finally:
        for proc in (typhoon, quake, worker):
            proc.stop()
