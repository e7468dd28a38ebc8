"""coverage_snapshot rows and the SQL migration that stores them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.coverage import compute_coverage
from geo.incremental import CoverageState
from geo.snapshots import COLUMNS, KEY, snapshot_rows

SQL = Path(__file__).resolve().parents[2] / "schemas" / "sql" / "050_coverage.sql"
TAIPEI = timezone(timedelta(hours=8))


def _result():
    stations = gpd.GeoDataFrame({"radius_m": [600.0, 900.0], "status": ["up", "down"]},
                                geometry=shapely.points([[217_600.0, 2_670_900.0], [218_500.0, 2_671_500.0]]),
                                crs="EPSG:3826")
    return stations, compute_coverage(stations)


def test_rows_cover_city_districts_villages_in_column_order():
    _, result = _result()
    when = datetime(2026, 3, 1, 12, 0, tzinfo=TAIPEI)
    rows = snapshot_rows(result, when)
    assert len(rows) == 1 + 29 + 625 and all(len(r) == len(COLUMNS) for r in rows)
    by_scope = {scope: [r for r in rows if r[1] == scope] for scope in ("city", "district", "village")}
    city = dict(zip(COLUMNS, by_scope["city"][0]))
    assert city["time"] == when and city["code"] == "66000" and city["population"] == 2_821_322
    assert city["covered_population"] == pytest.approx(sum(r[4] for r in by_scope["village"]))
    assert city["area_km2"] == pytest.approx(2216.525, abs=1e-3)
    assert 0 < city["pct_population"] < 100 and 0 < city["pct_area"] < 100
    assert city["stations_up"] == 1 and city["stations_down"] == 1
    assert {len(r[2]) for r in by_scope["district"]} == {8} and {len(r[2]) for r in by_scope["village"]} == {11}
    assert len({(r[1], r[2], r[0]) for r in rows}) == len(rows)  # the primary key holds


def test_only_the_villages_asked_for_and_aware_times_only():
    stations, _ = _result()
    state = CoverageState(stations)
    changed = state.set_status("S00002", "up")
    rows = state.snapshot_rows(datetime.now(timezone.utc), village_codes=changed)
    assert [r[2] for r in rows if r[1] == "village"] == changed and len(rows) == 30 + len(changed)
    with pytest.raises(ValueError, match="timezone-aware"):
        state.snapshot_rows(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown village"):
        state.snapshot_rows(datetime.now(timezone.utc), village_codes=["123"])


def test_sql_declares_the_same_columns_key_and_hypertable():
    text = SQL.read_text(encoding="utf-8")
    body = re.search(r"CREATE TABLE IF NOT EXISTS coverage_snapshot \((.*?)\n\);", text, re.S).group(1)
    columns = [line.split()[0] for line in body.splitlines()
               if line.strip() and not line.strip().startswith(("--", "PRIMARY"))]
    assert tuple(columns) == COLUMNS
    assert re.search(r"PRIMARY KEY \(scope, code, time\)", text) and KEY == ("scope", "code", "time")
    assert "create_hypertable('coverage_snapshot', 'time'" in text
