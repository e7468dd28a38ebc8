"""cwa-typhoon: W-C0034-005 (RAGASA 樺加沙, NEOGURI 浣熊, BUALOI 博羅依, issued 2025-09-24 15:40)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.feeds import FeedError
from ingest.feeds.cwa_typhoon import TYPHOONS, parse_typhoon

FILE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cwa" / "W-C0034-005_typhoon_RAGASA_2025-09-24.json"


def _doc() -> dict:
    return json.loads(FILE.read_bytes().decode("utf-8"))


@pytest.fixture(scope="module")
def cyclones():
    return {c["name_en"]: c for c in parse_typhoon(FILE.read_bytes())}


def test_three_cyclones_with_names_and_numbers(cyclones):
    assert list(cyclones) == ["RAGASA", "NEOGURI", "BUALOI"]
    ragasa = cyclones["RAGASA"]
    assert (ragasa["cyclone_id"], ragasa["name_zh"], ragasa["td_no"], ragasa["ty_no"]) == ("2025-TD21", "樺加沙", 21, 18)
    assert ragasa["issued"] == "2025-09-24T15:40:13+08:00"


def test_ragasa_first_fix(cyclones):
    fixes = cyclones["RAGASA"]["fixes"]
    first = fixes[0]
    assert (first["kind"], first["time"], first["tau_h"]) == ("analysis", "2025-09-17T08:00:00+08:00", 0)
    assert (first["lon"], first["lat"]) == (136.6, 13.6)
    assert (first["pressure_hpa"], first["max_wind_ms"], first["max_gust_ms"]) == (1004.0, 12.0, 20.0)
    assert (first["moving_direction"], first["moving_dir_deg"], first["moving_speed_kmh"]) == ("W", 270.0, 25.0)
    assert first["radius_15ms_km"] is None and first["radius_15ms_quadrants_km"] is None  # no circle yet
    windy = next(f for f in fixes if f["radius_15ms_km"] is not None)
    assert (windy["time"], windy["lon"], windy["lat"]) == ("2025-09-18T20:00:00+08:00", 133.2, 15.7)
    assert windy["radius_15ms_km"] == 80.0
    assert windy["radius_15ms_quadrants_km"] == {"NE": 80.0, "SE": 80.0, "SW": 80.0, "NW": 80.0}


def test_ragasa_latest_analysis_and_forecast(cyclones):
    ragasa = cyclones["RAGASA"]
    analysis = [f for f in ragasa["fixes"] if f["kind"] == "analysis"]
    forecast = [f for f in ragasa["fixes"] if f["kind"] == "forecast"]
    assert len(analysis) == 66 and [f["tau_h"] for f in forecast] == [6, 12, 18, 24, 36]
    last = analysis[-1]
    assert (last["time"], last["lon"], last["lat"]) == ("2025-09-24T14:00:00+08:00", 112.6, 21.6)
    assert last["pressure_hpa"] == 935.0
    assert last["radius_15ms_km"] == 280.0 and last["radius_25ms_km"] == 90.0
    assert last["radius_15ms_quadrants_km"] == {"NE": 310.0, "SE": 310.0, "SW": 250.0, "NW": 230.0}
    assert last["moving_prediction"] == {"zh-hant": "以每小時23公里速度，向西進行", "en-us": "WEST 23 KM/HR"}
    assert ragasa["position"] == {"type": "Point", "coordinates": [112.6, 21.6]}
    tau6 = forecast[0]
    assert (tau6["base_time"], tau6["time"]) == ("2025-09-24T14:00:00+08:00", "2025-09-24T20:00:00+08:00")
    assert (tau6["lon"], tau6["lat"], tau6["radius_15ms_km"], tau6["radius_70pct_km"]) == (111.3, 21.6, 180.0, 30.0)
    assert forecast[-1]["state_transfer"]["zh-hant"] == "減弱為熱帶性低氣壓"
    assert ragasa["track"]["coordinates"][0] == [136.6, 13.6] and len(ragasa["track"]["coordinates"]) == 66
    assert ragasa["forecast_track"]["coordinates"][:2] == [[112.6, 21.6], [111.3, 21.6]]


def test_forecast_without_winds_keeps_them_null(cyclones):
    last = cyclones["NEOGURI"]["fixes"][-1]  # tau 120: becoming extratropical, no winds given
    assert (last["tau_h"], last["max_wind_ms"], last["radius_15ms_km"]) == (120, None, None)
    assert last["state_transfer"]["en-us"] == "BECOMING EXTRATROPICAL LOW"


def test_single_cyclone_and_single_fix_objects_are_accepted():
    doc = _doc()
    one = doc["cwaopendata"]["dataset"]["tropicalCyclones"]["tropicalCyclone"][2]  # BUALOI
    one["forecast_data"]["fix"] = one["forecast_data"]["fix"][0]  # XML-as-JSON: a lone fix is no list
    doc["cwaopendata"]["dataset"]["tropicalCyclones"]["tropicalCyclone"] = one
    [rec] = parse_typhoon(json.dumps(doc).encode())
    assert rec["name_en"] == "BUALOI" and [f["tau_h"] for f in rec["fixes"] if f["kind"] == "forecast"] == [6]


@pytest.mark.parametrize("dataset", [None, "", {}, {"tropicalCyclones": None},
                                     {"tropicalCyclones": {"tropicalCyclone": []}}])
def test_no_cyclone_is_an_empty_list(dataset):
    doc = {"cwaopendata": {"sent": "2025-12-01T05:40:00+08:00", "dataset": dataset}}
    assert parse_typhoon(json.dumps(doc).encode()) == []


@pytest.mark.parametrize("change, words", [
    (lambda tc: tc["analysis_data"]["fix"][0].update(coordinate="136.6"), "fix[0].coordinate: expected 'lon,lat'"),
    (lambda tc: tc["analysis_data"]["fix"][0].update(coordinate="east,13.6"), "fix[0].coordinate lon"),
    (lambda tc: tc["analysis_data"]["fix"][0].update(fix_time="soon"), "fix[0].fix_time"),
    (lambda tc: tc["forecast_data"]["fix"][0].update(tau="6.5"), "fix[0].tau"),
    (lambda tc: tc["analysis_data"]["fix"][-1]["circle_of_15ms"]["quadrant_radii"]["radius"][0].update({"@dir": "UP"}),
     "not a quadrant"),
    (lambda tc: [tc.pop("cwa_td_no"), tc.pop("typhoon_name")], "identifies the cyclone"),
    (lambda tc: tc.update(analysis_data=None, forecast_data=None), "no analysis or forecast fixes"),
])
def test_broken_cyclone_is_refused_with_where_and_why(change, words):
    doc = _doc()
    tcs = doc["cwaopendata"]["dataset"]["tropicalCyclones"]["tropicalCyclone"]
    change(tcs[0])
    with pytest.raises(FeedError) as exc:
        parse_typhoon(json.dumps(doc).encode())
    assert exc.value.stage == "validate" and words in exc.value.reason


def _shifted(rec: dict, to: datetime) -> dict:
    """The record moved in time so that it was issued at `to` (check works against the clock)."""
    delta = to - datetime.fromisoformat(rec["issued"])

    def move(value: str) -> str:
        return (datetime.fromisoformat(value) + delta).isoformat()

    fixes = [{**f, "time": move(f["time"]), "base_time": move(f["base_time"])} for f in rec["fixes"]]
    return {**rec, "issued": move(rec["issued"]), "latest_fix_time": move(rec["latest_fix_time"]), "fixes": fixes}


def test_check_accepts_a_fresh_track(cyclones):
    for rec in cyclones.values():
        TYPHOONS.check(_shifted(rec, datetime.now(timezone.utc)))


def test_check_refuses_future_stale_and_misplaced_tracks(cyclones):
    rec = cyclones["RAGASA"]
    with pytest.raises(FeedError, match="in the future"):
        TYPHOONS.check(_shifted(rec, datetime.now(timezone.utc) + timedelta(hours=3)))
    with pytest.raises(FeedError, match="older than"):
        TYPHOONS.check(rec)
    fresh = _shifted(rec, datetime.now(timezone.utc))
    fresh["fixes"][3] = {**fresh["fixes"][3], "lon": -80.0}
    with pytest.raises(FeedError, match="outside the western North Pacific"):
        TYPHOONS.check(fresh)
    fresh = _shifted(rec, datetime.now(timezone.utc))
    fresh["fixes"][0] = {**fresh["fixes"][0], "pressure_hpa": 400.0}
    with pytest.raises(FeedError, match="pressure_hpa"):
        TYPHOONS.check(fresh)


def test_rows_one_per_fix_and_one_per_cyclone(cyclones):
    rows = list(TYPHOONS.to_rows(cyclones["RAGASA"], datetime.now(timezone.utc)))
    fixes = [row for table, row in rows if table == "cwa_typhoon_fix"]
    [latest] = [row for table, row in rows if table == "cwa_typhoon"]
    assert len(fixes) == 71
    first = fixes[0]
    assert first[:5] == ("2025-TD21", "analysis", datetime.fromisoformat("2025-09-17T08:00:00+08:00"),
                         datetime.fromisoformat("2025-09-17T08:00:00+08:00"), 0)
    assert latest[0] == "2025-TD21" and latest[12]["type"] == "LineString"
    assert latest[-1] == datetime.fromisoformat("2025-09-24T15:40:13+08:00")
