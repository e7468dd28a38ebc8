"""Issue 8, item 3: the broker restarted.

Graceful (SIGTERM: Mosquitto saves its store before it exits) while publishing and ingesting:
nothing accepted is lost.

Hard kill (SIGKILL) with the worker away, so every accepted message exists only at the broker:
what was accepted since the broker's last autosave (IOC_MQTT_AUTOSAVE_S, 2 s here as in
`ioc up`) is at risk and may be lost; everything accepted before that window must survive.
The suite counts both, honestly: `at_risk` = accepted within the autosave interval + 2 s
before the kill (see WINDOW_SLACK_S), `lost_at_risk` = of those, not in the database.
"""

from __future__ import annotations

import time

import pytest

from tests.chaos.harness import NumberedPublisher, WorkerRun, account, figures, settle

AUTOSAVE_S = 2
# Mosquitto saves when *more than* autosave_interval whole seconds have passed since the last
# save (`last_backup + autosave_interval < now_s`): every autosave_interval + 1 s, on second
# boundaries. One more second covers the save's own duration and a busy machine.
WINDOW_SLACK_S = 2.0


@pytest.mark.timeout(180)
def test_graceful_broker_restart_loses_nothing(stack, tmp_path):
    fig = figures("broker restarted (graceful)")
    db, broker = stack.new_database(), stack.new_broker(autosave_s=AUTOSAVE_S)
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "BRGR")
    try:
        pub.start(10_000, 1000)
        time.sleep(4)
        down = time.monotonic()
        broker.stop()
        time.sleep(1)
        broker.start()
        fig.note(f"broker down {time.monotonic() - down:.1f} s (SIGTERM, store saved, restarted)")
        pub.join(120)
        assert pub.wait_acks(60), f"{len(pub.sent) - len(pub.acks)} messages never acknowledged"
        stored = settle(db, pub.tag, set(pub.accepted()), 120)
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()
        reconnects = worker.process.log().count("connected to the broker") - 1
        fig.note(f"worker reconnected {reconnects} time(s), session present after restart: "
                 f"{'session present: True' in worker.process.log().split('lost the broker', 1)[-1]}")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert fig.accepted == 10_000
    assert fig.lost == 0, f"{fig.lost} accepted messages missing from the database"
    assert fig.duplicates == 0
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
    assert reconnects >= 1


@pytest.mark.timeout(180)
def test_hard_killed_broker_loses_at_most_its_autosave_window(stack, tmp_path):
    fig = figures(f"broker SIGKILLed (autosave {AUTOSAVE_S}s)")
    db, broker = stack.new_database(), stack.new_broker(autosave_s=AUTOSAVE_S)
    worker = WorkerRun(db, broker, tmp_path).start()
    time.sleep(2 * AUTOSAVE_S + 1)  # the worker's session (its subscription) is saved
    worker.stop()  # from now on accepted messages live only in the broker
    pub = NumberedPublisher(broker, "BRKL")
    try:
        pub.start(8_000, 1000)
        time.sleep(5.3)
        killed = time.monotonic()
        broker.kill()
        time.sleep(0.5)
        restarting = time.monotonic()  # PUBACKs read before this came from the killed broker
        broker.start()
        pub.join(120)
        assert pub.wait_acks(60), f"{len(pub.sent) - len(pub.acks)} messages never acknowledged"
        worker.start()
        accepted = pub.accepted()
        window = (killed - AUTOSAVE_S - WINDOW_SLACK_S, restarting)
        at_risk = {n for n, t in accepted.items() if window[0] <= t <= window[1]}
        safe = set(accepted) - at_risk
        stored = settle(db, pub.tag, safe, 120)
        time.sleep(2)  # anything at risk that survived arrives with the rest
        stored = settle(db, pub.tag, set(accepted), 1)
        account(fig, pub, stored, at_risk)
        fig.redelivered += worker.redelivered()
        accepted_before_kill = sum(1 for t in accepted.values() if t <= restarting)
        ages = sorted(killed - accepted[n] for n in set(accepted) - set(stored))
        if ages:
            fig.note(f"missing messages were accepted {ages[0]:.2f}-{ages[-1]:.2f} s before the kill")
        fig.note(f"{accepted_before_kill} accepted before the kill, {len(at_risk)} of them within "
                 f"{AUTOSAVE_S + WINDOW_SLACK_S:.0f} s of it (at risk), {fig.lost_at_risk} of those lost; "
                 f"{len(accepted) - accepted_before_kill} accepted after the restart")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert fig.lost == 0, f"{fig.lost} messages accepted before the autosave window were lost"
    assert fig.duplicates == 0
    assert fig.lost_at_risk <= fig.at_risk
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
