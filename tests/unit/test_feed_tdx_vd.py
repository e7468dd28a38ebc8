"""TDX vehicle detectors: the real recorded payloads, the simulator's messages, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.feeds import FeedError, all_feeds, get
from ingest.simulate.traffic import TrafficSimulator
from schemas import path as schema_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tdx"
VDLIVE = get("tdx-vdlive")
VD = get("tdx-vd")


def schema(name: str) -> dict:
    return json.loads(schema_path("messages", name).read_text(encoding="utf-8"))


def test_every_feed_has_a_json_schema_document_a_publisher_can_read():
    for feed in all_feeds().values():
        assert feed.schema, feed.name
        jsonschema.Draft202012Validator.check_schema(schema(feed.schema))


def test_recorded_vdlive_answer_parses_to_complete_readings():
    records = VDLIVE.parse((FIXTURES / "ptx_v2_freeway_VDLive_sample_2019.json").read_bytes())
    assert len(records) == 10
    first = records[0]
    assert first["vd_id"] == "VD-N1-S-103.670-M-LOOP"
    assert first["time"] == datetime(2019, 11, 13, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    # Lane volumes: 39 + 31 + 17 = 87 vehicles; speed weighted by volume.
    assert first["volume"] == 87
    assert first["speed_kmh"] == pytest.approx((90 * 39 + 101 * 31 + 86 * 17) / 87, abs=0.01)
    assert first["lanes"] == 3
    assert first["occupancy_pct"] == pytest.approx((12 + 10 + 7) / 3, abs=0.01)


def test_recorded_vd_site_list_parses_with_positions():
    sites = VD.parse((FIXTURES / "ptx_v2_freeway_VD_sample_2019.json").read_bytes())
    assert sites[0]["vd_id"] == "VD-N1-N-198-O-SE-21-北上出口-彰化"
    assert (sites[0]["lon"], sites[0]["lat"]) == (120.5235272, 24.06366325)


def test_simulated_messages_match_the_schema_parse_and_pass_the_live_check():
    validator = jsonschema.Draft202012Validator(schema("tdx-vdlive.schema.json"))
    sim = TrafficSimulator(seed=1)
    for topic, payload, _ in sim.next_readings(50, datetime.now(timezone.utc)):
        validator.validate(orjson.loads(payload))
        for record in VDLIVE.parse(payload):
            VDLIVE.check(record)
    _, sites, _ = sim.site_list()
    jsonschema.Draft202012Validator(schema("tdx-vd.schema.json")).validate(orjson.loads(sites))


def test_negative_values_mean_no_value_not_a_reading():
    payload = orjson.dumps({"VDID": "V1", "DataCollectTime": "2026-11-27T10:00:00+08:00", "LinkFlows": [
        {"LinkID": "L", "Lanes": [{"LaneID": 0, "Speed": -99, "Occupancy": -99,
                                    "Vehicles": [{"VehicleType": "S", "Volume": -99}]}]}]})
    record = VDLIVE.parse(payload)[0]
    assert record["speed_kmh"] is None and record["occupancy_pct"] is None
    assert record["volume"] is None  # no lane counted a vehicle: no value, not zero vehicles
    assert record["lanes"] == 1


def test_a_time_without_offset_is_taiwan_time_and_a_space_is_accepted():
    payload = orjson.dumps({"VDID": "V1", "DataCollectTime": "2026-11-27 10:00:00", "LinkFlows": []})
    assert VDLIVE.parse(payload)[0]["time"].utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("payload, stage", [
    (b"{not json", "decode"),
    (b'{"VDID": 5, "DataCollectTime": "2026-11-27T10:00:00+08:00"}', "validate"),
    (b'{"DataCollectTime": "2026-11-27T10:00:00+08:00"}', "validate"),
    (b'{"VDID": "V", "DataCollectTime": "yesterday"}', "validate"),
])
def test_invalid_payloads_are_refused_with_their_stage(payload, stage):
    with pytest.raises(FeedError) as err:
        VDLIVE.parse(payload)
    assert err.value.stage == stage


def test_deep_nesting_is_refused_not_a_crash():
    for payload in (b"[" * 5000, b'{"Other": ' + b"[" * 5000):
        with pytest.raises(FeedError):
            VDLIVE.parse(payload)


def test_live_check_refuses_implausible_readings():
    now = datetime.now(timezone.utc)
    for body in ({"DataCollectTime": (now + timedelta(days=1)).isoformat()},
                 {"DataCollectTime": now.isoformat(), "LinkFlows": [{"Lanes": [{"LaneID": 0, "Speed": 900}]}]}):
        record = VDLIVE.parse(orjson.dumps({"VDID": "V1", **body}))[0]
        with pytest.raises(FeedError):
            VDLIVE.check(record)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parse_raises_nothing_but_feed_errors_on_arbitrary_bytes(data):
    for feed in (VDLIVE, VD):
        try:
            feed.parse(data)
        except FeedError:
            pass


def test_a_detector_with_more_lanes_than_a_road_has_is_refused_by_the_live_check():
    lane = {"LaneID": 0, "Speed": 50, "Occupancy": 10, "Vehicles": [{"VehicleType": "S", "Volume": 3}]}
    payload = orjson.dumps({"VDID": "V1", "DataCollectTime": datetime.now(timezone.utc).isoformat(),
                            "LinkFlows": [{"LinkID": "L", "Lanes": [lane] * 65}]})
    record = VDLIVE.parse(payload)[0]
    assert (record["lanes"], record["volume"], record["speed_kmh"]) == (65, 195, 50)
    with pytest.raises(FeedError, match="more than 64 lanes"):
        VDLIVE.check(record)
