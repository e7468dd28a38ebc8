"""`ioc coverage compute` and `ioc geo stations` as a user runs them: station files written
here, answers computed here from the shipped boundary and population files with geopandas and
shapely alone (none of the package's coverage code), errors as one line on stderr and exit 2."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.ops import polylabel

from ioc.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "geo" / "data"
SIX = ("population", "covered_population", "pct_population", "area_km2", "covered_area_km2", "pct_area")
CITY_AREA_KM2 = 2216.525  # sum of the 625 villages in EPSG:3826 (the outline adds the 清泉崗 air base)


# -- the independent side ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def villages() -> gpd.GeoDataFrame:
    """The 625 villages in TWD97/TM2 with their 2021-03 and 2015-03 population, read directly."""
    shapes = gpd.read_file(DATA / "boundaries" / "taichung_villages.geojson").to_crs("EPSG:3826")
    shapes["VILLCODE"] = shapes["VILLCODE"].astype(str)
    shapes["TOWNCODE"] = shapes["TOWNCODE"].astype(str)
    people = pd.read_csv(DATA / "stats" / "taichung_population_villages.csv",
                         dtype={"villcode": str, "period": str})
    for period in ("2021-03", "2015-03"):
        by_code = people[people["period"] == period].set_index("villcode")["population"]
        shapes[f"pop_{period}"] = shapes["VILLCODE"].map(by_code)
    assert shapes[["pop_2021-03", "pop_2015-03"]].notna().all().all()
    return shapes


def lonlat(x: float, y: float) -> tuple[float, float]:
    point = gpd.GeoSeries([shapely.Point(x, y)], crs="EPSG:3826").to_crs("EPSG:4326").iloc[0]
    return point.x, point.y


def feature(x: float, y: float, **props) -> dict:
    lon, lat = lonlat(x, y)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def expected(villages: gpd.GeoDataFrame, covered_geometry, period: str = "2021-03") -> dict:
    """Covered area and people per district for a covered region, uniform density per village."""
    share_area = shapely.area(shapely.intersection(villages.geometry.to_numpy(), covered_geometry))
    frame = pd.DataFrame({"district": villages["TOWNCODE"], "area": villages.geometry.area,
                          "covered_area": share_area, "population": villages[f"pop_{period}"]})
    frame["covered_population"] = frame["population"] * frame["covered_area"] / frame["area"]
    return frame.groupby("district")[["area", "covered_area", "population", "covered_population"]].sum()


# -- running the CLI -----------------------------------------------------------------------------
def no_services_env(tmp_path: Path) -> dict:
    """No IOC_* settings and an empty IOC_HOME: there is no database to find."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env["IOC_HOME"] = str(tmp_path / "no-services")
    return env


def run(args: list[str], tmp_path: Path):
    env = {k: None for k in os.environ if k.startswith("IOC_")} | {"IOC_HOME": str(tmp_path / "no-services")}
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def compute(tmp_path: Path, *args: str) -> dict:
    code, out, err = run(["coverage", "compute", *args, "--json"], tmp_path)
    assert code == 0, err
    return json.loads(out)


def district(summary: dict, code: str) -> dict:
    return next(d for d in summary["districts"] if d["code"] == code)


# -- the contract --------------------------------------------------------------------------------
def test_a_circle_inside_one_village_covers_its_share_of_its_people(villages, tmp_path):
    big = villages.loc[villages.geometry.area.idxmax()]
    spot = polylabel(big.geometry, tolerance=1.0)
    radius = min(2000.0, shapely.distance(spot, big.geometry.exterior) / 2)
    stations = write_geojson(tmp_path / "one.geojson", [
        feature(spot.x, spot.y, radius_m=radius, status="up", operator="中華電信", technology="4G"),
        # a down station reaching everything must count for nothing
        feature(spot.x, spot.y, radius_m=150_000, status="down"),
    ])
    summary = compute(tmp_path, "--stations", str(stations))

    circle = math.pi * radius**2
    people = big["pop_2021-03"] * circle / big.geometry.area
    city_people = int(villages["pop_2021-03"].sum())
    assert summary["population"] == city_people
    assert summary["covered_population"] == pytest.approx(people, rel=1e-3)  # 88-gon: 0.085 % short
    assert summary["covered_area_km2"] == pytest.approx(circle / 1e6, rel=1e-3, abs=1e-3)
    assert summary["pct_population"] == pytest.approx(100 * people / city_people, abs=0.01)
    home = district(summary, big["TOWNCODE"])
    assert home["covered_population"] == pytest.approx(people, rel=1e-3)
    assert home["pct_area"] == pytest.approx(100 * circle / villages.loc[villages["TOWNCODE"] == big["TOWNCODE"]]
                                             .geometry.area.sum(), abs=0.01)
    assert all(d["covered_population"] == 0 for d in summary["districts"] if d["code"] != big["TOWNCODE"])


