"""Feed `sta`: Civil IoT Taiwan sensors via OGC SensorThings API v1.0 (HTTP documents, MQTT)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import all_feeds
from ingest.feeds.base import FeedError
from ingest.feeds.sta import STA, next_link, parse_document, parse_observation_message, parse_sta

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/sta"
THINGS = FIXTURES / "sta_epaiot_Things_page1_excerpt_2021-03-20.json"
DATASTREAMS = FIXTURES / "sta_epaiot_Thing1_Datastreams_2021-03-20.json"
OBSERVATIONS = FIXTURES / "sta_epaiot_Datastream1_Observations_excerpt_2021-03-20.json"
THING1 = FIXTURES / "sta_epaiot_Thing1_expand_Locations_2021-03-20.json"
SCHEMA = json.loads((ROOT / "schemas/messages/sta.schema.json").read_text(encoding="utf-8"))
EPA = "https://sta.ci.taiwan.gov.tw/STA_AirQuality_EPAIoT/v1.0"
WRA = "https://sta.colife.org.tw/STA_WaterResource_v2/v1.0"

# The shape Civil IoT water-resource pollers ask for
# (Things?$expand=Locations,Datastreams($expand=ObservedProperty,Observations($top=1))).
# Built for this test, not a recording: the station, its code, position, datastream description
# and the reading 157.41 at 2022-08-28T06:00Z are those of 延平 (2200H007) as printed in the
# pyCIOT documentation (learnciot.github.io ch3.1); ids and unit are made up.
WATER_LEVEL_PAGE = {
    "value": [{
        "@iot.id": 2761, "name": "01790145-cd7e-4498-9240-f0fcd9061df2", "description": "現場觀測",
        "properties": {"authority": "水利署水文技術組", "stationCode": "2200H007", "stationName": "延平",
                       "authority_type": "水利署"},
        "@iot.selfLink": f"{WRA}/Things(2761)",
        "Locations": [{"@iot.id": 2761, "encodingType": "application/vnd.geo+json",
                       "location": {"type": "Point", "coordinates": [121.0845795, 22.8983536]}}],
        "Datastreams": [{
            "@iot.id": 9001, "name": "水位",
            "description": "Datastream_id=016e5ea0-7c7f-41a2-af41-eabacdbb613f, Datastream_FullName=延平.水位, "
                           "Datastream_Description=現場觀測, Datastream_Category_type=河川水位站, "
                           "Datastream_Category=水文",
            "unitOfMeasurement": {"name": "公尺", "symbol": "m", "definition": None},
            "ObservedProperty": {"@iot.id": 3, "name": "水位"},
            "Observations": [{"@iot.id": 77, "phenomenonTime": "2022-08-28T05:50:00.000Z/2022-08-28T06:00:00.000Z",
                              "resultTime": "2022-08-28T06:00:00.000Z", "result": "157.41"}],
        }],
    }],
    "@iot.nextLink": f"{WRA}/Things?$expand=Locations&$skip=1",
}


def records_of(kind, records):
    return [r for r in records if r["kind"] == kind]


def encode(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def test_registered_with_tables_and_helpers():
    assert all_feeds()["sta"] is STA
    assert [(t.name, t.key, t.mode) for t in STA.tables] == [
        ("sta_thing", ("service", "thing_id"), "latest"),
        ("sta_datastream", ("service", "datastream_id"), "latest"),
        ("sta_observation", ("service", "datastream_id", "time"), "append")]
    assert STA.extra["parse_message"] is parse_observation_message
    assert STA.extra["next_link"] is next_link and STA.extra["parse_document"] is parse_document


def test_things_page():
    things = parse_sta(THINGS.read_bytes())
    assert [(t["kind"], t["service"], t["thing_id"]) for t in things] == [
        ("thing", "STA_AirQuality_EPAIoT", "1"), ("thing", "STA_AirQuality_EPAIoT", "2"),
        ("thing", "STA_AirQuality_EPAIoT", "3")]
    taichung = things[1]
    assert taichung["name"] == "智慧城鄉空品微型感測器-11183695772"
    assert (taichung["properties"]["city"], taichung["properties"]["township"]) == ("台中市", "大雅區")
    assert (taichung["lon"], taichung["lat"], taichung["location"]) == (None, None, None)  # not expanded
    assert next_link(json.loads(THINGS.read_bytes())) == f"{EPA}/Things?$skip=100"


def test_datastreams_of_thing1():
    streams = parse_sta(DATASTREAMS.read_bytes())
    assert [(s["datastream_id"], s["name"]) for s in streams] == [("1", "PM2.5"), ("3", "Temperature"),
                                                                  ("2", "Relative humidity")]
    assert streams[0]["unit"] == {"name": "microgram per cubic meter", "symbol": "μg/m3",
                                  "definition": "https://acronyms.thefreedictionary.com/ug%2Fm3"}
    assert streams[0]["thing_id"] is None  # the page does not say whose they are
    with_url = parse_document(DATASTREAMS.read_bytes(), url=f"{EPA}/Things(1)/Datastreams")
    assert {s["thing_id"] for s in with_url} == {"1"}


def test_observations_take_their_datastream_from_the_next_link():
    obs = parse_sta(OBSERVATIONS.read_bytes())
    assert obs == [
        {"kind": "observation", "service": "STA_AirQuality_EPAIoT", "datastream_id": "1",
         "observation_id": "1430206809", "time": "2021-03-20T13:07:28+00:00", "result_time": None,
         "result": 11.92, "result_text": None},
        {"kind": "observation", "service": "STA_AirQuality_EPAIoT", "datastream_id": "1",
         "observation_id": "1430154068", "time": "2021-03-20T13:03:29+00:00", "result_time": None,
         "result": 11.08, "result_text": None},
    ]


def test_last_observation_page_needs_the_request_url():
    last = json.loads(OBSERVATIONS.read_bytes())
    del last["@iot.nextLink"]
    with pytest.raises(FeedError) as err:
        parse_sta(encode(last))
    assert err.value.stage == "validate" and "Datastream id" in err.value.reason
    obs = parse_document(encode(last), url=f"{EPA}/Datastreams(1)/Observations?$skip=100")
    assert [o["datastream_id"] for o in obs] == ["1", "1"]


def test_thing_with_locations_needs_an_id():
    with pytest.raises(FeedError) as err:
        parse_sta(THING1.read_bytes())
    assert err.value.stage == "validate" and "Thing without @iot.id" in err.value.reason
    thing, = parse_document(THING1.read_bytes(), url=f"{EPA}/Things(1)?$expand=Locations")
    assert (thing["service"], thing["thing_id"]) == ("STA_AirQuality_EPAIoT", "1")
    assert (thing["lon"], thing["lat"]) == (121.687045, 25.111078)
    assert thing["location"] == {"type": "Point", "coordinates": [121.687045, 25.111078]}
    assert thing["properties"]["stationID"] == "11113765144"


def test_fixtures_match_the_schema():
    for path in (THINGS, DATASTREAMS, OBSERVATIONS, THING1):
        jsonschema.validate(json.loads(path.read_bytes()), SCHEMA)
    jsonschema.validate(WATER_LEVEL_PAGE, SCHEMA)


def test_nested_water_level_page():
    records = parse_sta(encode(WATER_LEVEL_PAGE))
    assert [r["kind"] for r in records] == ["thing", "datastream", "observation"]
    thing, stream, reading = records
    assert (thing["service"], thing["thing_id"], thing["lon"], thing["lat"]) == (
        "STA_WaterResource_v2", "2761", 121.0845795, 22.8983536)
    assert (stream["thing_id"], stream["observed_property"], stream["unit"]["symbol"]) == ("2761", "水位", "m")
    assert "Datastream_Category_type=河川水位站" in stream["description"]
    # The interval's end is the reading's time; a numeric string is a number.
    assert reading == {"kind": "observation", "service": "STA_WaterResource_v2", "datastream_id": "9001",
                       "observation_id": "77", "time": "2022-08-28T06:00:00+00:00",
                       "result_time": "2022-08-28T06:00:00+00:00", "result": 157.41, "result_text": None}


def test_datastreams_with_expanded_thing_and_observations():
    doc = {"value": [{"@iot.id": 5, "name": "雨量", "unitOfMeasurement": {"name": "mm", "symbol": "mm"},
                      "@iot.selfLink": "https://sta.colife.org.tw/STA_Rain/v1.0/Datastreams(5)",
                      "Thing": {"@iot.id": 8, "name": "C0F9N0", "properties": {}},
                      "Observations": [{"phenomenonTime": "2025-09-24T14:00:00+08:00", "result": 0}]},
                     {"@iot.id": 6, "name": "雨量", "unitOfMeasurement": {"name": "mm", "symbol": "mm"},
                      "@iot.selfLink": "https://sta.colife.org.tw/STA_Rain/v1.0/Datastreams(6)",
                      "Thing": {"@iot.id": 8, "name": "C0F9N0", "properties": {}}}]}
    records = parse_sta(encode(doc))
    assert [(r["kind"], r["service"]) for r in records] == [
        ("thing", "STA_Rain"), ("datastream", "STA_Rain"), ("observation", "STA_Rain"), ("datastream", "STA_Rain")]
    assert records[1]["thing_id"] == records[3]["thing_id"] == "8"   # the shared Thing listed once
    assert (records[2]["datastream_id"], records[2]["result"], records[2]["time"]) == (
        "5", 0.0, "2025-09-24T14:00:00+08:00")


@pytest.mark.parametrize("result, number, text", [
    (12, 12.0, None), (-0.5, -0.5, None), (" 3.25 ", 3.25, None), ("1e3", 1000.0, None),
    ("NaN", None, "NaN"), ("故障", None, "故障"), (True, None, "true"), (None, None, None),
    ({"u": 1, "v": 2}, None, '{"u":1,"v":2}'), ([1, 2], None, "[1,2]"), (10**400, None, "1" + "0" * 400),
])
def test_results_are_numbers_or_text(result, number, text):
    payload = encode({"@iot.id": 1, "phenomenonTime": "2025-09-24T14:00:00Z", "result": result})
    rec, = parse_observation_message("v1.0/Datastreams(3)/Observations", payload)
    assert (rec["result"], rec["result_text"]) == (number, text)


def test_mqtt_message_topic_names_the_datastream():
    payload = b'{"@iot.id": 88, "phenomenonTime": "2025-09-24T14:10:00", "resultTime": null, "result": 2.31}'
    rec, = parse_observation_message("v1.0/Datastreams(1001)/Observations", payload, service="STA_WaterResource_v2")
    assert (rec["service"], rec["datastream_id"], rec["result"]) == ("STA_WaterResource_v2", "1001", 2.31)
    assert rec["time"] == "2025-09-24T14:10:00+08:00"  # no offset: Taiwan time
    rec, = parse_observation_message("STA_Rain/v1.0/Datastreams('a''b')/Observations", payload)
    assert (rec["service"], rec["datastream_id"]) == ("STA_Rain", "a'b")
    with pytest.raises(FeedError, match="Datastream id"):
        STA.parse(payload)  # the plain parser has no topic: refused, not guessed


@pytest.mark.parametrize("topic, payload, words", [
    ("v1.0/Things(1)/Locations", b'{"result": 1, "phenomenonTime": "2025-09-24T14:10:00Z"}', "Datastreams(<id>)"),
    ("v1.0/Datastreams()/Observations", b'{"result": 1}', "Datastreams(<id>)"),
    ("v1.0/Datastreams(1)/Observations", b'[{"result": 1}]', "one JSON object"),
    ("v1.0/Datastreams(1)/Observations", b'{"phenomenonTime": "2025-09-24T14:10:00Z"}', "without result"),
    ("v1.0/Datastreams(1)/Observations", b'{"result": 1}', "phenomenonTime"),
    ("v1.0/Datastreams(1)/Observations", b'{"result": 1, "phenomenonTime": "soon"}', "ISO 8601"),
    ("v1.0/Datastreams(1)/Observations", b'{"result": 1, "phenomenonTime": 1695535800}', "time string"),
    ("v1.0/Datastreams(1)/Observations", b'{"result": "a\\u0000", "phenomenonTime": "2025-09-24T14:10:00Z"}', "NUL"),
])
def test_bad_mqtt_messages(topic, payload, words):
    with pytest.raises(FeedError) as err:
        parse_observation_message(topic, payload)
    assert err.value.stage == "validate" and words in err.value.reason


@pytest.mark.parametrize("doc, stage, words", [
    (b"", "decode", "JSON"),
    (b"[" * 3000 + b"]" * 3000, "decode", "nested"),
    (b'"Things"', "validate", "SensorThings document"),
    (b'{"value": [{"name": "Things", "url": "https://x/v1.0/Things"}]}', "validate", "not a SensorThings"),
    (b'{"value": [{"@iot.id": 1, "location": {"type": "Point", "coordinates": [121, 25]}, '
     b'"encodingType": "application/vnd.geo+json"}]}', "validate", "Location alone"),
    (b'{"value": [{"@iot.id": true, "properties": {}}]}', "validate", "@iot.id"),
    (b'{"value": [{"@iot.id": 1, "properties": []}]}', "validate", "properties"),
    (b'{"value": [{"@iot.id": 1, "properties": {}, "Locations": [{"location": {"type": "Point", '
     b'"coordinates": [121]}}]}]}', "validate", "Point coordinates"),
    (b'{"value": [{"@iot.id": 1, "properties": {}, "Locations": [{"location": {"type": "Point", '
     b'"coordinates": [250, 25]}}]}]}', "validate", "not lon/lat"),
    (b'{"value": [{"@iot.id": 1, "properties": {}, "Locations": [{"location": "POINT (121 25)"}]}]}',
     "validate", "expected GeoJSON"),
    (b'{"value": [{"@iot.id": 1, "name": 5, "unitOfMeasurement": {}}]}', "validate", "name"),
    (b'{"value": [{"@iot.id": 1, "unitOfMeasurement": "m"}]}', "validate", "unitOfMeasurement"),
    (b'{"value": [{"@iot.id": 1, "unitOfMeasurement": {}, "Observations": {}}]}', "validate", "Observations"),
    (b'{"value": [{"@iot.id": 1, "properties": {"k": "\\u0000"}}]}', "validate", "NUL"),
])
def test_bad_documents(doc, stage, words):
    with pytest.raises(FeedError) as err:
        parse_sta(doc)
    assert err.value.stage == stage and words in err.value.reason


def test_expansion_depth_is_bounded():
    ds = {"@iot.id": 1, "unitOfMeasurement": {}}
    for _ in range(10):
        ds = {"@iot.id": 1, "unitOfMeasurement": {}, "Thing": {"@iot.id": 1, "Datastreams": [ds]}}
    with pytest.raises(FeedError, match="deeper"):
        parse_sta(encode(ds))


def test_next_link_rules():
    page = json.loads(THINGS.read_bytes())
    assert next_link(THINGS.read_bytes(), same_host_as=f"{EPA}/Things") == f"{EPA}/Things?$skip=100"
    assert next_link({"value": []}) is None
    assert next_link({"@iot.nextLink": "Things?$skip=200"}, same_host_as=f"{EPA}/Things") == f"{EPA}/Things?$skip=200"
    with pytest.raises(FeedError, match="another host"):
        next_link(page, same_host_as=f"{WRA}/Things")
    with pytest.raises(FeedError, match="http"):
        next_link({"@iot.nextLink": "file:///etc/passwd"})
    with pytest.raises(FeedError, match="not a URL"):
        next_link({"@iot.nextLink": 5})


def test_rows_per_kind():
    received = datetime(2025, 9, 24, tzinfo=timezone.utc)
    records = parse_sta(encode(WATER_LEVEL_PAGE))
    rows = [row for rec in records for row in STA.to_rows(rec, received)]
    assert [name for name, _ in rows] == ["sta_thing", "sta_datastream", "sta_observation"]
    for (name, values) in rows:
        table = next(t for t in STA.tables if t.name == name)
        assert len(values) == len(table.columns)
    obs = dict(zip(STA.tables[2].columns, rows[2][1]))
    assert obs["time"] == datetime(2022, 8, 28, 6, tzinfo=timezone.utc) and obs["result"] == 157.41
    thing = dict(zip(STA.tables[0].columns, rows[0][1]))
    assert thing["time"] == received and thing["properties"]["stationCode"] == "2200H007"


def test_live_check():
    now = datetime.now(timezone.utc)
    rec, = parse_observation_message("v1.0/Datastreams(1)/Observations",
                                     encode({"phenomenonTime": now.isoformat(), "result": 3.1}))
    STA.check(rec)
    with pytest.raises(FeedError, match="older than"):
        STA.check({**rec, "time": (now - timedelta(days=30)).isoformat()})
    with pytest.raises(FeedError, match="implausibly"):
        STA.check({**rec, "result": 1e12})
    thing = parse_sta(encode(WATER_LEVEL_PAGE))[0]
    STA.check(thing)
    with pytest.raises(FeedError, match="outside Taiwan"):
        STA.check({**thing, "lon": 10.0})


# --- properties ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10) | st.sampled_from(["2025-09-24T14:00:00Z/2025-09-24T14:10:00Z", "Point", "12.5"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["@iot.id", "result", "phenomenonTime", "location", "type", "coordinates",
                         "Locations", "Datastreams", "Observations", "Thing", "Datastream", "properties",
                         "unitOfMeasurement", "value", "x"]), inner, max_size=4),
    max_leaves=12)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_feed_error(payload):
    for parse in (parse_sta, lambda p: parse_observation_message("v1.0/Datastreams(1)/Observations", p)):
        try:
            parse(payload)
        except FeedError as exc:
            assert exc.stage in ("decode", "validate")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([THINGS, DATASTREAMS, OBSERVATIONS, THING1, None]), st.data())
def test_mutated_documents_only_feed_error(path, data):
    doc = copy.deepcopy(WATER_LEVEL_PAGE) if path is None else json.loads(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(list(_paths(doc))))
        if not where:
            doc = data.draw(json_values)
            continue
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = data.draw(json_values)
    try:
        records = parse_sta(encode(doc))
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")
    else:
        for rec in records:
            assert rec["kind"] in ("thing", "datastream", "observation")
            json.dumps(rec)  # plain JSON-able
