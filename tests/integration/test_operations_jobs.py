"""The operations jobs against a real TimescaleDB: retention drops whole chunks of old readings
(and only those), the disk check reports each filesystem of the local services."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from ingest import retention
from ioc.jobs import JobContext
from ioc.jobs import disk as disk_job
from ioc.jobs import retention as retention_job

pytestmark = pytest.mark.integration


def context(db) -> JobContext:
    return JobContext(db.url, db.owner_url, None, threading.Event(), {})


def test_retention_drops_old_chunks_and_keeps_the_rest(db, monkeypatch):
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(days=500), now - timedelta(days=2)
    db.query("INSERT INTO vd_reading (time, vd_id, speed_kmh) VALUES (%s, 'OLD', 50), (%s, 'NEW', 50) "
             "RETURNING 1", (old, recent))
    db.query("INSERT INTO dead_letter (received_at, feed, source, topic, stage, error, raw) VALUES "
             "(%s, 'tdx-vdlive', 'mqtt', 't', 'decode', 'x', 'old'), (%s, 'tdx-vdlive', 'mqtt', 't', 'decode', "
             "'x', 'new') RETURNING 1", (old, recent))
    db.query("INSERT INTO feed_activity (time, feed, received, stored, rejected) VALUES "
             "(%s, 'f', 1, 1, 0), (%s, 'f', 1, 1, 0) RETURNING 1", (old, recent))
    db.query("INSERT INTO incident_history (id, category, priority, status, reported_at, updated_at) "
             "VALUES ('I-OLD', 'traffic_accident', 2, 'reported', %s, %s) RETURNING 1", (old, old))
    monkeypatch.setenv("IOC_RETENTION_DAYS", "400")
    monkeypatch.setenv("IOC_RETENTION_TABLES", "incident_history=0")  # kept for ever

    retention_job.run(context(db))

    assert db.query("SELECT vd_id FROM vd_reading") == [("NEW",)]
    assert db.query("SELECT convert_from(raw, 'UTF8') FROM dead_letter") \
        == [("new",)]
    assert db.scalar("SELECT count(*) FROM feed_activity") == 1
    assert db.scalar("SELECT count(*) FROM incident_history") == 1
    status, detail = db.query("SELECT status, detail FROM health_check WHERE name = 'retention'")[0]
    assert status == "ok"
    assert detail["days"]["vd_reading"] == 400 and "incident_history" not in detail["days"]
    assert detail["dropped_chunks"]["vd_reading"] == 1

    # Nothing left to drop: a second run drops nothing and fails on nothing.
    retention_job.run(context(db))
    assert db.query("SELECT vd_id FROM vd_reading") == [("NEW",)]


def test_retention_keeps_other_hypertables_unless_named(db):
    import psycopg

    with psycopg.connect(db.owner_url, autocommit=True) as conn:
        plan = {p.table: p.days for p in retention.policies(conn, 30, {"kpi_measurement": 800})}
    assert plan["vd_reading"] == 30 and plan["dead_letter"] == 30 and plan["feed_activity"] == 30
    assert plan["kpi_measurement"] == 800
    assert "coverage_snapshot" not in plan


def test_retention_settings_are_checked():
    assert retention.parse_overrides(" vd_reading=90, dead_letter = 30 ,") == {"vd_reading": 90, "dead_letter": 30}
    for bad in ("vd_reading", "vd_reading=ninety", "=3", "vd_reading=-1"):
        with pytest.raises(ValueError):
            retention.parse_overrides(bad)


def test_disk_check_reports_every_filesystem(db, tmp_path, monkeypatch):
    (tmp_path / "pg").mkdir()
    monkeypatch.setenv("IOC_HOME", str(tmp_path))
    monkeypatch.setenv("IOC_DISK_MIN_FREE_MB", str(1 << 40))  # more than any disk here: critical
    disk_job.run(context(db))
    rows = dict(db.query("SELECT name, status FROM health_check"))
    assert rows["disk:home"] == "critical"  # home and pg share one filesystem: reported once
    assert "disk:database" not in rows
    assert db.scalar("SELECT (detail->>'bytes')::bigint FROM health_check WHERE name = 'database_size'") > 0

    monkeypatch.setenv("IOC_DISK_MIN_FREE_MB", "1")
    monkeypatch.setenv("IOC_DISK_WARN_FREE_PCT", "0")
    disk_job.run(context(db))
    assert db.scalar("SELECT status FROM health_check WHERE name = 'disk:home'") == "ok"


def test_disk_levels():
    gib = 1 << 30
    assert disk_job.classify(50 * gib, 100 * gib, warn_pct=10, min_free_mb=1024) == "ok"
    assert disk_job.classify(5 * gib, 100 * gib, warn_pct=10, min_free_mb=1024) == "low"
    assert disk_job.classify(gib // 2, 100 * gib, warn_pct=10, min_free_mb=1024) == "critical"
