"""Feed `incident`: police 110 dispatch records; the JSON Schema is the contract."""

from __future__ import annotations

import copy
import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import all_feeds
from ingest.feeds._geo_lookup import district_name
from ingest.feeds.base import FeedError
from ingest.feeds.incident import CATEGORIES, INCIDENTS, parse_incidents

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/messages/incident.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
ACCIDENTS = ROOT / "geo/data/poi/taichung_traffic_accidents_A1_2023.csv"

# Position of the real A1 accident of 2023-01-06 06:28 at 臺中市大甲區文曲路口.
ON_SCENE = {
    "id": "TC110-20250924-000731", "category": "traffic_accident", "priority": 1,
    "lon": 120.610111, "lat": 24.340831, "address": "臺中市大甲區文曲路口", "unit": "大甲分局",
    "status": "on_scene", "reported_at": "2025-09-24T06:28:00+08:00",
    "dispatched_at": "2025-09-24T06:29:30+08:00", "on_scene_at": "2025-09-24T06:36:10+08:00",
    "closed_at": None, "updated_at": "2025-09-24T06:36:10+08:00",
    "notes": "機車自撞電桿，已通報救護 <b>not markup</b>",
}
REPORTED = {
    "id": "TC110-20250924-000802", "category": "disturbance", "priority": 3,
    "address": "臺中市西屯區逢甲路 20 號", "status": "reported",
    "reported_at": "2025-09-24T23:10:00+08:00", "updated_at": "2025-09-24T23:10:00+08:00",
}
CLOSED = {**ON_SCENE, "status": "closed", "closed_at": "2025-09-24T07:40:00+08:00",
          "updated_at": "2025-09-24T07:41:00+08:00"}
GOOD = [ON_SCENE, REPORTED, CLOSED, [ON_SCENE, REPORTED],
        {**REPORTED, "district": "66000060", "unit": None, "notes": None},
        {**ON_SCENE, "dispatched_at": None},      # self-initiated: on scene without a dispatch
        {k: v for k, v in ON_SCENE.items() if k != "address"}]

# Refused by parse and by the schema alike.
BAD = [
    ({**ON_SCENE, "category": "jaywalking"}, "category"),
    ({**ON_SCENE, "priority": 0}, "priority"),
    ({**ON_SCENE, "priority": "P1"}, "priority"),
    ({**ON_SCENE, "status": "en_route"}, "status"),
    ({**ON_SCENE, "on_scene_at": None}, "on_scene_at"),
    ({**CLOSED, "closed_at": None}, "closed_at"),
    ({**REPORTED, "status": "dispatched"}, "dispatched_at"),
    ({k: v for k, v in ON_SCENE.items() if k not in ("lon", "lat", "address")}, "position"),
    ({k: v for k, v in ON_SCENE.items() if k != "lat"}, "lat"),
    ({**ON_SCENE, "lat": None}, "lat"),
    ({**ON_SCENE, "lon": 181}, "lon"),
    ({**REPORTED, "address": ""}, "address"),
    ({**REPORTED, "district": "63000010"}, "district"),
    ({**ON_SCENE, "reported_at": "2025-09-24 06:28"}, "reported_at"),
    ({**ON_SCENE, "updated_at": "2025-09-24T06:36:10"}, "timezone"),
    ({**ON_SCENE, "notes": "x" * 4001}, "notes"),
    ({**ON_SCENE, "notes": "nul \u0000 inside"}, "notes"),
    ({**ON_SCENE, "id": "案 1"}, "id"),
    ({**ON_SCENE, "officer_phone": "0912345678"}, "officer_phone"),
]
# Refused by parse; JSON Schema cannot compare two members, so it lets these through.
BAD_TIMES = [
    ({**CLOSED, "closed_at": "2025-09-24T06:00:00+08:00"}, "closed_at"),
    ({**ON_SCENE, "dispatched_at": "2025-09-24T06:20:00+08:00"}, "dispatched_at"),
    ({**ON_SCENE, "on_scene_at": "2025-09-24T06:29:00+08:00"}, "on_scene_at"),
    ({**ON_SCENE, "updated_at": "2025-09-24T06:30:00+08:00"}, "after updated_at"),
    ({**REPORTED, "reported_at": "2025-02-30T10:00:00+08:00"}, "reported_at"),
]


