"""Live coverage end to end: bts status messages (the bts feed's format) published to a real
Mosquitto, stored by the real ingest worker in TimescaleDB, turned into coverage snapshots by the
coverage-live job. A station going down changes exactly the villages its footprint reaches, the
stored figures equal a full recalculation, and the snapshot in force at an earlier moment is
still the earlier coverage."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely

from dashboard.data import Database
from dashboard.layers.coverage import coverage_at
from geo.incremental import CoverageState
from ioc.coverage.live import SNAPSHOT_COLUMNS
from ioc.db import connect
from ioc.jobs.coverage_live import step
from ioc.mqtt import Publisher
from tests.support.stack import ioc_env, start_ioc, start_worker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

# Around 北屯區/北區: small and large villages, so footprints cross many village edges.
CENTRE = np.array([219_500.0, 2_673_500.0])
N = 30


def small_layout(seed: int = 11) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = CENTRE + rng.normal(0, 2200, (N, 2))
    sector = rng.random(N) < 0.3
    frame = gpd.GeoDataFrame(
        {"station_id": [f"TST-4G-{i:03d}" for i in range(N)],
         "radius_m": np.round(rng.uniform(300, 1400, N), 1),
         "azimuth_deg": np.where(sector, np.round(rng.uniform(0, 359, N), 1), np.nan),
         "beamwidth_deg": np.where(sector, np.round(rng.uniform(40, 180, N), 1), np.nan)},
        geometry=shapely.points(xy), crs="EPSG:3826").to_crs("EPSG:4326")
    frame["lon"] = np.round(frame.geometry.x, 7)
    frame["lat"] = np.round(frame.geometry.y, 7)
    return frame


def message(row, status: str, when: datetime, technology: str = "4G") -> bytes:
    footprint = {"radius_m": float(row.radius_m)}
    if not np.isnan(row.azimuth_deg):
        footprint.update(azimuth_deg=float(row.azimuth_deg), beamwidth_deg=float(row.beamwidth_deg))
    return orjson.dumps({"bts_id": row.station_id, "operator": "中華電信", "technology": technology,
                         "lon": float(row.lon), "lat": float(row.lat), "footprint": footprint,
                         "status": status, "time": when.isoformat()})


def full_recalculation(layout: gpd.GeoDataFrame, statuses: dict[str, str]):
    """Coverage computed from scratch for the layout with these statuses (lon/lat as stored)."""
    frame = layout.drop(columns="geometry").assign(status=[statuses[s] for s in layout["station_id"]])
    return CoverageState(frame).result().villages.set_index("code")


def village_rows(rows: list[tuple]) -> dict[str, dict]:
    return {r[2]: dict(zip(SNAPSHOT_COLUMNS, r)) for r in rows if r[1] == "village"}


@pytest.fixture
def worker(db, broker, tmp_path):
    proc = start_worker(db, broker, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture
def publisher(broker):
    pub = Publisher(broker.url("pub-telecom"), "test-telecom")
    yield pub
    pub.close()


def publish(publisher, layout, statuses: dict[str, str], when: datetime) -> None:
    """One message per station named in `statuses`, as the operators' gateway sends them."""
    for row in layout.itertuples(index=False):
        if row.station_id in statuses:
            publisher.publish(f"ioc/v1/telecom/bts/{row.station_id}", message(row, statuses[row.station_id], when),
                              wait=True)


def current_status(db, bts_id: str) -> str | None:
    return db.scalar("SELECT status FROM bts_current WHERE bts_id = %s", (bts_id,))


