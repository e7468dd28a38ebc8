"""Feed `cap`: OASIS CAP 1.1/1.2 alerts (Taiwan profile) -> normalised records, checks, rows.

Expected values come from the documents themselves (e.g. CWA's own list of townships in the
thunderstorm message), the geocode crosswalk, or an independent computation (geopandas in
TWD97/TM2 via `geo.boundaries`), never from the parser under test.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from ingest.feeds import all_feeds, get
from ingest.feeds._geo_lookup import district_code_at
from ingest.feeds.base import FeedError
from ingest.feeds.cap import MAX_RECORD_BYTES, check_cap, parse_atom_index

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cap"
CROSSWALK = ROOT / "geo" / "data" / "reference" / "taichung_cap_geocode_crosswalk.csv"
SCHEMA = ROOT / "schemas" / "messages" / "cap.schema.json"

FEED = get("cap")
RAIN = "tw_fifows_extremely-rain_202404230229.cap"
THUNDER = "tw_cwa.gov.tw_thunderstorm_20240424044654_000.cap"
HEAT = "tw_fifows_heat_202404221733.cap"
CDC = "tw_CDC_communicable_20190521123448_001.xml"
ALL_FIXTURES = sorted(p.name for p in FIXTURES.iterdir())


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_one(payload: bytes) -> dict:
    records = FEED.parse(payload)
    assert len(records) == 1
    return records[0]


def crosswalk() -> list[dict]:
    with CROSSWALK.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def alert(*, info: str = "", ns: str = "urn:oasis:names:tc:emergency:cap:1.2", ident: str = "T-1",
          sent: str = "2024-04-23T02:29:35+08:00", msg_type: str = "Alert", extra: str = "") -> bytes:
    """A minimal valid CAP document around the given <info> (or none)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{ns}">
  <identifier>{ident}</identifier><sender>test@ioc.example</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{extra}
  {info}
