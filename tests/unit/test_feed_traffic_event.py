"""Feed `traffic-event`: road events and closures; the JSON Schema is the contract."""

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
from ingest.feeds.traffic_event import KINDS, TRAFFIC_EVENTS, parse_traffic_events

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/messages/traffic-event.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

FLOOD = {
    "id": "TXG-EV-20250924-0031", "kind": "flooding",
    "geometry": {"type": "LineString", "coordinates": [[120.6843, 24.1334], [120.6857, 24.1343],
                                                       [120.6871, 24.1352]]},
    "road": "五權南路", "direction": "both", "lanes_affected": [1, 2],
    "start": "2025-09-24T13:20:00+08:00", "end": None, "status": "active",
    "description": "路面積水約 20 公分，禁止通行", "source": "臺中市政府交通局",
    "updated_at": "2025-09-24T13:45:00+08:00",
}
# Position of the real 2023 A1 accident at 臺中市東勢區東坑路口.
CRASH = {
    "id": "TDX-EV-7781", "kind": "accident",
    "geometry": {"type": "Point", "coordinates": [120.850316, 24.240211]},
    "lanes_affected": 1, "start": "2025-09-24T17:02:00+08:00", "end": "2025-09-24T18:10:00+08:00",
    "status": "cleared", "source": "TDX", "updated_at": "2025-09-24T18:11:00+08:00",
}
GOOD = [FLOOD, CRASH, [FLOOD, CRASH], {**CRASH, "lanes_affected": None, "direction": None},
        {**CRASH, "lanes_affected": 0, "description": None, "road": None},
        {**CRASH, "geometry": {"type": "Point", "coordinates": [120.85, 24.24, 312.5]}},
        {**FLOOD, "kind": "landslide", "end": "2025-09-24T13:20:00+08:00"}]

BAD = [
    ({**FLOOD, "kind": "alien_landing"}, "kind"),
    ({**FLOOD, "status": "open"}, "status"),
    ({**FLOOD, "direction": "up"}, "direction"),
    ({**FLOOD, "geometry": {"type": "Polygon", "coordinates": [[[120.6, 24.1], [120.7, 24.1], [120.6, 24.2]]]}}, "geometry"),
    ({**FLOOD, "geometry": {"type": "LineString", "coordinates": [[120.6843, 24.1334]]}}, "coordinates"),
    ({**CRASH, "geometry": {"type": "Point", "coordinates": [120.85]}}, "coordinates"),
    ({**CRASH, "geometry": {"type": "Point", "coordinates": ["120.85", "24.24"]}}, "coordinates"),
    ({**CRASH, "geometry": {"type": "Point", "coordinates": [24.24, 120.85], "crs": "x"}}, "crs"),
    ({**FLOOD, "lanes_affected": [0]}, "lanes_affected"),
    ({**FLOOD, "lanes_affected": []}, "lanes_affected"),
    ({**FLOOD, "lanes_affected": 21}, "lanes_affected"),
    ({**FLOOD, "lanes_affected": "2"}, "lanes_affected"),
    ({**FLOOD, "start": "2025-09-24T13:20:00"}, "timezone"),
    ({k: v for k, v in FLOOD.items() if k != "updated_at"}, "updated_at"),
    ({**FLOOD, "source": ""}, "source"),
    ({**FLOOD, "description": "a\u0000b"}, "description"),
    ({**FLOOD, "description": "長" * 2001}, "description"),
    ({**FLOOD, "id": "id with spaces"}, "id"),
    ({**FLOOD, "severity": "high"}, "severity"),
]
# Refused by parse; beyond JSON Schema (comparing two members, the calendar).
BAD_SEMANTIC = [
    ({**CRASH, "end": "2025-09-24T17:00:00+08:00"}, "before start"),
    ({**FLOOD, "start": "2025-02-29T13:20:00+08:00"}, "start"),
]


def encode(message) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_registered_with_its_tables():
    assert all_feeds()["traffic-event"] is TRAFFIC_EVENTS
    assert TRAFFIC_EVENTS.topics == ("ioc/v1/traffic/events",)
    latest, history = TRAFFIC_EVENTS.tables
    assert (latest.name, latest.key, latest.mode, latest.time_column) == ("traffic_event", ("id",), "latest", "updated_at")
    assert (history.name, history.key, history.mode) == ("traffic_event_history", ("id", "updated_at"), "append")


def test_kinds_are_the_schema_data():
    assert KINDS == tuple(k["const"] for k in SCHEMA["$defs"]["kind"]["oneOf"])
    assert {"accident", "construction", "closure", "flooding", "landslide", "event"} <= set(KINDS)