def test_a_station_going_down_changes_only_its_villages_and_equals_a_full_recalculation(db, worker, publisher):
    layout = small_layout()
    statuses = {sid: "up" for sid in layout["station_id"]}
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=30)
    publish(publisher, layout, statuses, start)
    # A 5G station in the same place is not part of the 4G figure.
    fiveg = layout.iloc[[0]].assign(station_id="TST-5G-000", radius_m=20_000.0)
    publisher.publish("ioc/v1/telecom/bts/TST-5G-000", message(next(fiveg.itertuples(index=False)), "up", start,
                                                                 technology="5G"), wait=True)
    wait_until(lambda: db.scalar("SELECT count(*) FROM bts_current") == N + 1, 20, message="stations stored")

    memory: dict = {}
    with connect(db.url, autocommit=True) as conn:
        first = step(conn, memory)
        assert len(first) == 1 + 29 + 625  # the full snapshot on start
        before = full_recalculation(layout, statuses)
        got = village_rows(first)
        np.testing.assert_allclose([got[c]["covered_population"] for c in before.index],
                                   before["covered_population"].to_numpy(), rtol=1e-9, atol=1e-6)
        assert first[0][1] == "city" and first[0][10] == 0  # no station down
        assert step(conn, memory) == []  # nothing changed: nothing stored
        between = datetime.now(timezone.utc)

        # Pick a station whose footprint is not covered by the others everywhere.
        for victim in layout["station_id"]:
            after = full_recalculation(layout, {**statuses, victim: "down"})
            moved = (after["covered_area_m2"] - before["covered_area_m2"]).abs() > 0.01
            if moved.sum() >= 2:
                break
        assert moved.sum() >= 2, "the layout should have a station whose loss shows"
        expected_villages = set(after.index[moved]) | set(
            after.index[(after["stations_down"] != before["stations_down"])])

        publish(publisher, layout, {victim: "down"}, datetime.now(timezone.utc).replace(microsecond=0))
        wait_until(lambda: current_status(db, victim) == "down", 20, message="down report stored")

        second = step(conn, memory)
        got = village_rows(second)
        assert set(got) == expected_villages  # only the villages its footprint reaches
        for code, row in got.items():
            assert row["covered_population"] == pytest.approx(after.loc[code, "covered_population"], abs=1e-6)
            assert row["covered_area_km2"] == pytest.approx(after.loc[code, "covered_area_m2"] / 1e6, abs=1e-9)
            assert row["baseline_covered_population"] == pytest.approx(before.loc[code, "covered_population"],
                                                                       abs=1e-6)
        city = dict(zip(SNAPSHOT_COLUMNS, second[0]))
        assert city["covered_population"] == pytest.approx(after["covered_population"].sum(), rel=1e-12)
        assert city["stations_down"] == 1
        lost = before["covered_population"].sum() - after["covered_population"].sum()
        assert lost > 0
        assert city["baseline_covered_population"] - city["covered_population"] == pytest.approx(lost, rel=1e-9)

    # Time travel: the wall's query at a moment between the snapshots sees the earlier coverage.
    dashboard_db = Database(db.url, max_size=2)
    try:
        past = coverage_at(dashboard_db, between)
        now = coverage_at(dashboard_db, datetime.now(timezone.utc))
    finally:
        dashboard_db.close()
    assert past["city"]["covered_population"] == pytest.approx(before["covered_population"].sum(), rel=1e-12)
    assert past["city"]["lost"] == pytest.approx(0, abs=1e-6)
    assert now["city"]["covered_population"] == pytest.approx(after["covered_population"].sum(), rel=1e-12)
    assert now["city"]["lost"] == pytest.approx(lost, rel=1e-9)
    assert len(now["villages"]) == 625 and len(now["districts"]) == 29
    now_by_code = {r["code"]: r for r in now["villages"]}
    assert {c for c, r in now_by_code.items() if r["lost"] > 1e-6} <= expected_villages


