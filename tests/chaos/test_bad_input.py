"""Issue 8, item 5: the bad-input corpus (every class: not JSON, truncated, invalid UTF-8, deep
nesting, wrong types, NaN, outside Taiwan, far future/past, oversized, CAP with the wrong
namespace or a broken polygon, XML entity bombs and external entities, unrouted topics) mixed
at random with valid messages, through the real broker, worker and database: every bad message
in the dead-letter table with a reason, every valid one stored, the worker never down, its
memory bounded."""

from __future__ import annotations

import random
import time

import psycopg
import pytest

from ioc.mqtt import Publisher
from tests.chaos.harness import WorkerRun, figures
from tests.support.bad_inputs import KINDS, bad_messages, stored_valid, valid_messages
from tests.support.waiting import wait_until

VALID = 400
RSS_GROWTH_LIMIT_MB = 64


@pytest.mark.timeout(180)
def test_bad_input_is_dead_lettered_and_valid_input_stored(stack, tmp_path):
    fig = figures("bad input mixed with valid")
    db, broker = stack.new_database(), stack.new_broker()
    worker = WorkerRun(db, broker, tmp_path).start()
    bad, valid = bad_messages("BAD"), valid_messages("GOOD", VALID)
    mixed = bad + valid
    random.Random().shuffle(mixed)
    pub = Publisher(broker.url("simulator"), "chaos-bad-input")
    try:
        rss_before = worker.rss_mb()
        rss_peak = rss_before
        accepted = 0
        for message in mixed:
            info = pub.publish(message.topic, message.payload, wait=True)
            accepted += info.is_published() and info.rc == 0
            rss_peak = max(rss_peak, worker.rss_mb())
            assert worker.alive(), worker.process.log()[-3000:]
        with psycopg.connect(db.owner_url, autocommit=True) as conn:
            def everything_arrived():
                letters = conn.execute("SELECT raw, stage, error FROM dead_letter").fetchall()
                return len(letters) >= len(bad) and len(stored_valid(conn, "GOOD")) >= len(valid) and letters

            try:
                wait_until(everything_arrived, 60, 0.5, message="every message stored or dead-lettered")
            except AssertionError:
                pass  # counted below
            time.sleep(1)  # anything extra (a valid message dead-lettered by mistake) shows up too
            letters = {bytes(raw): (stage, error) for raw, stage, error in
                       conn.execute("SELECT raw, stage, error FROM dead_letter").fetchall()}
            stored = stored_valid(conn, "GOOD")
        rss_peak = max(rss_peak, worker.rss_mb())
        lettered = [m for m in bad if m.payload in letters and letters[m.payload][1]]
        wrong_stage = [(m.name, letters[m.payload]) for m in lettered if m.stage and letters[m.payload][0] != m.stage]
        valid_dead = [m.name for m in valid if m.payload in letters]
        fig.published += len(mixed)
        fig.accepted += accepted
        fig.bad_inputs += len(bad)
        fig.dead_lettered += len(lettered)
        fig.stored += len(stored)
        fig.lost += (len(valid) - len(stored)) + (len(bad) - len(lettered))
        fig.note(f"{len(bad)} bad messages of {len(KINDS)} classes among {len(valid)} valid ones; worker RSS "
                 f"{rss_before:.0f} MB before, peak {rss_peak:.0f} MB")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert accepted == len(mixed)
    assert fig.dead_lettered == len(bad), f"not dead-lettered: {[m.name for m in bad if m not in lettered]}"
    assert not wrong_stage, wrong_stage
    assert not valid_dead, f"valid messages dead-lettered: {valid_dead}"
    assert len(stored) == len(valid), f"valid messages not stored: {sorted({m.name for m in valid} - stored)[:10]}"
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
    assert rss_peak - rss_before < RSS_GROWTH_LIMIT_MB
