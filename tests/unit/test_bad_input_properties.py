"""Property tests on every feed's parser, through the pipeline stage that runs it: whatever bytes
arrive on a feed's topic (random bytes, valid payloads cut, flipped or with a field replaced by
any JSON value, arbitrary JSON documents), the result is rows that fit their table or a refusal
with a stage and a reason. Never an exception, never an "internal error" (a parser bug the
pipeline had to catch)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.envelope import Accepted, Envelope, Rejected
from ingest.feeds import all_feeds
from ingest.pipeline import process
from tests.support.bad_inputs import valid_messages

ROOT = Path(__file__).resolve().parents[2]
FEEDS = all_feeds()
SEEDS = sorted({p.read_bytes() for p in (ROOT / "tests" / "fixtures").rglob("*") if p.is_file()
                and p.suffix in (".json", ".xml", ".cap", ".csv")}
               | {m.payload for m in valid_messages("PROP", 8)})
JSON_SEEDS = [doc for doc in (orjson.loads(s) if s.lstrip()[:1] in (b"{", b"[") else None for s in SEEDS)
              if doc is not None]
STAGES = {"route", "decode", "validate", "normalise"}
EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "40"))  # more for a hunt: BAD_INPUT_EXAMPLES=400
PROFILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def topic_of(feed) -> str:
    """A concrete topic for the feed's first filter (sta's needs a datastream id)."""
    topic = feed.topics[0] if feed.topics else f"ioc/v1/test/{feed.name}"
    return topic.replace("+", "Datastreams(17)" if feed.name == "sta" else "X-1").replace("#", "x")


def check(feed, payload: bytes, source: str) -> None:
    env = Envelope(source, topic_of(feed), payload, datetime.now(timezone.utc), None)
    result = process(env, feed)
    if isinstance(result, Rejected):
        assert result.stage in STAGES, result
        assert result.error and "internal error" not in result.error, result.error
        return
    assert isinstance(result, Accepted)
    assert result.refused is None or "internal error" not in result.refused, result.refused
    widths = {t.name: len(t.columns) for t in feed.tables}
    for table, values in result.rows:
        assert len(values) == widths[table], (table, values)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25)


@st.composite
def mutated(draw) -> bytes:
    seed = draw(st.sampled_from(SEEDS))
    how = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
    at = draw(st.integers(0, max(0, len(seed) - 1)))
    if how == "cut":
        return seed[:at]
    if how == "flip":
        return seed[:at] + bytes([seed[at] ^ draw(st.integers(1, 255))]) + seed[at + 1:] if seed else seed
    if how == "insert":
        return seed[:at] + draw(st.binary(min_size=1, max_size=8)) + seed[at:]
    return seed[:at] + seed[at + draw(st.integers(1, 16)):]


@st.composite
def field_replaced(draw) -> bytes:
    """A valid JSON payload with one value somewhere inside replaced by any JSON value."""
    doc = draw(st.sampled_from(JSON_SEEDS))
    doc = orjson.loads(orjson.dumps(doc))  # a copy to change
    node = doc
    for _ in range(draw(st.integers(0, 6))):
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) \
            if isinstance(node, list) else []
        children = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
        if not children:
            break
        node = draw(st.sampled_from(children))[1]
    keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
    if keys:
        node[draw(st.sampled_from(keys))] = draw(json_values)
    return orjson.dumps(doc)


STRATEGIES = {
    "random bytes": st.binary(max_size=3000),
    "mutated valid payload": mutated(),
    "one field replaced": field_replaced(),
    "any JSON document": json_values.map(orjson.dumps),
}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("feed_name", sorted(FEEDS))
def test_parser_refuses_or_accepts_cleanly(feed_name, strategy):
    feed = FEEDS[feed_name]

    @PROFILE
    @given(payload=STRATEGIES[strategy], source=st.sampled_from(["mqtt", "file"]))
    def prop(payload, source):
        check(feed, payload, source)

    prop()
