"""cwa-quake: E-A0015-001 reports No. 114136, 114133, 114125 (2025-09 .. 2025-11)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.feeds import FeedError
from ingest.feeds.cwa_quake import QUAKES, intensity, parse_quake

FILE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cwa" / "E-A0015-001_3reports_2025-09_11.json"


def _doc() -> dict:
    return json.loads(FILE.read_bytes().decode("utf-8"))


@pytest.fixture(scope="module")
def reports():
    return {r["report_no"]: r for r in parse_quake(FILE.read_bytes())}


def test_three_reports(reports):
    assert list(reports) == [114136, 114133, 114125]


def test_report_114136(reports):
    rec = reports[114136]  # 2025-11-12 04:26 南投縣國姓鄉 M4.5
    assert (rec["report_type"], rec["report_color"], rec["report_color_en"]) == ("地震報告", "綠色", "green")
    assert rec["origin_time"] == "2025-11-12T04:26:38+08:00"
    assert (rec["lon"], rec["lat"]) == (120.92, 24.09)
    assert rec["epicenter"] == {"type": "Point", "coordinates": [120.92, 24.09]}
    assert "南投縣國姓鄉" in rec["location"]
    assert (rec["depth_km"], rec["magnitude_type"], rec["magnitude"]) == (23.7, "芮氏規模", 4.5)
    assert (rec["max_intensity"], rec["max_intensity_rank"]) == ("3級", 3)
    assert (rec["taichung_intensity"], rec["taichung_intensity_rank"]) == ("3級", 3)
    assert rec["web"] == "https://scweb.cwa.gov.tw/zh-tw/earthquake/details/2025136"
    assert rec["report_image"].endswith("2025111204263845136_H.png")
    assert rec["shakemap_image"].endswith("2025136i.png")


def test_taichung_stations_of_114136(reports):
    taichung = reports[114136]["intensities"]["臺中市"]
    assert (taichung["max"], taichung["rank"]) == ("3級", 3)
    names = [(s["name"], s["intensity"]) for s in taichung["stations"]]
    assert len(names) == 7 and names[0] == ("霧峰", "3級") and ("烏石坑", "2級") in names
    wufeng = taichung["stations"][0]
    assert (wufeng["station_id"], wufeng["lon"], wufeng["lat"], wufeng["pga_gal"]) == ("B219", 120.7, 24.042, 11.04)


def test_county_maximum_includes_summary_areas(reports):
    rec = reports[114133]  # 最大震度4級 in 彰化縣 (員林, 彰化市)
    assert (rec["max_intensity"], rec["max_intensity_rank"]) == ("4級", 4)
    assert rec["intensities"]["彰化縣"]["max"] == "4級" and len(rec["intensities"]["彰化縣"]["stations"]) == 5
    assert rec["intensities"]["嘉義市"]["max"] == "2級"
    assert (rec["taichung_intensity"], rec["magnitude"]) == ("3級", 4.8)
    # a county named only in a summary ("臺南市、高雄市、臺東縣、...、澎湖縣") keeps its own stations
    assert len(rec["intensities"]["澎湖縣"]["stations"]) == 1


def test_taichung_not_listed_means_not_felt():
    doc = _doc()
    eq = doc["records"]["Earthquake"][0]
    eq["Intensity"]["ShakingArea"] = [a for a in eq["Intensity"]["ShakingArea"] if "臺中市" not in a["CountyName"]]
    doc["records"]["Earthquake"] = [eq]
    [rec] = parse_quake(json.dumps(doc).encode())
    assert rec["taichung_intensity"] is None and rec["taichung_intensity_rank"] == 0
    assert "臺中市" not in rec["intensities"] and rec["max_intensity"] == "3級"


@pytest.mark.parametrize("raw, expected", [
    ("0級", ("0級", 0)), ("3級", ("3級", 3)), ("4", ("4級", 4)), (2, ("2級", 2)), ("5弱", ("5弱", 5)),
    ("5強", ("5強", 6)), ("6弱", ("6弱", 7)), ("6強級", ("6強", 8)), ("7級", ("7級", 9)),
])
def test_intensity_scale(raw, expected):
    assert intensity(raw, field="x") == expected


@pytest.mark.parametrize("raw", ["8級", "5級", "3強", "", "strong", None, 3.5])
def test_intensity_scale_refuses_what_is_not_on_it(raw):
    with pytest.raises(FeedError):
        intensity(raw, field="AreaIntensity")


@pytest.mark.parametrize("change, words", [
    (lambda eq: eq.pop("EarthquakeInfo"), "Earthquake[0].EarthquakeInfo: expected an object"),
    (lambda eq: eq.update(EarthquakeNo="abc"), "Earthquake[0].EarthquakeNo"),
    (lambda eq: eq["EarthquakeInfo"].update(OriginTime="dawn"), "Earthquake[0].EarthquakeInfo.OriginTime"),
    (lambda eq: eq["EarthquakeInfo"]["Epicenter"].update(EpicenterLatitude=None), "EpicenterLatitude"),
    (lambda eq: eq["Intensity"]["ShakingArea"][0].update(AreaIntensity="9級"), "ShakingArea[0].AreaIntensity"),
    (lambda eq: eq["Intensity"]["ShakingArea"][0]["EqStation"][0].update(SeismicIntensity=None), "SeismicIntensity"),
])
def test_broken_report_is_refused_with_where_and_why(change, words):
    doc = _doc()
    change(doc["records"]["Earthquake"][0])
    with pytest.raises(FeedError) as exc:
        parse_quake(json.dumps(doc).encode())
    assert exc.value.stage == "validate" and words in exc.value.reason


def test_single_report_object_and_file_api_envelope():
    eq = _doc()["records"]["Earthquake"][2]
    [one] = parse_quake(json.dumps(eq).encode())
    assert one["report_no"] == 114125 and one["taichung_intensity"] == "3級"
    [wrapped] = parse_quake(json.dumps({"cwaopendata": {"dataset": {"Earthquake": eq}}}).encode())
    assert wrapped == one


def _live(rec: dict, **changes) -> dict:
    return {**rec, "origin_time": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat(), **changes}


def test_check_accepts_a_fresh_report(reports):
    QUAKES.check(_live(reports[114136]))


@pytest.mark.parametrize("changes, words", [
    ({"lon": 140.0, "lat": 35.0}, "outside the area CWA reports on"),
    ({"origin_time": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}, "in the future"),
    ({"origin_time": "2021-01-01T00:00:00+08:00"}, "older than"),
    ({"magnitude": 12.0}, "magnitude"),
    ({"depth_km": -3.0}, "depth_km"),
])
def test_check_refuses_implausible_reports(reports, changes, words):
    with pytest.raises(FeedError) as exc:
        QUAKES.check(_live(reports[114136], **changes))
    assert words in exc.value.reason


def test_row_keeps_intensities_as_json(reports):
    received = datetime.now(timezone.utc)
    [(table, row)] = QUAKES.to_rows(reports[114136], received)
    assert table == "cwa_quake_report"
    assert row[0] == 114136 and row[1] == datetime.fromisoformat("2025-11-12T04:26:38+08:00")
    assert row[12:14] == ("3級", 3) and row[14]["臺中市"]["max"] == "3級" and row[-1] is received