def encode(message) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_registered_with_its_tables():
    assert all_feeds()["incident"] is INCIDENTS
    assert INCIDENTS.topics == ("ioc/v1/police/incidents",)
    latest, history = INCIDENTS.tables
    assert (latest.name, latest.key, latest.mode, latest.time_column) == ("incident", ("id",), "latest", "updated_at")
    assert (history.name, history.key, history.mode) == ("incident_history", ("id", "updated_at"), "append")


def test_categories_are_the_schema_data():
    assert CATEGORIES == tuple(c["const"] for c in SCHEMA["$defs"]["category"]["oneOf"])
    assert {"traffic_accident", "theft", "violence", "disturbance", "fire", "rescue", "other"} <= set(CATEGORIES)


def test_record_and_computed_district():
    rec = parse_incidents(encode(ON_SCENE))[0]
    assert rec == {
        "id": "TC110-20250924-000731", "category": "traffic_accident", "priority": 1,
        "lon": 120.610111, "lat": 24.340831, "address": "臺中市大甲區文曲路口",
        "district": "66000110", "unit": "大甲分局", "status": "on_scene",
        "reported_at": "2025-09-24T06:28:00+08:00", "dispatched_at": "2025-09-24T06:29:30+08:00",
        "on_scene_at": "2025-09-24T06:36:10+08:00", "closed_at": None,
        "updated_at": "2025-09-24T06:36:10+08:00", "notes": "機車自撞電桿，已通報救護 <b>not markup</b>",
    }
    assert district_name(rec["district"]) == "大甲區"


def test_given_district_is_kept_and_address_only_has_none():
    assert parse_incidents(encode({**REPORTED, "district": "66000060"}))[0]["district"] == "66000060"
    rec = parse_incidents(encode(REPORTED))[0]
    assert (rec["lon"], rec["lat"], rec["district"]) == (None, None, None)


def test_position_outside_taichung_has_no_district():
    rec = parse_incidents(encode({**ON_SCENE, "lon": 120.5416, "lat": 24.0809}))[0]  # Changhua
    assert rec["district"] is None


def _a1_accidents():
    """One incident per real 2023 A1 accident (169), placed where it happened."""
    with ACCIDENTS.open(encoding="utf-8-sig", newline="") as fh:
        seen = {}
        for row in csv.DictReader(fh):
            key = (row["發生日期"], row["發生時間"], row["發生地點"], row["經度"], row["緯度"])
            seen.setdefault(key, row)
    out = []
    for i, (date, hhmmss, place, lon, lat) in enumerate(seen):
        t = f"{date[:4]}-{date[4:6]}-{date[6:]}T{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}+08:00"
        out.append({"id": f"A1-2023-{i:03d}", "category": "traffic_accident", "priority": 1,
                    "lon": float(lon), "lat": float(lat), "address": place.split(" / ")[0],
                    "status": "reported", "reported_at": t, "updated_at": t})
    return out


def test_real_a1_accident_sites_get_the_district_of_their_address():
    messages = _a1_accidents()
    records = parse_incidents(encode(messages))
    assert len(records) == 169
    assert all(rec["district"] is not None for rec in records)  # all inside the city
    across_a_line = sorted({rec["address"] for rec in records
                            if not rec["address"].startswith("臺中市" + district_name(rec["district"]))})
    # Four crossings whose coordinates lie just over a district line from their address.
    assert across_a_line == ["臺中市北區公園里公園路", "臺中市西區公正里公益路",
                             "臺中市西區大業里公益路", "臺中市西屯區福聯里臺灣大道五段"]


