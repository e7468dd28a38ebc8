"""The coverage calculation against cases with known answers and an independent calculation
(shapely buffer + union + clip per village, written here without the package's engine)."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.ops import polylabel

from geo.coverage import compute_coverage, compute_summary
from geo.footprints import QUAD_SEGS
from geo.population import villages_with_population

SIX = {"population", "covered_population", "pct_population", "area_km2", "covered_area_km2", "pct_area"}


def _stations(xy, radius, **columns) -> gpd.GeoDataFrame:
    xy = np.atleast_2d(np.asarray(xy, dtype=float))
    return gpd.GeoDataFrame({"radius_m": np.broadcast_to(radius, len(xy)).astype(float), **columns},
                            geometry=shapely.points(xy), crs="EPSG:3826")


def _roomy_spot(village: shapely.Geometry) -> tuple[shapely.Point, float]:
    """A point well inside a village and how far it is from the village's edge."""
    spot = polylabel(village, tolerance=1.0)
    return spot, shapely.distance(spot, village.exterior)


def _reference_covered_area(stations: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> np.ndarray:
    """Independent: GEOS buffers of the up stations, one union, clipped to every village."""
    up = stations[stations.get("status", "up") != "down"]
    union = shapely.union_all(shapely.buffer(up.geometry.to_numpy(), up["radius_m"].to_numpy(), quad_segs=QUAD_SEGS))
    return shapely.area(shapely.intersection(union, villages.geometry.to_numpy()))


@pytest.fixture(scope="module")
def villages():
    return villages_with_population("2021-03")


def test_circle_inside_one_village_covers_its_share_of_the_people(villages):
    big = villages.loc[villages["area_m2"].idxmax()]
    spot, room = _roomy_spot(big.geometry)
    radius = room / 2
    result = compute_coverage(_stations([[spot.x, spot.y]], radius)).villages.set_index("code")
    circle = math.pi * radius**2
    row = result.loc[big["code"]]
    assert row["covered_area_m2"] == pytest.approx(circle, rel=1e-3)
    assert row["covered_population"] == pytest.approx(big["population"] * circle / big["area_m2"], rel=1e-3)
    others = result.drop(index=big["code"])
    assert (others["covered_area_m2"] == 0).all() and (others["covered_population"] == 0).all()


def test_huge_circle_covers_everything():
    xy = shapely.get_coordinates(villages_with_population("2021-03").union_all().centroid)
    summary = compute_summary(_stations(xy, 200_000.0))
    assert summary["pct_population"] == 100.0 and summary["pct_area"] == 100.0
    assert summary["covered_population"] == summary["population"] == 2_821_322
    assert all(d["pct_population"] == 100.0 and d["pct_area"] == 100.0 for d in summary["districts"])


def test_nothing_covers_nothing(tmp_path):
    empty = tmp_path / "none.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    summary = compute_summary(empty)
    assert summary["covered_population"] == 0 and summary["pct_population"] == 0 and summary["pct_area"] == 0
    far_away = _stations([[0.0, 0.0]], 1000.0)  # TM2 origin, far outside Taichung
    assert compute_summary(far_away)["covered_area_km2"] == 0


def test_down_stations_count_for_nothing(villages):
    centre = shapely.get_coordinates(villages.loc[villages["code"] == "66000010001", "geometry"].iloc[0].centroid)
    both = _stations(np.vstack([centre, centre + [400.0, 0.0]]), 500.0, status=["up", "down"])
    only_up = both.iloc[[0]]
    assert compute_summary(both, include_villages=True) == compute_summary(only_up, include_villages=True)
    all_down = both.assign(status="down")
    assert compute_summary(all_down)["covered_population"] == 0


def test_circle_across_a_district_boundary_is_split_between_the_two(villages):
    districts = villages.dissolve("district_code")
    boundary = shapely.intersection(districts.geometry["66000010"].boundary, districts.geometry["66000020"].boundary)
    point = boundary.interpolate(0.5, normalized=True)
    radius = 150.0
    result = compute_coverage(_stations([[point.x, point.y]], radius)).districts().set_index("code")
    circle = shapely.buffer(point, radius, quad_segs=QUAD_SEGS)
    touched = result[result["covered_area_m2"] > 0]
    assert {"66000010", "66000020"} <= set(touched.index)
    assert touched["covered_area_m2"].sum() == pytest.approx(circle.area, rel=1e-9)
    for code in ("66000010", "66000020"):
        expected = shapely.intersection(circle, districts.geometry[code]).area
        assert 0 < result.loc[code, "covered_area_m2"] == pytest.approx(expected, rel=1e-6)


def test_sector_covers_its_beam_share(villages):
    big = villages.loc[villages["area_m2"].idxmax()]
    spot, room = _roomy_spot(big.geometry)
    radius = room / 2
    full = compute_coverage(_stations([[spot.x, spot.y]], radius)).city()["covered_area_m2"]
    sector = _stations([[spot.x, spot.y]], radius, azimuth_deg=[120.0], beamwidth_deg=[90.0])
    quarter = compute_coverage(sector).city()["covered_area_m2"]
    assert quarter == pytest.approx(full / 4, rel=1e-3)
    assert quarter == pytest.approx(math.pi * radius**2 / 4, rel=1e-3)


def test_station_outside_the_city_covers_only_the_part_inside(villages):
    city = villages.union_all()
    corner = shapely.get_coordinates(city.envelope)[0]  # south-west corner of the box: outside
    nearest = shapely.get_coordinates(shapely.shortest_line(shapely.Point(corner), city))[1]
    outside = nearest + (nearest - corner) / np.linalg.norm(nearest - corner) * -300.0
    assert not city.contains(shapely.Point(outside))
    stations = _stations([outside], 3000.0)
    covered = compute_coverage(stations).city()["covered_area_m2"]
    expected = shapely.intersection(shapely.buffer(shapely.Point(outside), 3000.0, quad_segs=QUAD_SEGS), city).area
    assert covered == pytest.approx(expected, rel=1e-6)
    assert 0 < covered < math.pi * 3000.0**2


def test_random_layout_matches_an_independent_calculation(villages):
    rng = np.random.default_rng(11)
    centre = shapely.get_coordinates(villages.loc[villages["code"] == "66000070001", "geometry"].iloc[0].centroid)[0]
    n = 120
    xy = centre + rng.normal(0, 6000, (n, 2))
    stations = _stations(xy, rng.uniform(200, 2500, n), status=rng.choice(["up", "down"], n, p=[0.8, 0.2]))
    ours = compute_coverage(stations).villages["covered_area_m2"].to_numpy()
    reference = _reference_covered_area(stations, villages)
    np.testing.assert_allclose(ours, reference, rtol=1e-7, atol=1e-3)
    assert 0 < ours.sum() < villages["area_m2"].sum()


def test_summary_is_exactly_the_cli_object(tmp_path, villages):
    centre = shapely.get_coordinates(villages.loc[villages["code"] == "66000050001", "geometry"].iloc[0].centroid)[0]
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": lonlat},
         "properties": props}
        for lonlat, props in zip(
            gpd.GeoSeries(shapely.points([centre, centre + 800]), crs=3826).to_crs(4326).apply(lambda p: [p.x, p.y]),
            [{"radius_m": 700}, {"radius_m": 900, "azimuth_deg": 45, "beamwidth_deg": 120, "status": "up",
                                 "operator": "遠傳電信股份有限公司", "technology": "4G"}],
        )
    ]
    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    summary = compute_summary(path, population_period="2015-03")
    assert set(summary) == SIX | {"districts"}
    assert summary["population"] == 2_725_497
    assert [d["code"] for d in summary["districts"]] == [f"66000{i:03d}" for i in range(10, 300, 10)]
    assert all(set(d) == SIX | {"code", "name"} for d in summary["districts"])
    assert summary["districts"][0]["name"] == "中區"
    assert 0 < summary["pct_population"] < 100 and 0 < summary["pct_area"] < 100
    by_district = sum(d["covered_population"] for d in summary["districts"])
    assert summary["covered_population"] == pytest.approx(by_district, abs=0.1 * 29)
    assert summary["area_km2"] == pytest.approx(2216.525, abs=0.001)
    json.dumps(summary)  # JSON-able as it is
    with_villages = compute_summary(path, population_period="2015-03", include_villages=True)
    assert len(with_villages["villages"]) == 625
    assert set(with_villages["villages"][0]) == SIX | {"code", "name", "district_code"}


def test_station_counts_per_village(villages):
    code = "66000010001"
    centre = shapely.get_coordinates(villages.loc[villages["code"] == code, "geometry"].iloc[0].centroid)[0]
    stations = _stations(np.vstack([centre, centre, centre]), 100.0, status=["up", "degraded", "down"],
                         station_id=["a", "b", "c"])
    result = compute_coverage(stations)
    row = result.villages.set_index("code").loc[code]
    assert (row["stations_up"], row["stations_down"]) == (2, 1)
    assert (result.stations_up, result.stations_down) == (2, 1)
    assert result.villages["stations_up"].sum() == 2
