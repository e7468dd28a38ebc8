"""Issue 8, item 2, the limits: the broker holds a backlog up to its `max_queued_messages`
(IOC_MQTT_MAX_QUEUED, 2,000,000 by default) per session. Beyond it Mosquitto drops new messages
for the absent worker; that loss must be counted, never silent. The worker reads the broker's
own drop counter ($SYS/broker/publish/messages/dropped) and reports it (log at ERROR, metric
`ioc_broker_messages_dropped`).

Here the limit is set to 1,000 and 3,000 messages are published while the worker is away: the
2,000 published beyond the limit are deliberately put at risk (counted in `at_risk`, their loss
in `lost_at_risk`), everything within the limit must be stored, and the broker's counter must
equal what is missing.
"""

from __future__ import annotations

import pytest

from tests.chaos.harness import NumberedPublisher, WorkerRun, account, figures, stored_numbers
from tests.support.waiting import wait_until

LIMIT = 1000
PUBLISHED = 3000


@pytest.mark.timeout(120)
def test_messages_beyond_the_queue_limit_are_counted(stack, tmp_path):
    fig = figures(f"beyond the broker queue limit ({LIMIT})")
    db, broker = stack.new_database(), stack.new_broker(max_queued=LIMIT)
    worker = WorkerRun(db, broker, tmp_path).start()
    worker.stop()  # its session stays at the broker, with a queue of at most LIMIT messages
    pub = NumberedPublisher(broker, "LIMIT")
    try:
        pub.publish(PUBLISHED, 2000)
        assert pub.wait_acks(30)
        accepted = pub.accepted()
        worker.start()

        def settled():
            stored = stored_numbers(db, pub.tag)
            dropped = worker.metrics().get("ioc_broker_messages_dropped", 0)
            return len(stored) >= LIMIT and dropped >= len(accepted) - len(stored) and (stored, dropped)

        stored, dropped = wait_until(settled, 40, 0.5, message="backlog stored and the drops counted")
        within = {n for n in accepted if n < LIMIT}
        at_risk = set(accepted) - within
        account(fig, pub, stored, at_risk)
        fig.note(f"{len(accepted)} accepted while the worker was away, queue limit {LIMIT}: {len(stored)} stored; "
                 f"the broker counted {dropped:.0f} dropped, the suite {len(accepted) - len(stored)} missing")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
    assert len(accepted) == PUBLISHED
    assert fig.lost == 0, "a message within the queue limit was lost"
    assert dropped == len(accepted) - len(stored), "the broker's drop count must account for every missing message"
    assert "dropped" in worker.process.log() and "queue limits" in worker.process.log()
    assert fig.worker_crashes == 0