</alert>""".encode()


def info(areas: str = "", *, severity: str = "Severe", more: str = "") -> str:
    return f"""<info><category>Met</category><event>雷雨</event><urgency>Expected</urgency>
  <severity>{severity}</severity><certainty>Observed</certainty>{more}{areas}</info>"""


def area(body: str, desc: str = "test area") -> str:
    return f"<area><areaDesc>{desc}</areaDesc>{body}</area>"


def geocode(value: str, name: str = "Taiwan_Geocode_103") -> str:
    return f"<geocode><valueName>{name}</valueName><value>{value}</value></geocode>"


# --- registry ------------------------------------------------------------------------------

def test_feed_is_registered_with_its_topic_cadence_and_schema():
    assert all_feeds()["cap"] is FEED
    assert FEED.format == "xml"
    assert FEED.topics == ("ioc/v1/disaster/cap",)
    assert FEED.cadence == timedelta(minutes=10)
    assert (ROOT / "schemas" / "messages" / FEED.schema).is_file()
    assert {t.name for t in FEED.tables} == {"cap_alert", "cap_area", "cap_reference"}


# --- every fixture parses and matches the schema ------------------------------------------

@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses_to_a_record_valid_under_the_schema(name):
    rec = parse_one(load(name))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(rec)]
    assert errors == []
    json.dumps(rec)  # plain JSON-able


# --- real Taiwan CAP ------------------------------------------------------------------------

def test_rain_warning_covers_every_taichung_district_by_its_103_geocodes():
    rec = parse_one(load(RAIN))
    assert rec["identifier"] == "CWA-Weather_extremely-rain_202404230220001"
    assert rec["sender"] == "weather@cwa.gov.tw"
    assert rec["sent"] == "2024-04-23T02:29:35+08:00"
    assert (rec["status"], rec["msg_type"], rec["scope"]) == ("Actual", "Alert", "Public")
    (inf,) = rec["infos"]
    assert (inf["event"], inf["headline"], inf["severity"]) == ("降雨", "大雨特報", "Moderate")
    assert inf["category"] == ["Met"] and inf["response_type"] == ["Monitor"]
    assert inf["effective"] == "2024-04-23T02:20:00+08:00"
    assert inf["onset"] == "2024-04-23T02:23:00+08:00"
    assert inf["expires"] == "2024-04-23T17:00:00+08:00"
    assert {"name": "alert_color", "value": "黃色"} in inf["parameters"]
    assert inf["event_codes"] == [{"name": "profile:CAP-TWP:Event:1.0", "value": "rainfall"}]
    assert len(inf["areas"]) == 73

    rows = crosswalk()
    by_103 = {r["taiwan_geocode_103"]: r for r in rows if r["level"] == "district"}
    taichung = [a for a in inf["areas"] if a["geocodes"][0]["value"] in by_103]
    assert len(taichung) == 29
    for a in taichung:
        row = by_103[a["geocodes"][0]["value"]]
        assert a["description"] == row["name"]  # the document names the district it codes
        assert a["districts"] == [row["moi_code"]]
        assert a["villages"] == sorted(r["moi_code"] for r in rows if r["level"] == "village"
                                       and r["moi_code"].startswith(row["moi_code"]))
    others = [a for a in inf["areas"] if a not in taichung]
    assert all(a["districts"] == [] and a["villages"] == [] for a in others)
    assert {a["geocodes"][0]["value"][:5] for a in others} == {"10005", "10007"}  # 苗栗, 彰化 kept
    assert rec["districts"] == sorted(by_103[k]["moi_code"] for k in by_103)
    assert len(rec["villages"]) == 625


def test_thunderstorm_polygon_is_lon_lat_and_covers_the_townships_cwa_lists():
    rec = parse_one(load(THUNDER))
    (inf,) = rec["infos"]
    assert inf["instruction"] is None  # <instruction/>
    (a,) = inf["areas"]
    (poly,) = a["polygons"]
    ring = poly["coordinates"][0]
    assert poly["type"] == "Polygon"
    assert ring[0] == [121.07, 24.45] and ring[1] == [120.82, 24.15]  # "24.45,121.07 24.15,120.82"
    assert ring[0] == ring[-1] and len(ring) == 8

    # CWA lists the townships it meant in a parameter; Taichung's must be what the polygon covers.
    params = {p["name"]: p["value"] for p in inf["parameters"]}
    names = [n for n in params["townships"].split() if n.startswith("臺中市")]
    code_of = {r["name"]: r["moi_code"] for r in crosswalk() if r["level"] == "district"}
    expected = sorted(code_of[n] for n in names)
    assert len(expected) == 28 and "66000220" not in expected  # 大安區 is outside the polygon
    assert a["districts"] == expected
    assert rec["districts"] == expected


def test_thunderstorm_villages_match_an_independent_tm2_intersection():
    from geo import boundaries

    rec = parse_one(load(THUNDER))
    ring = rec["infos"][0]["areas"][0]["polygons"][0]["coordinates"][0]
    to_tm2 = Transformer.from_crs("EPSG:4326", "EPSG:3826", always_xy=True)
    # Edges are straight in lon/lat (as in GeoJSON): densify before projecting so they stay so.
    dense = shapely.segmentize(shapely.Polygon(ring), 0.001)
    poly = shapely.transform(dense, lambda xy: np.column_stack(to_tm2.transform(xy[:, 0], xy[:, 1])))
    villages = boundaries.villages()
    met = villages[villages.intersects(poly) & ~villages.touches(poly)]
    assert rec["villages"] == sorted(met["VILLCODE"])
    assert 400 < len(rec["villages"]) < 625


def test_heat_message_keeps_both_infos_and_the_highest_severity():
    rec = parse_one(load(HEAT))
    assert [i["severity"] for i in rec["infos"]] == ["Severe", "Moderate"]
    assert rec["severity"] == "Severe"
    assert rec["event"] == "高溫"
    params = {p["name"]: p["value"] for p in rec["infos"][0]["parameters"]}
    assert params["severity_level"] == "高溫橙色36燈號"
    first = rec["infos"][0]["areas"][0]
    assert first["geocodes"] == [{"name": "Taiwan_Geocode_103", "value": "6702500"}]  # 臺南 kept
    assert rec["districts"] == [] and rec["villages"] == []


def test_cdc_test_message_with_county_geocodes_outside_taichung():
    rec = parse_one(load(CDC))
    assert rec["status"] == "Test"
    (inf,) = rec["infos"]
    assert inf["language"] == "zh-tw" and inf["category"] == ["Health"]
    assert [a["geocodes"][0]["value"] for a in inf["areas"]] == ["10002", "10010"]
    assert rec["districts"] == []
    assert {"name": "CHANNEL", "value": "14,0"} in inf["parameters"]


# --- OASIS CAP 1.2 Appendix A -------------------------------------------------------------

def test_spec_a1_homeland_security_update():
    rec = parse_one(load("cap12_spec_appendixA1.xml"))
    assert rec["identifier"] == "43b080713727"
    assert rec["sent"] == "2003-04-02T14:39:01-05:00"
    (inf,) = rec["infos"]
    assert inf["language"] == "en-US"  # CAP default when <language> is absent
    assert inf["category"] == ["Security"]
    assert inf["parameters"] == [{"name": "HSAS", "value": "ORANGE"}]
    assert inf["resources"] == [{"description": "Image file (GIF)", "mime_type": "image/gif",
                                 "size": None, "uri": "http://www.dhs.gov/dhspublic/getAdvisoryImage",
                                 "digest": None, "has_deref": False}]
    assert inf["areas"][0]["description"] == "U.S. nationwide and interests worldwide"
    assert inf["areas"][0]["polygons"] == [] and inf["areas"][0]["circles"] == []


def test_spec_a2_severe_thunderstorm_polygon_and_same_codes():
    rec = parse_one(load("cap12_spec_appendixA2.xml"))
    (inf,) = rec["infos"]
    assert inf["response_type"] == ["Shelter"]
    assert inf["event_codes"] == [{"name": "SAME", "value": "SVR"}]
    assert inf["expires"] == "2003-06-17T16:00:00-07:00"
    (a,) = inf["areas"]
    assert a["polygons"] == [{"type": "Polygon", "coordinates": [[
        [-120.14, 38.47], [-119.95, 38.34], [-119.74, 38.52], [-119.89, 38.62], [-120.14, 38.47]]]}]
    assert [g["value"] for g in a["geocodes"]] == ["006109", "006009", "006003"]
    assert a["districts"] == [] and a["villages"] == []


def test_spec_a3_earthquake_update_references_and_zero_radius_circle():
    rec = parse_one(load("cap12_spec_appendixA3.xml"))
    assert rec["msg_type"] == "Update"
    assert rec["references"] == [{"sender": "trinet@caltech.edu", "identifier": "TRI13970876.1",
                                  "sent": "2003-06-11T20:30:00-07:00"}]
    (inf,) = rec["infos"]
    assert inf["urgency"] == "Past" and inf["severity"] == "Minor"
    # one-line fields wrapped by the XML layout are joined; descriptions keep their lines
    assert inf["sender_name"] == ("Southern California Seismic Network (TriNet) operated by Caltech "
                                  "and USGS")
    assert "Brawley,\n" in inf["description"]
    assert [p["name"] for p in inf["parameters"]] == ["EventID", "Version", "Magnitude", "Depth", "Quality"]
    assert {"name": "Magnitude", "value": "3.4 Ml"} in inf["parameters"]
    assert inf["areas"][0]["circles"] == [
        {"center": {"type": "Point", "coordinates": [-115.5527, 32.9525]}, "radius_km": 0.0}]


def test_spec_a4_multilingual_alert_has_two_infos():
    rec = parse_one(load("cap12_spec_appendixA4.xml"))
    assert rec["source"] == "SW"
    assert [i["language"] for i in rec["infos"]] == ["en-US", "es-US"]
    assert rec["infos"][1]["event"] == "Abducción de Niño"
    assert rec["infos"][1]["areas"][0]["description"] == "condado de Los Ángeles"
    assert rec["headline"] == "Amber Alert in Los Angeles County"  # no zh info: the first


# --- valid corner cases are accepted -------------------------------------------------------

def test_utf8_bom_is_accepted():
    assert parse_one(b"\xef\xbb\xbf" + load(RAIN)) == parse_one(load(RAIN))


def test_cap_1_1_namespace_is_accepted():
    rec = parse_one(alert(ns="urn:oasis:names:tc:emergency:cap:1.1", info=info(area(geocode("6600800")))))
    assert rec["cap_version"] == "1.1"
    assert rec["districts"] == ["66000080"]


def test_empty_polygon_is_valid_and_describes_nothing():
    rec = parse_one(alert(info=info(area("<polygon/>" + geocode("6600100")))))
    (a,) = rec["infos"][0]["areas"]
    assert a["polygons"] == []
    assert a["districts"] == ["66000010"]


def test_zero_radius_circle_covers_the_district_it_lies_in():
    lat, lon = 24.1618, 120.6469  # Taichung City Hall
    rec = parse_one(alert(info=info(area(f"<circle>{lat},{lon} 0</circle>"))))
    (a,) = rec["infos"][0]["areas"]
    assert a["circles"] == [{"center": {"type": "Point", "coordinates": [lon, lat]}, "radius_km": 0.0}]
    assert a["districts"] == [district_code_at(lon, lat)]
    assert len(a["villages"]) == 1 and a["villages"][0].startswith(a["districts"][0])


def test_circle_covers_districts_within_its_radius():
    from geo import boundaries

    lat, lon, km = 24.1618, 120.6469, 5.0
    rec = parse_one(alert(info=info(area(f"<circle>{lat},{lon} {km}</circle>"))))
    centre = shapely.Point(Transformer.from_crs("EPSG:4326", "EPSG:3826", always_xy=True)
                           .transform(lon, lat))
    districts = boundaries.districts()
    near = districts[districts.distance(centre) <= km * 1000]
    assert rec["districts"] == sorted(near["TOWNCODE"])
    assert 3 <= len(rec["districts"]) < 29


def test_circle_far_away_covers_nothing_and_a_huge_one_covers_all():
    far = parse_one(alert(info=info(area("<circle>25.03,121.56 30</circle>"))))  # Taipei
    assert far["districts"] == []
    huge = parse_one(alert(info=info(area("<circle>25.03,121.56 400</circle>"))))
    assert len(huge["districts"]) == 29 and len(huge["villages"]) == 625


@pytest.mark.parametrize("code", ["66", "66000"])
def test_county_level_geocode_covers_the_whole_city(code):
    rec = parse_one(alert(info=info(area(geocode(code)))))
    (a,) = rec["infos"][0]["areas"]
    assert a["geocodes"] == [{"name": "Taiwan_Geocode_103", "value": code}]
    assert a["districts"] == sorted(r["moi_code"] for r in crosswalk() if r["level"] == "district")
    assert len(a["villages"]) == 625


@pytest.mark.parametrize("name, value", [
    ("Taiwan_Geocode_103", "6600800-001"),
    ("Taiwan_Geocode_112", "66000080001"),
    ("Taiwan_Geocode_107", "66000080-001"),
])
def test_village_geocodes_cover_that_village_and_its_district(name, value):
    rec = parse_one(alert(info=info(area(geocode(value, name)))))
    assert rec["districts"] == ["66000080"]
    assert rec["villages"] == ["66000080001"]


def test_a_geocode_value_listing_several_codes_covers_each():
    rec = parse_one(alert(info=info(area(geocode("6600100 6600200,6600800-001")))))
    assert rec["districts"] == ["66000010", "66000020", "66000080"]
    assert "66000080001" in rec["villages"] and "66000080002" not in rec["villages"]


def test_moi_district_code_and_other_schemes():
    rec = parse_one(alert(info=info(area(geocode("66000290", "Taiwan_Geocode_112"))
                                    + area(geocode("66", "SAME"))  # not Taiwan's scheme
                                    + area(geocode("6500100")))))  # 新北市板橋區
    areas = rec["infos"][0]["areas"]
    assert areas[0]["districts"] == ["66000290"]
    assert areas[1]["districts"] == [] and areas[2]["districts"] == []
    assert rec["districts"] == ["66000290"]


def test_earthquake_report_in_the_cwa_shape():
    # Trimmed from a real CWA report (CWA-EQ113218, 2024-04-22; TaiwanAlertBot testcap/):
    # epicentre circle of radius 0 in Hualien, per-county intensity parameters and areas.
    more = """<parameter><valueName>LocalMaxIntensity</valueName>
      <value>3級;"臺中市";Taiwan_Geocode_103;66;;;"CAP-EQ:1.0"</value></parameter>"""
    areas = (area("<circle>23.759,121.546 0.000</circle>", "花蓮縣政府南南西方 26.8 公里")
             + area(geocode("10015") + geocode("10008"), "最大震度4級地區")
             + area(geocode("66") + geocode("10002"), "最大震度3級地區"))
    rec = parse_one(alert(info=info(areas, severity="Moderate", more=more)))
    epicentre, level4, level3 = rec["infos"][0]["areas"]
    assert epicentre["circles"][0]["radius_km"] == 0.0 and epicentre["districts"] == []
    assert level4["districts"] == []
    assert len(level3["districts"]) == 29
    assert rec["infos"][0]["parameters"][0]["value"].startswith("3級;\"臺中市\"")


def test_road_closure_circle_in_the_cwa_shape():
    # Trimmed from a real 公路總局 road closure (THB-Bobe20190821072052-2016494039, TaiwanAlertBot
    # testcap/): a 10 km circle on 台8線 in 和平區.
    from geo import boundaries

    lat, lon = 24.25397, 121.2385
    rec = parse_one(alert(info=info(area(f"<circle>{lat},{lon} 10.0</circle>", "台8線78K+700~79K+000"),
                                    severity="Extreme")))
    centre = shapely.Point(Transformer.from_crs("EPSG:4326", "EPSG:3826", always_xy=True)
                           .transform(lon, lat))
    villages = boundaries.villages()
    near = villages[villages.distance(centre) <= 10_000]
    assert rec["villages"] == sorted(near["VILLCODE"]) and rec["villages"]
    assert rec["districts"] == ["66000290"]  # 和平區


def test_reservoir_update_in_the_wra_shape():
    # Trimmed from a real 水利署 reservoir release update (WRA_ReservoirWarn_201908210020,
    # TaiwanAlertBot testcap/): six references, <code>, four Taichung districts by 103 geocode.
    refs = " ".join(f"ddmt01@wra.gov.tw,WRA_ReservoirWarn_{stamp},{sent}" for stamp, sent in [
        ("201908202320", "2019-08-20T23:20:00+08:00"), ("201908202310", "2019-08-20T23:10:00+08:00"),
        ("201908202040", "2019-08-20T20:40:00+08:00"), ("201908202000", "2019-08-20T20:00:00+08:00"),
        ("201908201930", "2019-08-20T19:30:00+08:00"), ("201908201820", "2019-08-20T18:20:00+08:00")])
    names = ["臺中市后里區", "臺中市大甲區", "臺中市外埔區", "臺中市大安區"]
    code_of = {r["name"]: r for r in crosswalk() if r["level"] == "district"}
    areas = area(geocode("1000513"), "苗栗縣三義鄉") + "".join(
        area(geocode(code_of[n]["taiwan_geocode_103"]), n) for n in names)
    rec = parse_one(alert(msg_type="Update", sent="2019-08-21T00:20:00+08:00",
                          extra=f"<code>Progress</code><references>{refs}</references>",
                          info=info(areas, severity="Moderate")))
    assert len(rec["references"]) == 6 and rec["code"] == ["Progress"]
    assert rec["references"][-1] == {"sender": "ddmt01@wra.gov.tw",
                                     "identifier": "WRA_ReservoirWarn_201908201820",
                                     "sent": "2019-08-20T18:20:00+08:00"}
    assert rec["districts"] == sorted(code_of[n]["moi_code"] for n in names)
    rows = as_dicts(rows_of(rec))
    assert len(rows["cap_reference"]) == 6
    assert {r["msg_type"] for r in rows["cap_reference"]} == {"Update"}


def test_taiwan_geocode_100_edition_shares_the_103_codes():
    # CWB's tsunami test message of 2015 (CWB-TSU10401001) codes 大甲區 as Taiwan_Geocode_100 6601100.
    rec = parse_one(alert(info=info(area(geocode("6601100", "Taiwan_Geocode_100")
                                         + geocode("1000502", "Taiwan_Geocode_100"), "海峽沿海地區"))))
    assert rec["districts"] == ["66000110"]


def test_lists_quotes_and_case_are_normalised():
    extra = """<addresses>ops@a "Taichung EOC" b</addresses><code>IPAWSv1.0</code><code>x</code>
      <incidents>inc-1 "big fire"</incidents><note>n</note>
      <references>a@b,id-1,2024-04-23T01:00:00+08:00 a@b,id-2,2024-04-23T01:30:00+08:00</references>"""
    rec = parse_one(alert(msg_type="update", extra=extra, info=info(severity="severe")))
    assert rec["msg_type"] == "Update" and rec["infos"][0]["severity"] == "Severe"
    assert rec["addresses"] == ["ops@a", "Taichung EOC", "b"]
    assert rec["incidents"] == ["inc-1", "big fire"]
    assert rec["code"] == ["IPAWSv1.0", "x"]
    assert [r["identifier"] for r in rec["references"]] == ["id-1", "id-2"]


def test_message_without_info_is_valid():
    rec = parse_one(alert(msg_type="Cancel",
                          extra="<references>a@b,id-1,2024-04-23T01:00:00+08:00</references>"))
    assert rec["infos"] == [] and rec["severity"] is None and rec["event"] is None


def test_unclosed_polygon_is_closed():
    rec = parse_one(alert(info=info(area("<polygon>24.2,120.6 24.2,120.7 24.1,120.7</polygon>"))))
    ring = rec["infos"][0]["areas"][0]["polygons"][0]["coordinates"][0]
    assert ring == [[120.6, 24.2], [120.7, 24.2], [120.7, 24.1], [120.6, 24.2]]
    assert rec["districts"]


# --- invalid documents are refused with the right stage -----------------------------------

def refused(payload: bytes) -> FeedError:
    with pytest.raises(FeedError) as exc:
        FEED.parse(payload)
    return exc.value


@pytest.mark.parametrize("ns", ["http://www.incident.com/cap/1.0",
                                "urn:oasis:names:tc:emergency:cap:1.3", ""])
def test_other_namespaces_are_refused(ns):
    payload = load(RAIN).replace(b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"',
                                 f'xmlns="{ns}"'.encode() if ns else b"")
    err = refused(payload)
    assert err.stage == "validate"
    assert "not a CAP 1.1/1.2 alert" in err.reason


def test_an_atom_index_is_refused_with_a_hint():
    err = refused(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>')
    assert err.stage == "validate" and "parse_atom_index" in err.reason


@pytest.mark.parametrize("payload", [b"", b"   ", b'{"identifier": "x"}', b"\x00\x01\x02",
                                     b"<alert>", b"\xff\xfe<\x00a\x00"])
def test_not_xml_is_a_decode_error(payload):
    assert refused(payload).stage == "decode"


def test_truncated_document_is_a_decode_error():
    body = load(RAIN)
    err = refused(body[: len(body) // 2])
    assert err.stage == "decode" and "well-formed" in err.reason


@pytest.mark.parametrize("remove, path", [
    ("<identifier>T-1</identifier>", "alert/identifier"),
    ("<sent>2024-04-23T02:29:35+08:00</sent>", "alert/sent"),
    ("<scope>Public</scope>", "alert/scope"),
    ("<event>雷雨</event>", "alert/info[0]/event"),
    ("<category>Met</category>", "alert/info[0]/category"),
    ("<areaDesc>test area</areaDesc>", "alert/info[0]/area[0]/areaDesc"),
])
def test_missing_required_elements_are_named(remove, path):
    payload = alert(info=info(area(geocode("66")))).replace(remove.encode(), b"")
    err = refused(payload)
    assert err.stage == "validate" and path in err.reason


@pytest.mark.parametrize("old, new, where", [
    ("<severity>Severe</severity>", "<severity>Bad</severity>", "severity"),
    ("<status>Actual</status>", "<status>Real</status>", "status"),
    ("<category>Met</category>", "<category>Weather</category>", "category"),
    ("2024-04-23T02:29:35+08:00", "23/04/2024 02:29", "sent"),
    ("<scope>Public</scope>", "<scope>Public</scope><scope>Private</scope>", "scope"),
    ("2024-04-23T02:29:35+08:00", "0001-01-01T00:00:00+14:00", "out of range"),
    ("<certainty>Observed</certainty>", "<certainty>Sure</certainty>", "certainty"),
])
def test_bad_values_are_refused(old, new, where):
    payload = alert(info=info(area(geocode("66")))).replace(old.encode(), new.encode())
    err = refused(payload)
    assert err.stage == "validate" and where in err.reason


@pytest.mark.parametrize("geometry", [
    "<polygon>24.2,120.6 24.3,120.7</polygon>",  # too few points
    "<polygon>121.07,24.45 120.82,24.15 120.38,23.96 121.07,24.45</polygon>",  # lon,lat swapped
    "<polygon>24.2;120.6 24.3;120.7 24.1,120.7 24.2;120.6</polygon>",
    "<polygon>nan,120.6 24.3,120.7 24.1,120.7 nan,120.6</polygon>",
    "<circle>24.1,120.6</circle>",
    "<circle>24.1,120.6 -3</circle>",
    "<circle>24.1,120.6 1e999</circle>",
])
def test_bad_geometry_is_refused(geometry):
    err = refused(alert(info=info(area(geometry))))
    assert err.stage == "validate" and "area[0]" in err.reason


def test_bad_references_are_refused():
    err = refused(alert(msg_type="Cancel", extra="<references>just-an-id</references>"))
    assert err.stage == "validate" and "references" in err.reason


# --- check: live plausibility --------------------------------------------------------------

def sent_of(rec: dict) -> datetime:
    return datetime.fromisoformat(rec["sent"])


@pytest.mark.parametrize("name", [RAIN, THUNDER, HEAT])
def test_real_taiwan_alerts_pass_check_when_fresh(name):
    rec = parse_one(load(name))
    check_cap(rec, now=sent_of(rec) + timedelta(minutes=5))


def test_check_uses_the_clock_by_default():
    rec = parse_one(load(THUNDER))  # sent in 2024: old by now
    with pytest.raises(FeedError) as exc:
        FEED.check(rec)
    assert "sent" in exc.value.reason and "older" in exc.value.reason


def test_check_refuses_sent_far_in_the_future_or_past():
    rec = parse_one(load(THUNDER))
    with pytest.raises(FeedError, match="future"):
        check_cap(rec, now=sent_of(rec) - timedelta(hours=1))
    with pytest.raises(FeedError, match="older"):
        check_cap(rec, now=sent_of(rec) + timedelta(days=30))


def test_check_refuses_geometry_outside_taiwan():
    rec = parse_one(load("cap12_spec_appendixA2.xml"))  # California
    with pytest.raises(FeedError, match="outside Taiwan"):
        check_cap(rec, now=sent_of(rec))
    rec = parse_one(load("cap12_spec_appendixA3.xml"))
    with pytest.raises(FeedError, match="outside Taiwan"):
        check_cap(rec, now=sent_of(rec))


def test_live_ingest_refuses_payloads_over_one_mebibyte():
    assert FEED.max_bytes == 1024 * 1024
    assert len(load(RAIN)) < FEED.max_bytes // 50


def test_check_refuses_oversized_records_that_parse_accepts():
    big = "大雨" * (MAX_RECORD_BYTES // 3)
    rec = parse_one(alert(info=info(area(geocode("66")), more=f"<description>{big}</description>")))
    assert len(rec["infos"][0]["description"]) == len(big)
    with pytest.raises(FeedError, match="bytes as JSON"):
        check_cap(rec, now=sent_of(rec))


def test_check_refuses_expiry_before_sending_and_keys_with_spaces():
    rec = parse_one(alert(info=info(more="<expires>2024-04-23T01:00:00+08:00</expires>")))
    with pytest.raises(FeedError, match="expires"):
        check_cap(rec, now=sent_of(rec))
    rec = parse_one(alert(ident="two words", info=info()))
    with pytest.raises(FeedError, match="identifier"):
        check_cap(rec, now=sent_of(rec))


# --- rows ------------------------------------------------------------------------------------

def rows_of(rec: dict) -> list[tuple[str, tuple]]:
    return list(FEED.to_rows(rec, datetime(2024, 4, 23, 0, 0, tzinfo=timezone.utc)))


def as_dicts(rows) -> dict[str, list[dict]]:
    tables = {t.name: t for t in FEED.tables}
    out: dict[str, list[dict]] = {}
    for name, values in rows:
        assert len(values) == len(tables[name].columns)
        out.setdefault(name, []).append(dict(zip(tables[name].columns, values, strict=True)))
    return out


def test_rows_of_the_rain_warning():
    rec = parse_one(load(RAIN))
    rows = as_dicts(rows_of(rec))
    (a,) = rows["cap_alert"]
    sent = datetime(2024, 4, 23, 2, 29, 35, tzinfo=timezone(timedelta(hours=8)))
    assert (a["sender"], a["identifier"], a["sent"]) == (rec["sender"], rec["identifier"], sent)
    assert a["effective"] == datetime.fromisoformat("2024-04-23T02:20:00+08:00")
    assert a["expires"] == datetime.fromisoformat("2024-04-23T17:00:00+08:00")
    assert a["severity_rank"] == 2 and a["record"] is rec
    assert a["districts"] == rec["districts"]
    assert len(rows["cap_area"]) == 73 and "cap_reference" not in rows
    beitun = [r for r in rows["cap_area"] if r["area_desc"] == "臺中市北屯區"]
    assert beitun[0]["districts"] == ["66000080"] and beitun[0]["severity"] == "Moderate"
    assert sorted((r["info_index"], r["area_index"]) for r in rows["cap_area"]) == [(0, i) for i in range(73)]
    for table_rows in rows.values():
        for row in table_rows:
            for value in row.values():
                if isinstance(value, datetime):
                    assert value.tzinfo is not None


def test_rows_of_an_update_name_what_it_updates():
    rows = as_dicts(rows_of(parse_one(load("cap12_spec_appendixA3.xml"))))
    (ref,) = rows["cap_reference"]
    assert ref["msg_type"] == "Update"
    assert (ref["ref_sender"], ref["ref_identifier"]) == ("trinet@caltech.edu", "TRI13970876.1")
    assert ref["ref_sent"] == datetime.fromisoformat("2003-06-11T20:30:00-07:00")
    # no <expires>: cap_alert.expires is NULL (the SQL applies the 24 h default)
    assert rows["cap_alert"][0]["expires"] is None


def test_a_reference_listed_twice_is_one_row():
    refs = "a@b,id-1,2024-04-23T01:00:00+08:00 a@b,id-1,2024-04-22T17:00:00Z"  # same instant
    rows = as_dicts(rows_of(parse_one(alert(msg_type="Cancel", extra=f"<references>{refs}</references>"))))
    assert len(rows["cap_reference"]) == 1


def test_an_info_without_areas_still_gets_an_area_row():
    rows = as_dicts(rows_of(parse_one(alert(info=info()))))
    (row,) = rows["cap_area"]
    assert row["area_index"] == 0 and row["area_desc"] is None and row["districts"] == []


# --- the platform's Atom index ---------------------------------------------------------------

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.1">
  <id>https://alerts.ncdr.nat.gov.tw/RssAtomFeed.ashx</id><title>NCDR</title>
  <updated>2024-04-23T02:30:00+08:00</updated>
  <entry>
    <id>CWA-Weather_extremely-rain_202404230220001</id><title>大雨特報</title>
    <updated>2024-04-23T02:29:35+08:00</updated>
    <author><name>中央氣象署</name></author>
    <link rel="alternate" href="https://alerts.ncdr.nat.gov.tw/Capstorage/CWA/2024/rain/a.cap"/>
    <summary type="html">苗栗縣、臺中市</summary><cap:status>Actual</cap:status>
  </entry>
  <entry>
    <id>urn:x:2</id><updated>2024-04-23T03:00:00+08:00</updated>
    <link rel="self" href="https://example.org/entry/2"/>
    <link rel="related" type="application/cap+xml" href="https://example.org/2.xml"/>
  </entry>
</feed>""".encode()


