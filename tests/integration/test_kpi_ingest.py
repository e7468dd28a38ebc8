"""KPI measurements in, for real: over MQTT through the ingest worker into the hypertable (refusals
dead-lettered), from a file with `ioc kpi import` (all or nothing, audit-logged), from the live
coverage calculation (I7b); and history is never overwritten."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import orjson
import psycopg
import pytest

from ioc.db import connect
from ioc.jobs.kpi_coverage import record_coverage
from ioc.kpi import store
from ioc.mqtt import Publisher
from tests.support.stack import ioc_env, start_worker
from tests.support.waiting import wait_until
from tests.unit.test_kpi_evaluate import SEED_2015

pytestmark = pytest.mark.integration

I3 = {"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20}


def ioc(db, broker, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True,
                          env=ioc_env(db, broker), timeout=120)


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.fixture
def worker(db, broker, tmp_path):
    proc = start_worker(db, broker, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture
def kpi_publisher(broker):
    pub = Publisher(broker.url("pub-kpi"), "kpi-publisher")  # the KPI publishers' own account
    yield pub
    pub.close()


def test_mqtt_measurements_are_stored_and_refusals_dead_lettered(db, worker, kpi_publisher):
    kpi_publisher.publish("ioc/v1/kpi/I3", orjson.dumps({**I3, "entered_by": "研考會", "source": "form"}), wait=True)
    kpi_publisher.publish("ioc/v1/kpi/project/road_paving",
                          orjson.dumps({"project": "road_paving", "as_of": "2015-06-30", "value": 61.5}), wait=True)
    kpi_publisher.publish("ioc/v1/kpi/I4", orjson.dumps(I3), wait=True)  # topic and payload disagree
    kpi_publisher.publish("ioc/v1/kpi/I3", orjson.dumps({**I3, "numerator": 21}), wait=True)
    kpi_publisher.publish("ioc/v1/kpi/I2", b'{"indicator": "I2", "as_of": "2015-06-31", "count": 2}', wait=True)

    rows = wait_until(lambda: db.query(
        "SELECT indicator, year, as_of, numerator, denominator, value, source, entered_by FROM kpi_measurement"),
        15, message="I3 stored")
    assert rows == [("I3", 2015, date(2015, 6, 30), 16.0, 20.0, 80.0, "mqtt", "研考會")]
    assert db.query("SELECT project, value, target, unit, source FROM project_measurement") == [
        ("road_paving", 61.5, 500.0, "km", "mqtt")]
    dead = wait_until(lambda: (found := db.query(
        "SELECT feed, topic, stage, error, raw FROM dead_letter ORDER BY id")) and len(found) == 3 and found,
        15, message="three dead letters")
    assert [(d[0], d[1], d[2]) for d in dead] == [("kpi", "ioc/v1/kpi/I4", "validate"),
                                                  ("kpi", "ioc/v1/kpi/I3", "validate"),
                                                  ("kpi", "ioc/v1/kpi/I2", "validate")]
    assert "the topic names indicator 'I4' but the payload is for 'I3'" in dead[0][3]
    assert "numerator 21 is above its denominator 20" in dead[1][3]
    assert "2015-06-31" in dead[2][3] and "not a real date" in dead[2][3]
    assert json.loads(bytes(dead[1][4]))["numerator"] == 21  # kept as it came
    assert db.query("SELECT count(*) FROM kpi_measurement") == [(1,)]


def test_import_writes_everything_or_nothing_and_is_audited(db, broker, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [*SEED_2015, {**I3, "numerator": 30}, {"indicator": "I8", "as_of": "2015-06-30"}])
    refused = ioc(db, broker, "kpi", "import", bad)
    assert refused.returncode == 2
    assert f"line {len(SEED_2015) + 1}: numerator 30 is above its denominator 20" in refused.stderr
    assert f"line {len(SEED_2015) + 2}: unknown indicator 'I8'" in refused.stderr
    assert db.scalar("SELECT count(*) FROM kpi_measurement") == 0  # not even the good lines

    lines = [*SEED_2015, {"indicator": "I1", "as_of": "2015-06-30", "numerator": 0, "denominator": 0,
                          "entered_by": "someone else", "remark": "call open until 09-30"},
             {"project": "tree_planting", "as_of": "2015-06-30", "value": 125000}]
    good = write_jsonl(tmp_path / "good.jsonl", lines)
    run = ioc(db, broker, "kpi", "import", good)
    assert run.returncode == 0, run.stderr
    assert f"imported {len(SEED_2015) + 1} indicator and 1 project measurement(s)" in run.stdout
    user = getpass.getuser()
    stored = db.query("SELECT DISTINCT source, entered_by FROM kpi_measurement")
    assert stored == [("file", user)]  # who ran the import entered them
    assert db.scalar("SELECT entered_by FROM project_measurement") == user
    audit = db.query("SELECT actor, action, target, after FROM audit_log WHERE action = 'kpi.import'")
    assert len(audit) == 1
    actor, _, target, after = audit[0]
    assert actor == f"cli:{user}" and target.endswith("good.jsonl")
    assert after["indicators"] == len(SEED_2015) + 1 and after["projects"] == 1

    shown = ioc(db, broker, "kpi", "show", "--year", "2015", "--as-of", "2015-06-30", "--json")
    assert shown.returncode == 0, shown.stderr
    tiles = {t["id"]: t for t in json.loads(shown.stdout)["indicators"]}
    assert tiles["I3"]["status"] == "met" and tiles["I1"]["status"] == "no_data"
    assert tiles["I3"]["measurement"]["source"] == "file"


def test_history_is_never_overwritten(db, broker, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", [I3])
    correction = write_jsonl(tmp_path / "correction.jsonl", [{**I3, "numerator": 15, "note": "corrected"}])
    assert ioc(db, broker, "kpi", "import", first).returncode == 0
    assert ioc(db, broker, "kpi", "import", correction).returncode == 0
    assert ioc(db, broker, "kpi", "import", first).returncode == 0  # an import again is a new entry too
    rows = db.query("SELECT numerator, note FROM kpi_measurement ORDER BY recorded_at")
    assert rows == [(16.0, None), (15.0, "corrected"), (16.0, None)]

    with connect(db.url, autocommit=True) as conn:
        evaluation = store.evaluate_stored(conn, 2015, "2015-06-30")
        assert next(t for t in evaluation["indicators"] if t["id"] == "I3")["value"] == 80.0  # the latest entry
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE kpi_measurement SET numerator = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM kpi_measurement")
    with psycopg.connect(db.owner_url, autocommit=True) as owner, pytest.raises(psycopg.errors.RaiseException):
        owner.execute("UPDATE kpi_measurement SET numerator = 1")
    assert db.scalar("SELECT count(*) FROM kpi_measurement") == 3

    # The same measurement with its own recorded_at, sent twice (a replay), is stored once.
    replay = write_jsonl(tmp_path / "replay.jsonl", [{**I3, "recorded_at": "2015-07-01T09:00:00+08:00"}])
    assert ioc(db, broker, "kpi", "import", replay).returncode == 0
    again = ioc(db, broker, "kpi", "import", replay)
    assert again.returncode == 0 and "1 already stored" in again.stdout
    assert db.scalar("SELECT count(*) FROM kpi_measurement") == 4


def test_i7b_follows_the_city_coverage_snapshot(db):
    def snapshot(at: datetime, covered: float, population: int = 2_684_980):
        with psycopg.connect(db.owner_url, autocommit=True) as owner:
            owner.execute("INSERT INTO coverage_snapshot (time, scope, code, population, covered_population, "
                          "pct_population, area_km2, covered_area_km2, pct_area, stations_up, stations_down) "
                          "VALUES (%s, 'city', '66000', %s, %s, %s, 2214.9, 1364.4, 61.6, 900, 3)",
                          (at, population, covered, 100 * covered / population))

    def i7b():
        return db.query("SELECT as_of, numerator, denominator, source, entered_by FROM kpi_measurement "
                        "WHERE indicator = 'I7b' ORDER BY recorded_at, as_of")

    t0 = datetime(2015, 3, 31, 2, 0, tzinfo=timezone.utc)
    with connect(db.url, autocommit=True) as conn:
        assert record_coverage(conn, now=t0) is False  # no snapshot yet: nothing to say
        snapshot(t0, 2_608_999.4)
        assert record_coverage(conn, now=t0) is True
        assert record_coverage(conn, now=t0 + timedelta(hours=1)) is False  # unchanged, same day
        assert record_coverage(conn, now=t0 + timedelta(days=1)) is True  # unchanged, but a new day
        snapshot(t0 + timedelta(days=1, hours=2), 2_610_000)
        assert record_coverage(conn, now=t0 + timedelta(days=1, hours=3)) is True  # changed
        assert record_coverage(conn, now=t0 + timedelta(days=8)) is True  # a new day, the snapshot under a week old
        assert record_coverage(conn, now=t0 + timedelta(days=10)) is False  # older: the calculation may be down
        evaluation = store.evaluate_stored(conn, 2015, "2015-04-01")
    assert i7b() == [
        (date(2015, 3, 31), 2608999.0, 2684980.0, "coverage", "job:kpi-coverage"),
        (date(2015, 4, 1), 2608999.0, 2684980.0, "coverage", "job:kpi-coverage"),
        (date(2015, 4, 1), 2610000.0, 2684980.0, "coverage", "job:kpi-coverage"),
        (date(2015, 4, 8), 2610000.0, 2684980.0, "coverage", "job:kpi-coverage"),
    ]
    tile = next(t for t in evaluation["indicators"] if t["id"] == "I7b")
    assert tile["value"] == pytest.approx(100 * 2_610_000 / 2_684_980)
    assert tile["status"] == "met" and tile["measurement"]["source"] == "coverage"
