"""Issue 8, item 4: a peer that stops answering without closing anything (SIGSTOP: its kernel
still accepts and ACKs packets, so TCP alone never notices).

Broker frozen: the worker notices through MQTT keep-alive, within 2x its keep-alive (10 s) plus
one tick of paho's network loop (1 s); it reconnects with backoff once the broker is back, and
nothing accepted is lost.

Database frozen: the sink notices through its client-side deadline (10 s, within 2x the
keep-alive); meanwhile the MQTT network loop is never blocked: it keeps receiving into the
inbox until the inflight cap, and keeps the broker connection alive (pings answered) for the
whole freeze, longer than 2x the keep-alive.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.chaos.harness import (DB_TIMEOUT_S, KEEPALIVE_S, NumberedPublisher, Sampler, WorkerRun, account,
                                 figures, settle)

LOOP_TICK_S = 1.0  # paho checks keep-alive once per network-loop iteration (at most 1 s apart)
SAMPLE_S = 0.25
RATE = 500.0


@pytest.mark.timeout(240)
def test_frozen_broker_is_detected_and_reconnected(stack, tmp_path):
    freeze_s = 2 * KEEPALIVE_S + 8
    fig = figures(f"broker frozen {freeze_s}s")
    db, broker = stack.new_database(), stack.new_broker()
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "NETB")
    try:
        with Sampler(worker, SAMPLE_S) as sampler:
            pub.start(int(RATE * (freeze_s + 15)), RATE)
            time.sleep(5)
            frozen = time.monotonic()
            broker.signal(signal.SIGSTOP)
            try:
                time.sleep(freeze_s)
            finally:
                broker.signal(signal.SIGCONT)
            thawed = time.monotonic()
            pub.join(120)
            assert pub.wait_acks(60), f"{len(pub.sent) - len(pub.acks)} messages never acknowledged"
            stored = settle(db, pub.tag, set(pub.accepted()), 120)
            lost_seen = sampler.first(lambda s: s.get("ioc_ingest_broker_connected", 1) == 0, after=frozen)
            back = sampler.first(lambda s: s.get("ioc_ingest_broker_connected", 0) == 1, after=thawed)
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()
        detection = lost_seen["t"] - frozen if lost_seen else None
        recovery = back["t"] - thawed if back else None
        fig.note(f"keep-alive {KEEPALIVE_S} s: loss noticed {detection:.1f} s after the freeze; reconnected "
                 f"{recovery:.1f} s after the thaw (paho backoff 1-30 s)")
    finally:
        broker.signal(signal.SIGCONT)
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert detection is not None and detection <= 2 * KEEPALIVE_S + LOOP_TICK_S + SAMPLE_S, detection
    assert recovery is not None
    assert fig.lost == 0, f"{fig.lost} accepted messages missing from the database"
    assert fig.duplicates == 0
    assert fig.worker_crashes == 0, worker.logs()[-3000:]


@pytest.mark.timeout(240)
def test_frozen_database_never_blocks_the_mqtt_loop(chaos_stack, stack, tmp_path):
    freeze_s = 2 * KEEPALIVE_S + 5
    cap = 2000  # a small inflight cap, reached within the freeze at this rate
    fig = figures(f"database frozen {freeze_s}s (cap {cap})")
    db, broker = chaos_stack.new_database(), stack.new_broker()
    pg = chaos_stack.pg
    worker = WorkerRun(db, broker, tmp_path, IOC_INGEST_MAX_INFLIGHT=str(cap)).start()
    pub = NumberedPublisher(broker, "NETD")
    try:
        with Sampler(worker, SAMPLE_S) as sampler:
            pub.start(int(RATE * (freeze_s + 10)), RATE)
            time.sleep(4)
            frozen = time.monotonic()
            pg.freeze()
            try:
                time.sleep(freeze_s)
            finally:
                pg.thaw()
            thawed = time.monotonic()
            pub.join(120)
            assert pub.wait_acks(60)
            stored = settle(db, pub.tag, set(pub.accepted()), 120)
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()
        at_freeze = sampler.last_before(frozen)
        during = sampler.between(frozen, thawed)
        errors_before = at_freeze.get("ioc_ingest_db_errors_total", 0)
        detected = sampler.first(lambda s: s.get("ioc_ingest_db_errors_total", 0) > errors_before, after=frozen)
        delivered_in_freeze = max(s["ioc_ingest_delivered_total"] for s in during) - at_freeze["ioc_ingest_delivered_total"]
        peak_pending = max(s["ioc_ingest_inbox_messages"] for s in during)
        connected_throughout = all(s["ioc_ingest_broker_connected"] == 1 for s in during)
        detection = detected["t"] - frozen if detected else None
        fig.note(f"database freeze noticed {detection:.1f} s after it began (client-side deadline "
                 f"{DB_TIMEOUT_S} s); during the freeze the MQTT loop received {delivered_in_freeze:.0f} messages "
                 f"(inbox peak {peak_pending:.0f} = cap {cap}) and stayed connected: {connected_throughout}")
    finally:
        pg.thaw()
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert detection is not None and detection <= 2 * KEEPALIVE_S, detection
    assert delivered_in_freeze > 0, "the MQTT loop received nothing while the database was frozen"
    assert 0.95 * cap <= peak_pending <= cap, "the inbox should fill up to the inflight cap, and no further"
    assert connected_throughout, "the MQTT connection dropped while only the database was frozen"
    assert fig.lost == 0
    assert fig.duplicates == 0
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