def test_line_event_record():
    rec = parse_traffic_events(encode(FLOOD))[0]
    assert rec == {
        "id": "TXG-EV-20250924-0031", "kind": "flooding",
        "geometry": {"type": "LineString", "coordinates": [[120.6843, 24.1334], [120.6857, 24.1343],
                                                           [120.6871, 24.1352]]},
        "lon": 120.6857, "lat": 24.1343,  # the middle vertex
        "road": "五權南路", "direction": "both", "lanes_affected": [1, 2],
        "start": "2025-09-24T13:20:00+08:00", "end": None, "status": "active",
        "description": "路面積水約 20 公分，禁止通行", "source": "臺中市政府交通局",
        "updated_at": "2025-09-24T13:45:00+08:00",
    }


def test_point_event_rows():
    rec = parse_traffic_events(encode(CRASH))[0]
    assert (rec["lon"], rec["lat"], rec["lanes_affected"]) == (120.850316, 24.240211, 1)
    rows = list(TRAFFIC_EVENTS.to_rows(rec, datetime.now(timezone.utc)))
    assert [name for name, _ in rows] == ["traffic_event", "traffic_event_history"]
    table = TRAFFIC_EVENTS.tables[0]
    row = dict(zip(table.columns, rows[0][1]))
    assert len(rows[0][1]) == len(table.columns)
    assert (row["lanes_blocked"], row["lanes_list"]) == (1, None)
    assert row["end_time"] - row["start_time"] == timedelta(minutes=68)
    assert row["geometry"] == {"type": "Point", "coordinates": [120.850316, 24.240211]}
    flood_row = dict(zip(table.columns, next(iter(TRAFFIC_EVENTS.to_rows(
        parse_traffic_events(encode(FLOOD))[0], datetime.now(timezone.utc))))[1]))
    assert (flood_row["lanes_blocked"], flood_row["lanes_list"], flood_row["end_time"]) == (None, [1, 2], None)


@pytest.mark.parametrize("message, words", BAD)
def test_bad_messages_refused_by_parse_and_schema(message, words):
    with pytest.raises(FeedError) as err:
        parse_traffic_events(encode(message))
    assert err.value.stage == "validate"
    assert words in err.value.reason
    assert not VALIDATOR.is_valid(message)


@pytest.mark.parametrize("message, words", BAD_SEMANTIC)
def test_semantic_rules_refused_by_parse(message, words):
    with pytest.raises(FeedError) as err:
        parse_traffic_events(encode(message))
    assert err.value.stage == "validate" and words in err.value.reason
    assert VALIDATOR.is_valid(message)  # documented in the schema's description


def test_repeated_lane_refused_by_both():
    message = {**FLOOD, "lanes_affected": [2, 2]}
    with pytest.raises(FeedError, match="repeated"):
        parse_traffic_events(encode(message))
    assert not VALIDATOR.is_valid(message)


@pytest.mark.parametrize("message", GOOD)
def test_schema_accepts_what_parse_accepts(message):
    assert parse_traffic_events(encode(message))
    VALIDATOR.validate(message)


def test_schema_example_parses():
    assert parse_traffic_events(encode(SCHEMA["examples"]))[0]["kind"] == "flooding"


def test_live_check():
    now = datetime.now(timezone.utc)
    rec = parse_traffic_events(encode({**CRASH, "updated_at": now.isoformat()}))[0]
    TRAFFIC_EVENTS.check(rec)
    with pytest.raises(FeedError, match="outside Taiwan"):
        TRAFFIC_EVENTS.check(parse_traffic_events(encode({**FLOOD, "updated_at": now.isoformat(),
                                                          "geometry": {"type": "LineString", "coordinates": [[120.68, 24.13], [139.7, 35.7]]}}))[0])
    with pytest.raises(FeedError, match="future"):
        TRAFFIC_EVENTS.check({**rec, "updated_at": (now + timedelta(days=1)).isoformat()})


# --- properties ------------------------------------------------------------------------------

TIMES = ["2025-09-24T13:00:00+08:00", "2025-09-24T19:00:00+08:00", "2025-09-24T13:00:00",
         "2025-09-24t05:00:00z", "2025-13-01T00:00:00Z"]
positions = st.lists(st.floats(-200, 200, allow_nan=False), min_size=0, max_size=4)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from([*TIMES, *KINDS, "both", "N", "cleared"])
    | st.builds(lambda t, c: {"type": t, "coordinates": c}, st.sampled_from(["Point", "LineString"]),
                positions | st.lists(positions, max_size=3)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
KEYS = [*FLOOD, "extra"]
PARSE_ONLY = ("before start", "Invalid RFC3339")


@st.composite
def mutated(draw):
    message = copy.deepcopy(draw(st.sampled_from([FLOOD, CRASH])))
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
        parse_traffic_events(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parse_and_schema_agree_on_mutations(message):
    try:
        parse_traffic_events(encode(message))
    except FeedError as exc:
        assert exc.stage == "validate"
        if VALIDATOR.is_valid(message):
            assert any(words in exc.reason for words in PARSE_ONLY), exc.reason
    else:
        VALIDATOR.validate(message)