def test_the_job_runs_as_a_process_and_follows_a_station_down_and_up(db, broker, worker, publisher, tmp_path):
    layout = small_layout(seed=5)
    statuses = {sid: "up" for sid in layout["station_id"]}
    statuses[layout["station_id"].iloc[7]] = "down"
    publish(publisher, layout, statuses, datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=20))
    wait_until(lambda: db.scalar("SELECT count(*) FROM bts_current") == N, 20, message="stations stored")

    # `ioc coverage compute` without --stations computes the current stations of bts_current.
    cli = subprocess.run([sys.executable, "-m", "ioc", "coverage", "compute", "--json"], env=ioc_env(db, broker),
                         capture_output=True, text=True, timeout=180)
    assert cli.returncode == 0, cli.stderr
    assert f"{N} 4G stations of bts_current (1 down)" in cli.stderr
    assert json.loads(cli.stdout) == CoverageState(layout.drop(columns="geometry").assign(
        status=[statuses[s] for s in layout["station_id"]])).summary()
    statuses[layout["station_id"].iloc[7]] = "up"
    publish(publisher, layout, {layout["station_id"].iloc[7]: "up"}, datetime.now(timezone.utc).replace(microsecond=0))
    wait_until(lambda: current_status(db, layout["station_id"].iloc[7]) == "up", 20, message="back up")

    job = start_ioc(["jobs", "run", "--only", "coverage-live"], ioc_env(db, broker), tmp_path / "jobs.log")
    try:
        city = ("SELECT stations_down, covered_population FROM coverage_snapshot WHERE scope = 'city' "
                "ORDER BY time DESC LIMIT 1")
        first = wait_until(lambda: db.query(city), 60, message="first snapshot")[0]
        assert first[0] == 0
        victim = layout["station_id"].iloc[3]
        publish(publisher, layout, {victim: "down"}, datetime.now(timezone.utc).replace(microsecond=0))
        down = wait_until(lambda: (r := db.query(city)) and r[0][0] == 1 and r[0], 20, message="down in a snapshot")
        assert down[1] <= first[1]
        publish(publisher, layout, {victim: "up"},
                datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1))
        back = wait_until(lambda: (r := db.query(city)) and r[0][0] == 0 and r[0], 20, message="up again")
        assert back[1] == pytest.approx(first[1], rel=1e-12)
        assert job.alive(), job.log()
    finally:
        job.stop()


def test_station_list_changes_rebuild_and_a_late_report_is_caught_by_the_reconcile(db, monkeypatch):
    """bts_current written directly (the worker's part is tested above): the job's bookkeeping."""
    import ioc.coverage.live as live_module

    layout = small_layout(seed=2).iloc[:4]
    old = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    insert = ("INSERT INTO bts_current (time, bts_id, operator, technology, lon, lat, radius_m, status) "
              "VALUES (%s, %s, 'op', '4G', %s, %s, %s, %s)")

    def put(row, when, status="up", lon=None):
        db.query(insert + " ON CONFLICT (bts_id) DO UPDATE SET time = EXCLUDED.time, "
                 "lon = EXCLUDED.lon, status = EXCLUDED.status RETURNING 1",
                 (when, row.station_id, lon if lon is not None else float(row.lon), float(row.lat),
                  float(row.radius_m), status))

    rows = list(layout.itertuples(index=False))
    for row in rows[:3]:
        put(row, old)
    memory: dict = {}
    with connect(db.url, autocommit=True) as conn:
        assert len(step(conn, memory)) == 655 and memory["live"].state.stations_up == 3
        put(rows[3], datetime.now(timezone.utc))  # a new station: the list changed
        assert len(step(conn, memory)) == 655 and memory["live"].state.stations_up == 4
        put(rows[1], datetime.now(timezone.utc), lon=float(rows[1].lon) + 0.01)  # moved
        assert len(step(conn, memory)) == 655
        assert memory["live"].stations.set_index("station_id").loc[rows[1].station_id, "lon"] == pytest.approx(
            float(rows[1].lon) + 0.01)

        put(rows[0], old + timedelta(minutes=1), status="down")  # committed late, older than the poll margin
        assert step(conn, memory) == []  # the frequent poll does not see it...
        monkeypatch.setattr(live_module, "RECONCILE_EVERY_S", 0.0)
        caught = step(conn, memory)  # ...the reconcile does
        assert caught and caught[0][1] == "city" and caught[0][10] == 1

        db.query("DELETE FROM bts_current RETURNING 1")
        assert step(conn, memory) == [] and not memory["live"].ready
