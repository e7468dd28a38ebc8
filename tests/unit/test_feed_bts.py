"""Feed `bts`: base-station status messages; the JSON Schema is the contract."""

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
from ingest.feeds.bts import BTS, parse_bts

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/messages/bts.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

SECTOR = {
    "bts_id": "CHT-TXG-4G-00123", "operator": "中華電信", "technology": "4G",
    "lon": 120.6467, "lat": 24.1626,
    "footprint": {"radius_m": 1200, "azimuth_deg": 120, "beamwidth_deg": 65},
    "status": "up", "time": "2025-09-24T14:05:00+08:00",
}
CIRCLE = {
    "bts_id": "FET-TXG-5G-0042", "operator": "遠傳電信", "technology": "5G",
    "lon": 120.5851, "lat": 24.2571, "footprint": {"radius_m": 350},
    "status": "degraded", "time": "2025-09-24T06:05:00Z",
}
GOOD = [SECTOR, CIRCLE, [SECTOR, CIRCLE], {**CIRCLE, "status": "down", "time": "2025-09-24 14:05:00+0800"},
        {**SECTOR, "footprint": {"radius_m": 0.5, "azimuth_deg": 0, "beamwidth_deg": 360}}]

# (message, words the refusal must contain); each breaks the schema too.
BAD = [
    ({**SECTOR, "technology": "3G"}, "technology"),
    ({**SECTOR, "status": "ok"}, "status"),
    ({k: v for k, v in SECTOR.items() if k != "footprint"}, "footprint"),
    ({**SECTOR, "footprint": {"radius_m": 0}}, "radius_m"),
    ({**SECTOR, "footprint": {"radius_m": 80000}}, "radius_m"),
    ({**SECTOR, "footprint": {"radius_m": 900, "azimuth_deg": 360, "beamwidth_deg": 60}}, "azimuth_deg"),
    ({**SECTOR, "footprint": {"radius_m": 900, "azimuth_deg": 90}}, "beamwidth_deg"),
    ({**SECTOR, "footprint": {"radius_m": 900, "beamwidth_deg": 90}}, "azimuth_deg"),
    ({**SECTOR, "footprint": {"radius_m": 900, "azimuth_deg": None, "beamwidth_deg": None}}, "azimuth_deg"),
    ({**SECTOR, "time": "2025-09-24T14:05:00"}, "timezone"),
    ({**SECTOR, "time": "yesterday"}, "time"),
    ({**SECTOR, "lon": 200.0}, "lon"),
    ({**SECTOR, "lat": "24.16"}, "lat"),
    ({**SECTOR, "bts_id": ""}, "bts_id"),
    ({**SECTOR, "bts_id": "基地台1"}, "bts_id"),
    ({**SECTOR, "operator": "中華\u0000電信"}, "operator"),
    ({**SECTOR, "colour": "red"}, "colour"),
    ([SECTOR, {**CIRCLE, "status": None}], "$[1].status"),
]


def encode(message) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_registered_with_its_tables():
    assert all_feeds()["bts"] is BTS
    assert BTS.topics == ("ioc/v1/telecom/bts/+",)
    assert [t.name for t in BTS.tables] == ["bts_status", "bts_current"]
    assert BTS.tables[0].key == ("bts_id", "time") and BTS.tables[0].mode == "append"
    assert BTS.tables[1].key == ("bts_id",) and BTS.tables[1].mode == "latest"


def test_sector_and_circle_records():
    sector, circle = parse_bts(encode([SECTOR, CIRCLE]))
    assert sector == {"bts_id": "CHT-TXG-4G-00123", "operator": "中華電信", "technology": "4G",
                      "lon": 120.6467, "lat": 24.1626, "radius_m": 1200.0, "azimuth_deg": 120.0,
                      "beamwidth_deg": 65.0, "status": "up", "time": "2025-09-24T14:05:00+08:00"}
    assert (circle["azimuth_deg"], circle["beamwidth_deg"], circle["radius_m"]) == (None, None, 350.0)
    assert circle["time"] == "2025-09-24T06:05:00+00:00"


def test_bom_and_single_object():
    assert parse_bts(b"\xef\xbb\xbf" + encode(SECTOR))[0]["bts_id"] == "CHT-TXG-4G-00123"


def test_rows_go_to_history_and_current():
    received = datetime(2025, 9, 24, 6, 6, tzinfo=timezone.utc)
    rows = list(BTS.to_rows(parse_bts(encode(SECTOR))[0], received))
    assert [name for name, _ in rows] == ["bts_status", "bts_current"]
    for (name, values), table in zip(rows, BTS.tables):
        assert len(values) == len(table.columns)
        row = dict(zip(table.columns, values))
        assert row["time"] == datetime(2025, 9, 24, 6, 5, tzinfo=timezone.utc)
        assert row["bts_id"] == "CHT-TXG-4G-00123" and row["azimuth_deg"] == 120.0


@pytest.mark.parametrize("message, words", BAD)
def test_bad_messages_refused_by_parse_and_schema(message, words):
    with pytest.raises(FeedError) as err:
        parse_bts(encode(message))
    assert err.value.stage == "validate"
    assert words in err.value.reason
    assert not VALIDATOR.is_valid(message)


@pytest.mark.parametrize("message", GOOD)
def test_schema_accepts_what_parse_accepts(message):
    assert parse_bts(encode(message))
    VALIDATOR.validate(message)


def test_schema_example_parses():
    for example in SCHEMA["examples"]:
        assert parse_bts(encode(example))[0]["bts_id"] == example["bts_id"]


@pytest.mark.parametrize("payload, stage", [(b"", "decode"), (b"{", "decode"), (b"\xff\xfe", "decode"),
                                            (b"42", "validate"), (b"[1]", "validate"),
                                            (b"null", "validate")])
def test_not_json_or_not_a_station(payload, stage):
    with pytest.raises(FeedError) as err:
        parse_bts(payload)
    assert err.value.stage == stage


def test_live_check_position_and_time():
    now = datetime.now(timezone.utc)
    fresh = parse_bts(encode({**SECTOR, "time": now.isoformat()}))[0]
    BTS.check(fresh)
    with pytest.raises(FeedError, match="outside Taiwan"):
        BTS.check({**fresh, "lon": 139.69, "lat": 35.69})
    with pytest.raises(FeedError, match="older than"):
        BTS.check({**fresh, "time": (now - timedelta(days=30)).isoformat()})
    with pytest.raises(FeedError, match="future"):
        BTS.check({**fresh, "time": (now + timedelta(hours=1)).isoformat()})


# --- properties ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["2025-09-24T14:05:00+08:00", "2025-09-24T14:05:00", "4G", "5G", "up", "down"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
KEYS = [*SECTOR, "radius_m", "azimuth_deg", "beamwidth_deg", "extra"]


@st.composite
def mutated(draw):
    message = copy.deepcopy(draw(st.sampled_from([SECTOR, CIRCLE])))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS))
        target = message.get("footprint") if key in ("radius_m", "azimuth_deg", "beamwidth_deg") else message
        if not isinstance(target, dict):
            target = message
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_feed_error(payload):
    try:
        parse_bts(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")


# What the schema cannot say and parse refuses: for bts only impossible dates (2 月 30 日),
# which the time pattern lets through.
PARSE_ONLY = ("Invalid RFC3339",)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parse_and_schema_agree_on_mutations(message):
    try:
        parse_bts(encode(message))
    except FeedError as exc:
        assert exc.stage == "validate"
        if VALIDATOR.is_valid(message):
            assert any(words in exc.reason for words in PARSE_ONLY), exc.reason
    else:
        VALIDATOR.validate(message)
