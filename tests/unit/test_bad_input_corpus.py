"""The bad-input corpus through the pure pipeline (route -> decode -> validate -> rows): every bad
message is refused with a stage and a reason, quickly and within a bounded amount of memory;
every valid one becomes rows. (tests/chaos/test_bad_input.py sends the same corpus through the
real worker, broker and database.)"""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone

import pytest

from ingest.envelope import Accepted, Envelope, Rejected
from ingest.pipeline import Router, process
from tests.support.bad_inputs import KINDS, bad_messages, valid_messages

ROUTER = Router()
BAD = bad_messages("UNIT")
VALID = valid_messages("UNIT", 16)
DEADLINE_S = 1.0  # the bound for hostile XML; every other class is far quicker
MEMORY_LIMIT = 32 * 1024 * 1024  # beyond the payload itself (2x: it is copied once)
STAGES = {"route", "decode", "validate", "normalise"}


def run(message) -> tuple[Accepted | Rejected, float, int]:
    """The result, the time it took (untraced) and the peak allocation (traced, a second run)."""
    env = Envelope("mqtt", message.topic, message.payload, datetime.now(timezone.utc), None)
    feed = ROUTER.feed_for(message.topic)
    started = time.perf_counter()
    result = process(env, feed)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        process(env, feed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Load what the parsers load once (district boundaries for the geography checks), so the
    deadline measures the refusal, not the first import."""
    for message in VALID:
        run(message)


def test_corpus_has_every_class_and_unique_payloads():
    assert {m.kind for m in BAD} == set(KINDS)
    payloads = [m.payload for m in BAD + VALID]
    assert len(set(payloads)) == len(payloads)


@pytest.mark.parametrize("message", BAD, ids=[f"{m.kind}:{m.name}" for m in BAD])
def test_bad_message_is_refused_with_a_reason_quickly(message):
    result, elapsed, peak = run(message)
    assert isinstance(result, Rejected), f"accepted: {result}"
    assert result.stage in STAGES
    if message.stage:
        assert result.stage == message.stage, result.error
    assert result.error and "internal error" not in result.error, result.error
    assert elapsed < DEADLINE_S, f"took {elapsed:.2f} s"
    assert peak < MEMORY_LIMIT + 2 * len(message.payload), f"peak allocation {peak} bytes"


@pytest.mark.parametrize("message", VALID, ids=[m.name for m in VALID])
def test_valid_message_becomes_rows(message):
    result, _, _ = run(message)
    assert isinstance(result, Accepted), getattr(result, "error", result)
    assert result.rows and result.refused is None