def test_a_circle_across_a_district_boundary_is_split_by_area(villages, tmp_path):
    # A point on the border of 西屯區 (66000060) and 南屯區 (66000070).
    xitun = villages.loc[villages["TOWNCODE"] == "66000060"].union_all()
    nantun = villages.loc[villages["TOWNCODE"] == "66000070"].union_all()
    border = shapely.intersection(xitun.boundary, nantun.boundary)
    spot = shapely.line_interpolate_point(shapely.line_merge(border), 0.5, normalized=True) \
        if border.geom_type != "Point" else border
    radius = 900.0
    stations = write_geojson(tmp_path / "border.geojson", [feature(spot.x, spot.y, radius_m=radius)])
    summary = compute(tmp_path, "--stations", str(stations))

    # GEOS buffer with 256 segments: within 0.01 % of the true circle.
    truth = expected(villages, shapely.buffer(shapely.Point(lonlat_back(*lonlat(spot.x, spot.y))), radius,
                                              quad_segs=64))
    for code in ("66000060", "66000070"):
        got = district(summary, code)
        assert got["covered_area_km2"] == pytest.approx(truth.loc[code, "covered_area"] / 1e6, rel=2e-3)
        assert got["covered_population"] == pytest.approx(truth.loc[code, "covered_population"], rel=2e-3)
        assert got["covered_population"] > 0  # really split
    assert summary["covered_area_km2"] == pytest.approx(math.pi * radius**2 / 1e6, rel=2e-3)


def lonlat_back(lon: float, lat: float) -> tuple[float, float]:
    """The projected point the CLI sees after the lon/lat round trip of the file."""
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs("EPSG:3826").iloc[0]
    return point.x, point.y


def test_a_sector_from_a_csv_covers_its_share_of_the_circle(villages, tmp_path):
    big = villages.loc[villages.geometry.area.idxmax()]
    spot = polylabel(big.geometry, tolerance=1.0)
    radius = min(2000.0, shapely.distance(spot, big.geometry.exterior) / 2)
    lon, lat = lonlat(spot.x, spot.y)
    path = tmp_path / "sector.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["station_id", "lon", "lat", "radius_m", "azimuth_deg", "beamwidth_deg", "status"])
        writer.writerow(["A", lon, lat, radius, 90, 90, "up"])
        writer.writerow(["B", lon, lat, radius, 270, 90, "down"])
    summary = compute(tmp_path, "--stations", str(path))
    quarter = math.pi * radius**2 / 4
    assert summary["covered_area_km2"] == pytest.approx(quarter / 1e6, rel=1e-3, abs=1e-3)
    assert district(summary, big["TOWNCODE"])["covered_population"] == pytest.approx(
        big["pop_2021-03"] * quarter / big.geometry.area, rel=1e-3)


def test_everything_covered_is_100_and_everything_down_is_0(villages, tmp_path):
    centre = villages.union_all().centroid
    everything = write_geojson(tmp_path / "all.geojson", [feature(centre.x, centre.y, radius_m=200_000)])
    summary = compute(tmp_path, "--stations", str(everything), "--population-period", "2015-03")
    assert summary["population"] == int(villages["pop_2015-03"].sum())
    assert summary["covered_population"] == summary["population"]
    assert summary["pct_population"] == 100 and summary["pct_area"] == 100
    assert summary["area_km2"] == pytest.approx(villages.geometry.area.sum() / 1e6, abs=1e-3)

    down = write_geojson(tmp_path / "down.geojson", [
        feature(centre.x, centre.y, radius_m=200_000, status="down"),
        feature(centre.x + 1000, centre.y, radius_m=5_000, status="DOWN "),
    ])
    summary = compute(tmp_path, "--stations", str(down))
    assert summary["covered_population"] == 0 and summary["pct_population"] == 0 and summary["pct_area"] == 0
    assert [d["code"] for d in summary["districts"]] == [f"66000{n:03d}" for n in range(10, 300, 10)]
    assert all(set(SIX) <= set(d) and d["name"] for d in summary["districts"])


