"""The generated station layout: NCC counts kept exactly, reproducible, spread with a floor."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.boundaries import DATA_DIR
from geo.layout import LayoutError, generate_layout, latest_period, ncc_counts, write_layout_geojson
from geo.population import villages_with_population
from geo.stations import read_stations


def _ncc_from_file(period: str, technology: str) -> dict[str, int]:
    table = pd.read_csv(DATA_DIR / "stats" / "taichung_ncc_base_stations_by_operator.csv", dtype=str)
    rows = table[table["period_end"].str.startswith(period) & (table["technology"] == technology)]
    return {op: int(n) for op, n in zip(rows["operator"], rows["base_stations"])}


@pytest.mark.parametrize("period", ["2024-04", "2015-06"])
def test_counts_per_operator_equal_the_ncc_counts(period):
    layout = generate_layout(period)
    expected = _ncc_from_file(period, "4G")
    assert layout["operator"].value_counts().to_dict() == expected == ncc_counts(period)
    assert layout["station_id"].is_unique and (layout["status"] == "up").all()


def test_latest_4g_period_has_14082_stations():
    assert latest_period("4G") == "2024-04"
    assert len(generate_layout("2024-04")) == 14_082


def test_same_seed_same_layout_other_seed_other_layout():
    a, b = generate_layout("2015-12", seed=7), generate_layout("2015-12", seed=7)
    assert a.equals(b)
    c = generate_layout("2015-12", seed=8)
    coords = [shapely.get_coordinates(layout.geometry.to_numpy()) for layout in (a, c)]
    assert not np.array_equal(*coords)


def test_layout_is_inside_the_city_reaches_the_mountains_and_sizes_cells_by_density():
    layout = generate_layout("2024-04").to_crs(3826)
    villages = villages_with_population("2021-03")
    inside = shapely.contains_xy(villages.union_all(), layout.geometry.x, layout.geometry.y)
    assert inside.all()
    heping = layout[layout["district_code"] == "66000290"]  # 和平區: 1,008 km², ~10,000 people
    assert len(heping) >= 50 and heping["radius_m"].min() >= 2000
    assert layout["radius_m"].between(300, 5000).all()
    dense = layout[layout["district_code"] == "66000040"]  # 西區
    assert dense["radius_m"].max() <= 800


def test_written_geojson_reads_back_to_the_same_stations(tmp_path):
    path = write_layout_geojson("2014-12", tmp_path / "layout.geojson", seed=3)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2_321
    assert doc["properties"]["counts"] == ncc_counts("2014-12")
    back = read_stations(path)
    direct = generate_layout("2014-12", seed=3)
    assert back["station_id"].tolist() == direct["station_id"].tolist()
    np.testing.assert_array_equal(back["radius_m"].to_numpy(), direct["radius_m"].to_numpy())
    np.testing.assert_allclose(shapely.get_coordinates(back.to_crs(4326).geometry.to_numpy()),
                               shapely.get_coordinates(direct.geometry.to_numpy()), atol=1e-9)


def test_unknown_period_is_a_clear_error():
    with pytest.raises(LayoutError, match="available: 2014-06 … 2024-04"):
        generate_layout("2030-01")
