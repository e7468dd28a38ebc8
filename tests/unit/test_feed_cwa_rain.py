"""cwa-rain: O-A0002-001 in the legacy file shape (recorded) and the current shape, normalised
alike, with CWA's rain alert levels read from schemas/rain_alert_levels.yaml."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.feeds import FeedError
from ingest.feeds.cwa_rain import RAIN, WINDOWS, alert_config, parse_rain, rain_alert, water_level_warnings

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "fixtures" / "cwa" / "O-A0002-001_legacy_cwbopendata_taichung_2022-03-10.json"


def _legacy_doc() -> dict:
    return json.loads(LEGACY.read_bytes().decode("utf-8"))


@pytest.fixture(scope="module")
def legacy():
    return {r["station_id"]: r for r in parse_rain(LEGACY.read_bytes())}


def test_every_gauge_of_the_legacy_file_parses(legacy):
    assert len(legacy) == len(_legacy_doc()["cwbopendata"]["location"]) == 74
    assert {r["source_shape"] for r in legacy.values()} == {"legacy"}


def test_taichung_station_windows_and_no_rain_marker(legacy):
    rec = legacy["467490"]  # 臺中, 2022-03-10 23:10
    assert rec["name"] == "臺中" and rec["time"] == "2022-03-10T23:10:00+08:00"
    assert rec["past_24h_mm"] == 0.0 and rec["past_12h_mm"] == 0.0 and rec["now_mm"] == 0.0
    # "-998.00" in RAIN / MIN_10 / HOUR_3 / HOUR_6: no rain for 6 hours -> zero, flagged
    assert rec["past_1h_mm"] == 0.0 and rec["past_10min_mm"] == 0.0
    assert rec["flags"] == {"past_10min_mm": "no_rain_6h", "past_1h_mm": "no_rain_6h",
                            "past_3h_mm": "no_rain_6h", "past_6h_mm": "no_rain_6h"}
    assert rec["altitude_m"] == 84.0 and rec["maintainer"] == "中央氣象局"
    assert (rec["county"], rec["town"], rec["district_code"]) == ("臺中市", "北區", "66000050")
    assert rec["alert_level"] == "none" and rec["alert_rank"] == 0


def test_legacy_twd67_position_is_shifted_to_cwa_wgs84(legacy):
    # The file says 120.6759, 24.1475 (TWD67); CWA's WGS84 for 467490 is 120.684074, 24.145737.
    rec = legacy["467490"]
    metres = math.hypot((rec["lon"] - 120.684074) * 101_600, (rec["lat"] - 24.145737) * 110_800)
    assert metres < 30


def test_legacy_missing_and_real_amounts(legacy):
    wushikeng = legacy["C0FA00"]  # 烏石坑: latest_2days / latest_3days "-999.00"
    assert wushikeng["past_2d_mm"] is None and wushikeng["past_3d_mm"] is None
    assert wushikeng["flags"]["past_2d_mm"] == "missing"
    assert legacy["467770"]["past_3d_mm"] == 0.5  # 梧棲
    assert legacy["C0F9Z0"]["past_3d_mm"] == 3.0  # 雪山東峰
    assert "-99" not in json.dumps(list(legacy.values()))


def test_trace_and_fault_strings():
    doc = _legacy_doc()
    loc = doc["cwbopendata"]["location"][0]
    values = {el["elementName"]: el for el in loc["weatherElement"]}
    values["RAIN"]["elementValue"]["value"] = "T"
    values["HOUR_24"]["elementValue"]["value"] = "X"
    values["HOUR_3"]["elementValue"]["value"] = "12.50"
    [rec] = parse_rain(json.dumps({"cwbopendata": {"location": [loc]}}).encode())
    assert (rec["past_1h_mm"], rec["flags"]["past_1h_mm"]) == (0.0, "trace")
    assert (rec["past_24h_mm"], rec["flags"]["past_24h_mm"]) == (None, "fault")
    assert rec["past_3h_mm"] == 12.5 and "past_3h_mm" not in rec["flags"]


def _as_current_shape(doc: dict) -> dict:
    """The legacy file's real values in the current `records.Station[].RainfallElement` shape.

    Synthetic: no real current-shape O-A0002-001 recording was found (see tests/fixtures/
    PROVENANCE.md). Keys as the live API names them, including both spellings of Past6hr, and
    values as numbers. The current shape carries WGS84 positions; the legacy file only TWD67,
    so the test shifts them as the parser does and compares everything else.
    """
    names = {"NOW": "Now", "MIN_10": "Past10Min", "RAIN": "Past1hr", "HOUR_3": "Past3hr", "HOUR_6": "Past6Hr",
             "HOUR_12": "Past12hr", "HOUR_24": "Past24hr", "latest_2days": "Past2days", "latest_3days": "Past3days"}
    from ingest.feeds._cwa import twd67_to_wgs84

    stations = []
    for i, loc in enumerate(doc["cwbopendata"]["location"]):
        els = {el["elementName"]: el["elementValue"]["value"] for el in loc["weatherElement"]}
        params = {p["parameterName"]: p["parameterValue"] for p in loc["parameter"]}
        lon, lat = twd67_to_wgs84(float(loc["lon"]), float(loc["lat"]))
        rain = {names[k]: {"Precipitation": float(v)} for k, v in els.items() if k in names}
        if i % 2:  # CWA spells it both ways
            rain["Past6hr"] = rain.pop("Past6Hr")
        stations.append({
            "StationName": loc["locationName"], "StationId": loc["stationId"],
            "ObsTime": {"DateTime": loc["time"]["obsTime"]},
            "GeoInfo": {"Coordinates": [{"CoordinateName": "WGS84", "CoordinateFormat": "decimal degrees",
                                         "StationLatitude": lat, "StationLongitude": lon}],
                        "StationAltitude": els["ELEV"], "CountyName": params["CITY"], "TownName": params["TOWN"]},
            "Maintainer": params["ATTRIBUTE"],
            "RainfallElement": rain,
        })
    return {"success": "true", "result": {"resource_id": "O-A0002-001", "fields": []}, "records": {"Station": stations}}


def test_current_and_legacy_shapes_normalise_alike(legacy):
    current = parse_rain(json.dumps(_as_current_shape(_legacy_doc()), ensure_ascii=False).encode())
    assert len(current) == len(legacy)
    for rec in current:
        old = legacy[rec["station_id"]]
        assert rec["source_shape"] == "current"
        for key in (*WINDOWS, "flags", "alert_level", "name", "time", "county", "town", "district_code",
                    "maintainer", "altitude_m", "lon", "lat"):
            assert rec[key] == old[key], (rec["station_id"], key)


def test_current_shape_markers_and_unknown_elements():
    station = {"StationId": "C0F9M0", "StationName": "豐原", "ObsTime": {"DateTime": "2025-07-28T23:50:00+08:00"},
               "GeoInfo": {"Coordinates": [{"CoordinateName": "WGS84", "StationLatitude": 24.254322,
                                            "StationLongitude": 120.720695}],
                           "CountyName": "臺中市", "TownName": "豐原區"},
               "RainfallElement": {"Now": {"Precipitation": 41.5}, "Past1hr": {"Precipitation": -98},
                                   "Past24hr": {"Precipitation": "-99"}, "Past3hr": {"Precipitation": 102.0},
                                   "Daily": {"Precipitation": 1}}}
    [rec] = parse_rain(json.dumps({"records": {"Station": [station]}}).encode())
    assert rec["now_mm"] == 41.5 and rec["past_1h_mm"] == 0.0 and rec["past_24h_mm"] is None
    assert rec["flags"] == {"past_1h_mm": "no_rain_6h", "past_24h_mm": "missing"}
    assert rec["past_6h_mm"] is None and "past_6h_mm" not in rec["flags"]  # not sent at all
    assert (rec["alert_level"], rec["alert_zh"]) == ("extremely_heavy_rain", "豪雨")  # 3 h >= 100 mm


# --- alert levels -------------------------------------------------------------------------------

def test_level_file_holds_cwa_criteria():
    levels = {lv["zh"]: lv["any_of"] for lv in alert_config()["rain"]}
    assert levels == {"大雨": {"past_24h_mm": 80, "past_1h_mm": 40},
                      "豪雨": {"past_24h_mm": 200, "past_3h_mm": 100},
                      "大豪雨": {"past_24h_mm": 350, "past_3h_mm": 200},
                      "超大豪雨": {"past_24h_mm": 500}}
    assert water_level_warnings() == []


@pytest.mark.parametrize("values, level", [
    ({"past_24h_mm": 79.5, "past_1h_mm": 39.5, "past_3h_mm": 99.5}, "none"),
    ({"past_24h_mm": 80.0}, "heavy_rain"),
    ({"past_1h_mm": 40.0, "past_24h_mm": 45.0}, "heavy_rain"),
    ({"past_3h_mm": 100.0}, "extremely_heavy_rain"),
    ({"past_24h_mm": 200.0}, "extremely_heavy_rain"),
    ({"past_24h_mm": 350.0}, "torrential_rain"),
    ({"past_3h_mm": 200.0, "past_24h_mm": 210.0}, "torrential_rain"),
    ({"past_24h_mm": 500.0, "past_3h_mm": 10.0}, "extremely_torrential_rain"),
    ({"past_24h_mm": None, "past_1h_mm": None, "past_3h_mm": None}, None),
])
def test_rain_alert_takes_the_highest_level_reached(values, level):
    assert rain_alert(values)["alert_level"] == level


def test_broken_level_file_is_refused(tmp_path):
    bad = tmp_path / "levels.yaml"
    bad.write_text("rain:\n  levels:\n    - {id: x, rank: 1, zh: 大雨, en: x, any_of: {past_5h_mm: 1}}\n"
                   "water_level:\n  stations: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown windows"):
        alert_config(bad)
    bad.write_text("rain:\n  levels:\n    - {id: x, rank: 1, zh: 大雨, en: x, any_of: {}}\n"
                   "water_level:\n  stations: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="any_of"):
        alert_config(bad)


# --- shapes, checks, rows -----------------------------------------------------------------------

@pytest.mark.parametrize("change, words", [
    (lambda loc: loc.pop("stationId"), "location[0].stationId: missing"),
    (lambda loc: loc["weatherElement"][1].update(elementValue={"value": "wet"}), "weatherElement[1].elementValue"),
    (lambda loc: loc.update(time={"obsTime": "23:10"}), "location[0].time.obsTime"),
    (lambda loc: loc.update(lat="north"), "location[0].lat"),
])
def test_broken_legacy_gauge_is_refused(change, words):
    doc = _legacy_doc()
    doc["cwbopendata"]["location"] = doc["cwbopendata"]["location"][:1]
    change(doc["cwbopendata"]["location"][0])
    with pytest.raises(FeedError) as exc:
        parse_rain(json.dumps(doc).encode())
    assert exc.value.stage == "validate" and words in exc.value.reason


def test_legacy_file_without_locations_is_refused():
    with pytest.raises(FeedError, match="cwbopendata.location missing"):
        parse_rain(b'{"cwbopendata": {"dataid": "CWB_A0002"}}')


def _live(rec: dict, **changes) -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {**rec, "time": now.isoformat(), **changes}


def test_check_accepts_a_fresh_gauge(legacy):
    RAIN.check(_live(legacy["467490"]))


@pytest.mark.parametrize("changes, words", [
    ({"lon": 126.0}, "outside Taiwan"),
    ({"past_1h_mm": 950.0}, "past_1h_mm"),
    ({"time": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}, "in the future"),
    ({"time": "2022-03-10T23:10:00+08:00"}, "older than"),
])
def test_check_refuses_implausible_gauges(legacy, changes, words):
    with pytest.raises(FeedError) as exc:
        RAIN.check(_live(legacy["467490"], **changes))
    assert words in exc.value.reason


def test_rows_hold_the_current_values_and_level(legacy):
    (t1, reading), (t2, latest) = RAIN.to_rows(legacy["C0FA00"], datetime.now(timezone.utc))
    assert (t1, t2) == ("cwa_rain_reading", "cwa_rain_station")
    assert reading[1] == "C0FA00" and reading[8] == 0.0 and reading[9] is None  # 24 h, 2 days
    assert reading[-2] == "none" and reading[-1]["past_2d_mm"] == "missing"
    assert latest[0] == "C0FA00" and latest[7] == "66000290" and latest[-4] == "none"
