"""Issue 8, item 1: the ingest worker SIGKILLed at random moments while 10,000 numbered QoS 1
messages are published: every accepted message stored exactly once, some of them delivered
twice (the broker redelivers what was not acknowledged), none stored twice.

And the guard: a worker restarted under its client id finds its session (and the messages
published while it was down) at the broker. A clean start, a session that expires at
disconnect or a client id that changes per start would each fail it."""

from __future__ import annotations

import random
import time

import pytest

from ingest.worker import SESSION_EXPIRY_S, WorkerOptions
from ioc import settings
from tests.chaos.harness import NumberedPublisher, WorkerRun, account, figures, settle

MESSAGES = 10_000
RATE = 1000.0  # per second: publishing lasts ~10 s, long enough for several kills
KILLS = 4


@pytest.mark.timeout(240)
def test_worker_sigkilled_at_random_moments_stores_every_message_once(stack, tmp_path):
    fig = figures("worker SIGKILLed x4")
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    fig.note(f"random seed {seed}")
    db, broker = stack.new_database(), stack.new_broker()
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "KILL")
    try:
        started = time.monotonic()
        pub.start(MESSAGES, RATE)
        # Kill moments spread over the publishing time, each at a random point of its slot.
        slot = (MESSAGES / RATE - 1.0) / KILLS
        for k in range(KILLS):
            moment = started + 0.5 + k * slot + rng.uniform(0, slot * 0.8)
            time.sleep(max(0.0, moment - time.monotonic()))
            worker.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            worker.start()
        pub.join(60)
        assert pub.wait_acks(30), f"{len(pub.sent) - len(pub.acks)} messages never acknowledged by the broker"
        accepted = set(pub.accepted())
        stored = settle(db, pub.tag, accepted, 120)
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()
        fig.note(f"{KILLS} kills; {fig.redelivered} deliveries were repeats of a message delivered before "
                 f"(MQTT DUP), all stored once")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert len(worker.runs) == KILLS + 1
    assert fig.accepted == MESSAGES
    assert fig.lost == 0, f"{fig.lost} accepted messages missing from the database"
    assert fig.duplicates == 0
    assert fig.redelivered > 0, "no message was redelivered: the kills did not hit work in flight"
    assert fig.worker_crashes == 0, worker.logs()[-3000:]


@pytest.mark.timeout(60)
def test_worker_session_survives_a_kill(stack, tmp_path):
    """The guard: messages published while the worker is dead wait for it at the broker."""
    db, broker = stack.new_database(), stack.new_broker()
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "GUARD")
    try:
        worker.kill()
        pub.publish(200, 1000)
        assert pub.wait_acks(10)
        worker.start()
        stored = settle(db, pub.tag, set(pub.accepted()), 30)
        assert "session present: True" in worker.process.log(), worker.process.log()[-2000:]
        assert len(stored) == 200, f"only {len(stored)} of 200 messages published while the worker was down"
    finally:
        pub.close()
        worker.close()
        broker.stop()


def test_worker_asks_for_a_lasting_session():
    """The same guard, statically: a fixed id by default and a session that outlives a restart."""
    assert settings.get("IOC_INGEST_CLIENT_ID"), "the worker needs a fixed client id"
    assert WorkerOptions().client_id == settings.get("IOC_INGEST_CLIENT_ID")
    assert SESSION_EXPIRY_S >= 24 * 3600, "the broker must keep the session across a long outage"


@pytest.mark.timeout(90)
def test_worker_stops_promptly_on_sigterm_while_busy(stack, tmp_path):
    """SIGTERM in the middle of work: the worker exits by itself, cleanly, and what it had not
    acknowledged comes back to its next run."""
    db, broker = stack.new_database(), stack.new_broker()
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "TERM")
    try:
        pub.start(3000, 1500)
        for _ in range(3):
            time.sleep(0.4)
            started = time.monotonic()
            code = worker.stop()
            assert code == 0 and not worker.hung, f"exit {code} after {time.monotonic() - started:.1f} s"
            worker.start()
        pub.join(30)
        assert pub.wait_acks(30)
        stored = settle(db, pub.tag, set(pub.accepted()), 60)
        assert len(stored) == len(pub.accepted()) == 3000
    finally:
        pub.close()
        worker.close()
        broker.stop()
    assert worker.crashes() == 0, worker.logs()[-3000:]
