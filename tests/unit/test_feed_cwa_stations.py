"""cwa-stations: O-A0001-001 and O-A0003-001 parse to the real values of the recorded files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.feeds import FeedError
from ingest.feeds.cwa_stations import STATIONS, parse_stations

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cwa"
A0001 = FIXTURES / "O-A0001-001_taichung_2025-03-09.json"
A0003 = FIXTURES / "O-A0003-001_5stations_2025-03-09.json"


def _doc(path: Path) -> dict:
    return json.loads(path.read_bytes().decode("utf-8"))


def _by_id(records: list[dict]) -> dict[str, dict]:
    return {r["station_id"]: r for r in records}


@pytest.fixture(scope="module")
def a0001():
    return _by_id(parse_stations(A0001.read_bytes()))


@pytest.fixture(scope="module")
def a0003():
    return _by_id(parse_stations(A0003.read_bytes()))


def test_a0001_has_every_station_of_the_file(a0001):
    assert len(a0001) == len(_doc(A0001)["records"]["Station"]) == 28


def test_fengyuan_readings_and_wgs84_position(a0001):
    rec = a0001["C0F9M0"]  # 豐原, 2025-03-09 09:00
    assert rec["name"] == "豐原" and rec["dataset"] == "O-A0001-001"
    assert rec["time"] == "2025-03-09T09:00:00+08:00"
    assert (rec["lon"], rec["lat"]) == (120.720695, 24.254322)  # the WGS84 pair, not TWD67 120.71233
    assert rec["geometry"] == {"type": "Point", "coordinates": [120.720695, 24.254322]}
    assert rec["altitude_m"] == 230.0
    assert (rec["county"], rec["town"], rec["town_code"]) == ("臺中市", "豐原區", "66000090")
    assert rec["district_code"] == "66000090"
    assert rec["weather"] == "晴"
    assert rec["temperature_c"] == 18.4 and rec["humidity_pct"] == 73 and rec["pressure_hpa"] == 995.3
    assert rec["wind_speed_ms"] == 0.7 and rec["wind_dir_deg"] == 331
    assert rec["precipitation_now_mm"] == 0.0
    readings = rec["readings"]
    assert readings["air_temperature"] == {"value": 18.4, "unit": "°C"}
    assert readings["relative_humidity"] == {"value": 73.0, "unit": "%"}
    assert readings["daily_low_temperature"] == {"value": 14.0, "unit": "°C", "time": "2025-03-09T02:30:00+08:00"}


def test_missing_gust_is_null_with_its_meaning_not_minus_99(a0001):
    rec = a0001["C0F9M0"]
    assert rec["gust_ms"] is None
    assert rec["readings"]["peak_gust_speed"] == {"value": None, "unit": "m/s", "flag": "missing"}
    assert "time" not in rec["readings"]["peak_gust_speed"]  # its DateTime "-99" is no time either


def test_station_reporting_nothing_keeps_its_identity(a0001):
    rec = a0001["C0F0A0"]  # 雪山圈谷A: every value -99 at 09:00
    assert rec["name"] == "雪山圈谷A" and rec["district_code"] == "66000290"  # 和平區
    assert rec["temperature_c"] is None and rec["humidity_pct"] is None
    assert rec["readings"]["air_temperature"]["flag"] == "missing"
    assert rec["weather"] == "多雲"
    flat = json.dumps(rec)
    assert "-99" not in flat


def test_every_taichung_station_gets_its_district(a0001):
    for rec in a0001.values():
        assert rec["district_code"] == rec["town_code"], rec["station_id"]


def test_a0003_manned_stations_special_values(a0003):
    keelung = a0003["466940"]
    assert keelung["dataset"] == "O-A0003-001"
    assert keelung["precipitation_now_mm"] is None  # Now.Precipitation -990
    assert keelung["readings"]["precipitation_now"]["flag"] == "missing"
    assert keelung["readings"]["visibility"] == {"value": "21-30", "unit": "km"}
    assert keelung["readings"]["uv_index"] == {"value": 1.0, "unit": "UVI"}
    assert keelung["readings"]["sunshine_duration"] == {"value": 0.0, "unit": "h"}
    assert keelung["readings"]["max_10min_wind_speed"] == {"value": 4.4, "unit": "m/s",
                                                           "time": "2025-03-09T12:16:00+08:00"}
    assert keelung["district_code"] is None  # 基隆市
    assert a0003["466930"]["readings"]["visibility"]["value"] is None  # "-99"
    assert a0003["466910"]["pressure_hpa"] is None and a0003["466910"]["humidity_pct"] == 100


def test_a0003_taichung_stations(a0003):
    taichung = a0003["467490"]
    assert taichung["temperature_c"] == 25.3 and taichung["pressure_hpa"] == 1009.6
    assert (taichung["lon"], taichung["lat"]) == (120.684074, 24.145737)
    assert taichung["district_code"] == "66000050"  # 北區
    assert taichung["gust_ms"] == 4.6 and taichung["readings"]["peak_gust_speed"]["time"] == "2025-03-09T12:08:00+08:00"
    wuqi = a0003["C0FA30"]
    assert wuqi["district_code"] == "66000140"
    assert wuqi["readings"]["sunshine_duration"] == {"value": None, "unit": "h", "flag": "missing"}
    assert wuqi["readings"]["uv_index"]["value"] is None and wuqi["wind_speed_ms"] == 8.8


def test_district_from_position_when_cwa_gives_no_town():
    doc = _doc(A0001)
    station = next(s for s in doc["records"]["Station"] if s["StationId"] == "C0F9M0")
    del station["GeoInfo"]["CountyName"], station["GeoInfo"]["TownName"]
    [rec] = parse_stations(json.dumps(station).encode())
    assert rec["district_code"] == "66000090"  # 豐原區 by point-in-polygon


def test_only_twd67_coordinates_are_shifted_to_wgs84():
    doc = _doc(A0001)
    station = next(s for s in doc["records"]["Station"] if s["StationId"] == "C0F9M0")
    station["GeoInfo"]["Coordinates"] = [c for c in station["GeoInfo"]["Coordinates"] if c["CoordinateName"] == "TWD67"]
    [rec] = parse_stations(json.dumps(station).encode())
    assert abs(rec["lon"] - 120.720695) < 0.0005 and abs(rec["lat"] - 24.254322) < 0.0005


def test_file_api_envelope_bare_list_and_single_station_parse_alike(a0001):
    stations = _doc(A0001)["records"]["Station"]
    file_api = {"cwaopendata": {"sent": "2025-03-09T09:10:00+08:00", "dataset": {"Station": stations}}}
    for payload in (file_api, stations):
        records = parse_stations(json.dumps(payload).encode())
        assert [r["station_id"] for r in records] == list(a0001)
        assert records[3]["temperature_c"] == 18.4
    [one] = parse_stations(json.dumps(stations[3]).encode())
    assert one["station_id"] == "C0F9M0" and one["dataset"] is None


@pytest.mark.parametrize("change, words", [
    (lambda s: s.pop("StationId"), "Station[0].StationId: missing"),
    (lambda s: s.update(ObsTime={"DateTime": "yesterday"}), "Station[0].ObsTime.DateTime"),
    (lambda s: s.pop("ObsTime"), "Station[0].ObsTime.DateTime"),
    (lambda s: s["WeatherElement"].update(AirTemperature="warm"), "Station[0].WeatherElement.AirTemperature"),
    (lambda s: s["GeoInfo"]["Coordinates"][1].update(StationLongitude=999), "not a longitude/latitude"),
    (lambda s: s.update(WeatherElement=[1, 2]), "Station[0].WeatherElement: expected an object"),
])
def test_broken_station_is_refused_with_where_and_why(change, words):
    doc = _doc(A0001)
    doc["records"]["Station"] = doc["records"]["Station"][:1]
    change(doc["records"]["Station"][0])
    with pytest.raises(FeedError) as exc:
        parse_stations(json.dumps(doc).encode())
    assert exc.value.stage == "validate" and words in exc.value.reason


def _live(rec: dict, **changes) -> dict:
    """The record as if observed just now (check works against the clock)."""
    now = datetime.now(timezone.utc).astimezone(timezone(timedelta(hours=8))).replace(microsecond=0)
    return {**rec, "time": now.isoformat(), **changes}


def test_check_accepts_a_fresh_station(a0001):
    STATIONS.check(_live(a0001["C0F9M0"]))


@pytest.mark.parametrize("changes, words", [
    ({"lon": 139.69, "lat": 35.69}, "outside Taiwan"),
    ({"lon": None, "lat": None}, "no position"),
    ({"humidity_pct": 140.0}, "humidity_pct"),
    ({"temperature_c": 61.0}, "temperature_c"),
    ({"station_id": ""}, "station_id"),
])
def test_check_refuses_implausible_stations(a0001, changes, words):
    with pytest.raises(FeedError) as exc:
        STATIONS.check(_live(a0001["C0F9M0"], **changes))
    assert words in exc.value.reason


def test_check_refuses_future_and_stale_observations(a0001):
    rec = a0001["C0F9M0"]
    future = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    with pytest.raises(FeedError, match="in the future"):
        STATIONS.check({**rec, "time": future})
    with pytest.raises(FeedError, match="older than"):
        STATIONS.check(rec)  # the recorded 2025-03-09 file is not live data


def test_rows_carry_the_flat_readings_and_the_reading_dict(a0001):
    rows = list(STATIONS.to_rows(a0001["C0F9M0"], datetime.now(timezone.utc)))
    (t1, reading), (t2, latest) = rows
    assert (t1, t2) == ("cwa_station_reading", "cwa_station")
    assert reading[0] == datetime.fromisoformat("2025-03-09T09:00:00+08:00") and reading[1] == "C0F9M0"
    assert reading[2] == 18.4 and reading[-1]["air_pressure"]["value"] == 995.3
    assert latest[0] == "C0F9M0" and latest[9] == "66000090" and latest[-1] == reading[0]
