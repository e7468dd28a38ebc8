"""The `kpi` feed: MQTT measurements validated like `ioc kpi import` lines, the topic's item must
be the payload's, rows through `to_row`, refusals as dead letters (pure stages)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import orjson
import pytest

from ingest.envelope import Accepted, Envelope, Rejected
from ingest.feeds import FeedError, get
from ingest.pipeline import Router, process

ROOT = Path(__file__).resolve().parents[2]
FEED = get("kpi")
MESSAGE_SCHEMA = json.loads((ROOT / "schemas/messages/kpi.schema.json").read_text(encoding="utf-8"))
LINE_SCHEMA = json.loads((ROOT / "schemas/kpi_measurement.schema.json").read_text(encoding="utf-8"))
NOW = datetime(2015, 7, 1, 1, 0, tzinfo=timezone.utc)
I3 = {"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20}


def envelope(topic: str, payload) -> Envelope:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return Envelope("mqtt", topic, body, NOW, None)


def test_topics_route_to_the_feed():
    router = Router()
    assert router.feed_for("ioc/v1/kpi/I3") is FEED
    assert router.feed_for("ioc/v1/kpi/project/road_paving") is FEED
    assert router.feed_for("ioc/v1/kpi/I3/extra") is None


def test_a_measurement_becomes_a_row_with_source_mqtt():
    result = process(envelope("ioc/v1/kpi/I3", {**I3, "source": "form", "comment": "ignored"}), FEED)
    assert isinstance(result, Accepted), result
    ((table, row),) = result.rows
    assert table == "kpi_measurement"
    values = dict(zip(FEED.tables[0].columns, row))
    assert values["indicator"] == "I3" and values["value"] == 80.0
    assert values["source"] == "mqtt"  # a publisher cannot pass its message off as a form entry
    assert values["recorded_at"] == NOW


def test_parts_and_projects():
    parts = {"reports": [6, 12], "compilations": [2, 4], "training": [1, 1], "evaluation": [0, 1]}
    result = process(envelope("ioc/v1/kpi/I6", {"indicator": "I6", "as_of": "2015-06-30", "parts": parts}), FEED)
    assert isinstance(result, Accepted) and result.rows[0][1][7] == 50.0
    project = {"project": "road_paving", "as_of": "2015-06-30", "value": 61.5, "entered_by": "建設局"}
    result = process(envelope("ioc/v1/kpi/project/road_paving", project), FEED)
    assert isinstance(result, Accepted), result
    ((table, row),) = result.rows
    assert table == "project_measurement"
    assert row[:5] == ("road_paving", datetime(2015, 6, 30).date(), 61.5, 500.0, "km")
    assert row[5:7] == ("mqtt", "建設局")


@pytest.mark.parametrize("topic, payload, stage, reason", [
    ("ioc/v1/kpi/I4", I3, "validate", "the topic names indicator 'I4' but the payload is for 'I3'"),
    ("ioc/v1/kpi/I3", {**I3, "numerator": 21}, "validate", "numerator 21 is above its denominator 20"),
    ("ioc/v1/kpi/I9", {**I3, "indicator": "I9"}, "validate", "unknown indicator 'I9'"),
    ("ioc/v1/kpi/I2", {"indicator": "I2", "as_of": "2016-01-01", "count": 1, "year": 2015}, "validate",
     "as_of 2016-01-01 is outside the year 2015"),
    ("ioc/v1/kpi/I3", b'{"indicator": "I3", ', "decode", "not valid JSON"),
    ("ioc/v1/kpi/I3", b"\xff\xfe", "decode", "not UTF-8"),
    ("ioc/v1/kpi/I3", [I3], "validate", "expected a JSON object, got an array"),
    ("ioc/v1/kpi/project/heping", {"project": "road_paving", "as_of": "2015-06-30", "value": 1}, "validate",
     "the topic names project 'heping'"),
    ("ioc/v1/kpi/I3", {**I3, "recorded_at": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()},
     "validate", "is in the future"),
])
def test_refusals_say_why(topic, payload, stage, reason):
    result = process(envelope(topic, payload), FEED)
    assert isinstance(result, Rejected), result
    assert (result.feed, result.stage) == ("kpi", stage)
    assert reason in result.error, result.error


def test_parse_without_a_topic_tells_projects_from_indicators():
    (record,) = FEED.parse(orjson.dumps(I3))
    assert record["kind"] == "indicator"
    (record,) = FEED.parse(b'{"project": "tree_planting", "as_of": "2015-06-30", "value": 120000}')
    assert record["kind"] == "project" and record["value"] == 120000
    with pytest.raises(FeedError):
        FEED.parse(b"")


def test_the_message_schema_mirrors_the_line_schema_and_takes_the_examples():
    line = {k: v for k, v in LINE_SCHEMA.items() if k not in ("$schema", "$id", "title", "examples")}
    assert MESSAGE_SCHEMA["$defs"]["measurement"] == line
    validator = jsonschema.Draft202012Validator(MESSAGE_SCHEMA)
    for example in MESSAGE_SCHEMA["examples"] + LINE_SCHEMA["examples"]:
        validator.validate(example)
        assert FEED.parse(orjson.dumps(example))
    assert not validator.is_valid({"project": "x", "indicator": "I3", "as_of": "2015-06-30", "value": 1})
