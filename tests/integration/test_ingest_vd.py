"""A detector reading published to a real Mosquitto lands in the real TimescaleDB hypertable;
a duplicate is stored once; a malformed message is dead-lettered and the worker keeps going."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from ioc.mqtt import Publisher
from tests.support.stack import start_worker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def vdlive(vd_id: str, when: datetime, speed: int = 42) -> bytes:
    return orjson.dumps({
        "VDID": vd_id, "Status": 0, "DataCollectTime": when.isoformat(),
        "LinkFlows": [{"LinkID": "L1", "Lanes": [
            {"LaneID": 0, "Speed": speed, "Occupancy": 12,
             "Vehicles": [{"VehicleType": "S", "Volume": 10, "Speed": speed}]},
            {"LaneID": 1, "Speed": speed + 10, "Occupancy": 8,
             "Vehicles": [{"VehicleType": "S", "Volume": 10, "Speed": speed + 10}]}]}],
    })


@pytest.fixture
def worker(db, broker, tmp_path):
    proc = start_worker(db, broker, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture
def publisher(broker):
    pub = Publisher(broker.url("simulator"), "test-publisher")
    yield pub
    pub.close()


def test_published_reading_is_stored(db, worker, publisher):
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=5)
    publisher.publish("ioc/v1/traffic/vd/VD-TEST-1", vdlive("VD-TEST-1", when, speed=42), wait=True)

    row = wait_until(lambda: db.query(
        "SELECT time, speed_kmh, volume, occupancy_pct FROM vd_reading WHERE vd_id = 'VD-TEST-1'"),
        10, message="reading stored")
    stored_time, speed, volume, occupancy = row[0]
    assert stored_time == when
    assert speed == pytest.approx(47.0)  # volume-weighted mean of 42 and 52 with equal volumes
    assert volume == 20
    assert occupancy == pytest.approx(10.0)
    activity = db.query("SELECT sum(received), sum(stored) FROM feed_activity WHERE feed = 'tdx-vdlive'")
    assert activity == [(1, 1)]


def test_duplicate_is_stored_once(db, worker, publisher):
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=5)
    payload = vdlive("VD-DUP", when)
    for _ in range(3):
        publisher.publish("ioc/v1/traffic/vd/VD-DUP", payload, wait=True)
    wait_until(lambda: db.scalar("SELECT sum(received) FROM feed_activity WHERE feed = 'tdx-vdlive'") == 3,
               10, message="three messages received")
    assert db.scalar("SELECT count(*) FROM vd_reading WHERE vd_id = 'VD-DUP'") == 1


def test_malformed_message_is_dead_lettered_and_worker_keeps_going(db, worker, publisher):
    publisher.publish("ioc/v1/traffic/vd/VD-BAD", b'{"VDID": "VD-BAD", "LinkFlows": [', wait=True)
    publisher.publish("ioc/v1/traffic/vd/VD-BAD", b'{"VDID": 17, "DataCollectTime": "x"}', wait=True)
    publisher.publish("ioc/v1/no/such/feed", b"hello", wait=True)
    dead = wait_until(lambda: (rows := db.query(
        "SELECT feed, source, topic, stage, error, raw FROM dead_letter ORDER BY id")) and len(rows) == 3 and rows,
        10, message="three dead letters")
    assert [(r[0], r[3]) for r in dead] == [("tdx-vdlive", "decode"), ("tdx-vdlive", "validate"), (None, "route")]
    assert bytes(dead[0][5]) == b'{"VDID": "VD-BAD", "LinkFlows": ['
    assert all(r[1] == "mqtt" for r in dead)
    assert "VDID" in dead[1][4]

    # ...and a good message after the bad ones is still stored.
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2)
    publisher.publish("ioc/v1/traffic/vd/VD-AFTER", vdlive("VD-AFTER", when), wait=True)
    wait_until(lambda: db.scalar("SELECT count(*) FROM vd_reading WHERE vd_id = 'VD-AFTER'") == 1, 10,
               message="good message after bad ones stored")
    assert worker.alive()
    assert db.scalar("SELECT sum(rejected) FROM feed_activity WHERE feed = 'tdx-vdlive'") == 2