def test_the_shipped_layout_without_stations_or_services(tmp_path):
    """As a process, as the checker runs it: one JSON object on stdout, where from on stderr."""
    proc = subprocess.run([sys.executable, "-m", "ioc", "coverage", "compute", "--json"], cwd=tmp_path,
                          env=no_services_env(tmp_path), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1
    summary = json.loads(proc.stdout)
    assert summary["area_km2"] == pytest.approx(CITY_AREA_KM2, abs=0.05)
    assert summary["covered_area_km2"] == pytest.approx(CITY_AREA_KM2, abs=0.05)
    assert summary["population"] == 2_821_322 and summary["pct_population"] == 100.0
    assert len(summary["districts"]) == 29
    assert sum(d["area_km2"] for d in summary["districts"]) == pytest.approx(CITY_AREA_KM2, abs=0.05)
    assert "generated 4G layout for 2024-04" in proc.stderr


def test_a_readable_table_without_json(villages, tmp_path):
    centre = villages.union_all().centroid
    everything = write_geojson(tmp_path / "all.geojson", [feature(centre.x, centre.y, radius_m=200_000)])
    code, out, _ = run(["coverage", "compute", "--stations", str(everything)], tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert any("和平區" in line and "100.00" in line for line in lines)
    assert any("Taichung" in line and "2,216.525" in line and "2,821,322" in line for line in lines)


BAD_FILES = {
    "missing.geojson": None,
    "not-json.geojson": "{not json",
    "polygon.geojson": json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties":
                                   {"radius_m": 100}, "geometry": {"type": "Polygon", "coordinates": []}}]}),
    "no-radius.geojson": json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                     "geometry": {"type": "Point", "coordinates": [120.68, 24.15]}}]}),
    "negative.geojson": json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties":
                                    {"radius_m": -5}, "geometry": {"type": "Point", "coordinates": [120.68, 24.15]}}]}),
    "status.geojson": json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties":
                                  {"radius_m": 5, "status": "broken"},
                                  "geometry": {"type": "Point", "coordinates": [120.68, 24.15]}}]}),
    "no-lat.csv": "lon,radius_m\n120.68,500\n",
    "stations.txt": "lon,lat,radius_m\n120.68,24.15,500\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_station_file_is_one_line_on_stderr_and_exit_2(name, tmp_path):
    path = tmp_path / name
    if BAD_FILES[name] is not None:
        path.write_text(BAD_FILES[name], encoding="utf-8")
    code, out, err = run(["coverage", "compute", "--stations", str(path), "--json"], tmp_path)
    assert code == 2 and out == ""
    assert err.strip() and "\n" not in err.strip() and name in err


@pytest.mark.parametrize("period", ["2019-03", "2021-3", "March"])
def test_a_bad_population_period_is_exit_2(period, tmp_path):
    path = write_geojson(tmp_path / "s.geojson", [])
    code, out, err = run(["coverage", "compute", "--stations", str(path), "--population-period", period, "--json"],
                         tmp_path)
    assert code == 2 and out == "" and "\n" not in err.strip() and period in err


def test_geo_stations_writes_the_reproducible_layout(tmp_path):
    first, second = tmp_path / "a.geojson", tmp_path / "b.geojson"
    for out in (first, second):
        code, stdout, err = run(["geo", "stations", "--period", "2015-06", "--out", str(out)], tmp_path)
        assert code == 0 and stdout == "" and "2759" in err
    assert first.read_bytes() == second.read_bytes()
    doc = json.loads(first.read_text(encoding="utf-8"))
    assert len(doc["features"]) == 2759 == sum(doc["properties"]["counts"].values())
    assert all(f["geometry"]["type"] == "Point" and f["properties"]["radius_m"] > 0 for f in doc["features"])
    summary = compute(tmp_path, "--stations", str(first))
    assert summary["pct_population"] == pytest.approx(96.57, abs=0.01)  # geo/README.md's table

    code, _, err = run(["geo", "stations", "--period", "2015-06", "--seed", "7", "--out", str(second)], tmp_path)
    assert code == 0 and first.read_bytes() != second.read_bytes()
    code, out, err = run(["geo", "stations", "--period", "2031-01", "--out", str(tmp_path / "c.geojson")], tmp_path)
    assert code == 2 and "2031-01" in err and "\n" not in err.strip()