def test_rows_go_to_latest_and_history():
    rec = parse_incidents(encode(CLOSED))[0]
    rows = list(INCIDENTS.to_rows(rec, datetime.now(timezone.utc)))
    assert [name for name, _ in rows] == ["incident", "incident_history"]
    for (_, values), table in zip(rows, INCIDENTS.tables):
        row = dict(zip(table.columns, values))
        assert len(values) == len(table.columns)
        assert row["updated_at"] == datetime(2025, 9, 24, 7, 41, tzinfo=timezone(timedelta(hours=8)))
        assert row["closed_at"] >= row["reported_at"]
        assert row["notes"] == ON_SCENE["notes"]


def test_out_of_order_updates_are_separate_history_rows():
    older = parse_incidents(encode(ON_SCENE))[0]
    newer = parse_incidents(encode(CLOSED))[0]
    key = INCIDENTS.tables[1].key
    cols = INCIDENTS.tables[1].columns
    keys = {tuple(dict(zip(cols, v))[k] for k in key)
            for rec in (newer, older, newer) for name, v in INCIDENTS.to_rows(rec, datetime.now(timezone.utc))
            if name == "incident_history"}
    assert len(keys) == 2  # a replay of `newer` has the same key: stored once


@pytest.mark.parametrize("message, words", BAD)
def test_bad_messages_refused_by_parse_and_schema(message, words):
    with pytest.raises(FeedError) as err:
        parse_incidents(encode(message))
    assert err.value.stage == "validate"
    assert words in err.value.reason
    assert not VALIDATOR.is_valid(message)


@pytest.mark.parametrize("message, words", BAD_TIMES)
def test_times_out_of_order_refused_by_parse(message, words):
    with pytest.raises(FeedError) as err:
        parse_incidents(encode(message))
    assert err.value.stage == "validate" and words in err.value.reason
    assert VALIDATOR.is_valid(message)  # documented: beyond JSON Schema


@pytest.mark.parametrize("message", GOOD)
def test_schema_accepts_what_parse_accepts(message):
    assert parse_incidents(encode(message))
    VALIDATOR.validate(message)


def test_schema_example_parses():
    assert parse_incidents(encode(SCHEMA["examples"]))[0]["district"] == "66000110"


def test_live_check():
    now = datetime.now(timezone.utc)
    rec = parse_incidents(encode({**REPORTED, "reported_at": now.isoformat(), "updated_at": now.isoformat()}))[0]
    INCIDENTS.check(rec)
    with pytest.raises(FeedError, match="older than"):
        INCIDENTS.check({**rec, "updated_at": (now - timedelta(days=20)).isoformat()})
    with pytest.raises(FeedError, match="outside Taiwan"):
        INCIDENTS.check({**rec, "lon": 0.0, "lat": 0.0})


# --- properties ------------------------------------------------------------------------------

TIMES = ["2025-09-24T06:00:00+08:00", "2025-09-24T08:00:00+08:00", "2025-09-24T06:30:00Z",
         "2025-09-24T06:30:00", "2025-02-30T06:30:00+08:00", "2025-09-24 06:30:00+0800"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from([*TIMES, *CATEGORIES, "closed", "on_scene", "66000060"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
KEYS = [*ON_SCENE, "district", "extra"]
# What only parse can refuse (JSON Schema cannot compare members or know the calendar).
PARSE_ONLY = ("is before", "is after updated_at", "Invalid RFC3339")


@st.composite
def mutated(draw):
    message = copy.deepcopy(draw(st.sampled_from([ON_SCENE, REPORTED, CLOSED])))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()):
            message.pop(key, None)
        else:
            message[key] = draw(json_values)
    return message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_feed_error(payload):
    try:
        parse_incidents(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parse_and_schema_agree_on_mutations(message):
    try:
        parse_incidents(encode(message))
    except FeedError as exc:
        assert exc.stage == "validate"
        if VALIDATOR.is_valid(message):
            assert any(words in exc.reason for words in PARSE_ONLY), exc.reason
    else:
        VALIDATOR.validate(message)