def test_atom_index_lists_entries_with_their_cap_links():
    assert parse_atom_index(ATOM) == [
        {"id": "CWA-Weather_extremely-rain_202404230220001",
         "link": "https://alerts.ncdr.nat.gov.tw/Capstorage/CWA/2024/rain/a.cap",
         "updated": "2024-04-23T02:29:35+08:00"},
        {"id": "urn:x:2", "link": "https://example.org/2.xml", "updated": "2024-04-23T03:00:00+08:00"},
    ]


def test_rss_index_is_read_too():
    rss = b"""<rss version="2.0"><channel><title>t</title><item><title>a</title>
      <link>https://example.org/a.cap</link><guid>g-1</guid>
      <pubDate>Tue, 23 Apr 2024 02:29:35 +0800</pubDate></item></channel></rss>"""
    assert parse_atom_index(rss) == [{"id": "g-1", "link": "https://example.org/a.cap",
                                      "updated": "2024-04-23T02:29:35+08:00"}]


def test_index_refusals():
    with pytest.raises(FeedError) as exc:
        parse_atom_index(re.sub(rb"<link [^>]*/>", b"", ATOM))
    assert exc.value.stage == "validate" and "entry[0]" in exc.value.reason
    with pytest.raises(FeedError) as exc:
        parse_atom_index(load(RAIN))
    assert exc.value.stage == "validate"
    with pytest.raises(FeedError) as exc:
        parse_atom_index(b'<!DOCTYPE feed [<!ENTITY a "x">]><feed/>')
    assert exc.value.stage == "decode"
