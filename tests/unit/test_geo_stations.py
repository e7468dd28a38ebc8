"""Reading and validating station lists (GeoJSON, CSV, frames)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.stations import StationDataError, load_stations, read_stations


def _feature(lon, lat, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def _write(tmp_path, features, name="s.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_geojson_is_read_projected_and_defaulted(tmp_path):
    path = _write(tmp_path, [
        _feature(120.68, 24.14, radius_m=500, operator="中華電信股份有限公司", technology="4G",
                 station_id="x-1"),
        _feature(120.69, 24.15, radius_m=800, status="DOWN", azimuth_deg=90, beamwidth_deg=65, station_id="x-2"),
        {**_feature(120.70, 24.16, footprint={"radius_m": 300}, status="degraded"), "id": "feat-3"},
    ])
    stations = read_stations(path)
    assert stations.crs.to_epsg() == 3826
    assert stations["station_id"].tolist() == ["x-1", "x-2", "feat-3"]
    assert stations["status"].tolist() == ["up", "down", "degraded"]
    assert stations["radius_m"].tolist() == [500.0, 800.0, 300.0]
    assert np.isnan(stations["azimuth_deg"].iloc[0]) and stations["beamwidth_deg"].iloc[1] == 65.0
    x, y = stations.geometry.x.iloc[0], stations.geometry.y.iloc[0]
    assert 150_000 < x < 350_000 and 2_600_000 < y < 2_750_000  # TM2 metres, Taichung


def test_ids_by_position_when_the_list_has_none_and_all_or_none_otherwise(tmp_path):
    stations = read_stations(_write(tmp_path, [_feature(120.6, 24.1, radius_m=5), _feature(120.7, 24.1, radius_m=5)]))
    assert stations["station_id"].tolist() == ["S00001", "S00002"]
    mixed = [_feature(120.6, 24.1, radius_m=5, station_id="a"), _feature(120.7, 24.1, radius_m=5)]
    with pytest.raises(StationDataError, match="feature 1: station_id is empty"):
        read_stations(_write(tmp_path, mixed, "m.geojson"))


def test_csv_and_dataframe_with_lon_lat(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("bts_id,lon,lat,radius_m,status\nA1,120.68,24.14,400,up\nA2,120.70,24.15,900,\n", encoding="utf-8")
    stations = read_stations(path)
    assert stations["station_id"].tolist() == ["A1", "A2"]
    assert stations["status"].tolist() == ["up", "up"]
    frame = pd.DataFrame({"bts_id": ["B"], "lon": [120.6], "lat": [24.1], "radius_m": [1000.0], "status": ["down"]})
    assert load_stations(frame)["status"].tolist() == ["down"]


@pytest.mark.parametrize("props, message", [
    ({}, "radius_m"),
    ({"radius_m": -5}, "positive"),
    ({"radius_m": "500"}, "finite number"),
    ({"radius_m": 500, "status": "maybe"}, "status must be"),
    ({"radius_m": 500, "azimuth_deg": 10}, "both azimuth_deg and beamwidth_deg"),
    ({"radius_m": 500, "azimuth_deg": 10, "beamwidth_deg": 400}, r"\(0, 360\]"),
])
def test_bad_properties_name_the_feature_and_field(tmp_path, props, message):
    path = _write(tmp_path, [_feature(120.68, 24.14, radius_m=100), _feature(120.69, 24.15, **props)])
    with pytest.raises(StationDataError, match=message) as info:
        read_stations(path)
    assert "radius_m" not in props or "feature 1" in str(info.value)


def test_bad_documents(tmp_path):
    bad_json = tmp_path / "a.geojson"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(StationDataError, match="not valid JSON"):
        read_stations(bad_json)
    not_collection = tmp_path / "b.geojson"
    not_collection.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(StationDataError, match="FeatureCollection"):
        read_stations(not_collection)
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[120, 24], [121, 24]]},
            "properties": {"radius_m": 5}}
    with pytest.raises(StationDataError, match="must be a Point"):
        read_stations(_write(tmp_path, [line], "l.geojson"))
    twice = [_feature(120.6, 24.1, radius_m=5, station_id="a"), _feature(120.7, 24.1, radius_m=5, station_id="a")]
    with pytest.raises(StationDataError, match="appears twice"):
        read_stations(_write(tmp_path, twice, "t.geojson"))
    with pytest.raises(StationDataError, match="not a lon/lat"):
        read_stations(_write(tmp_path, [_feature(24.1, 120.6, radius_m=5)], "swapped.geojson"))
    with pytest.raises(StationDataError, match="no such file"):
        read_stations(tmp_path / "missing.geojson")
    csv = tmp_path / "nolonlat.csv"
    csv.write_text("x,y,radius_m\n1,2,3\n", encoding="utf-8")
    with pytest.raises(StationDataError, match="lon and lat"):
        read_stations(csv)


def test_frame_without_crs_is_refused():
    frame = gpd.GeoDataFrame({"radius_m": [100.0]}, geometry=[shapely.Point(120.6, 24.1)])
    with pytest.raises(StationDataError, match="no CRS"):
        load_stations(frame)


def test_old_style_crs_member_is_honoured(tmp_path):
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3826"}},
           "features": [_feature(217_000.0, 2_670_000.0, radius_m=100)]}
    path = tmp_path / "tm2.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    stations = read_stations(path)
    assert stations.geometry.x.iloc[0] == pytest.approx(217_000.0)
