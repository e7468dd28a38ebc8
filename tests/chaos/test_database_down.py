"""Issue 8, item 2: the database stopped (immediate shutdown) or frozen (SIGSTOP) while 2,000
messages a second are published.

What must hold: nothing accepted is lost; the worker stops acknowledging (instead of dropping)
and receives no more than its inflight cap (IOC_INGEST_MAX_INFLIGHT, the MQTT Receive Maximum),
so the broker holds the rest of the backlog (its max_queued_messages is set for it); the
worker's memory stays bounded; the MQTT connection stays up throughout; the database
connection recovers by itself when the database is back. The dashboard's /healthz answers 503
(database unavailable) during the outage and 200 again after it, its connection pool recovering
by itself.

Run alone (`make chaos`) the outage lasts 60 s (120,000 messages); inside `make test` 15 s.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.chaos.harness import (DB_TIMEOUT_S, KEEPALIVE_S, MAX_INFLIGHT, PublisherProcess, Sampler,
                                 WorkerRun, account, figures, settle)
from tests.support.dashboard import start_dashboard
from tests.support.waiting import wait_until

LEAD_S = 5.0  # publishing before the outage
TAIL_S = 5.0  # publishing after it
RSS_LIMIT_MB = 400  # stated bound for the worker's resident memory with a full inflight window


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["stopped", "frozen"])
def test_database_outage_under_load_loses_nothing(chaos_stack, stack, size, tmp_path, mode):
    outage = size.outage_s
    fig = figures(f"database {mode} {outage:.0f}s @{size.rate:.0f}/s")
    db, broker = chaos_stack.new_database(), stack.new_broker()
    pg = chaos_stack.pg
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = PublisherProcess(broker, f"DB{mode[:2].upper()}")
    # The dashboard's view of the same outage (once): /healthz says so, and its pool recovers.
    dashboard = start_dashboard(db, broker, tmp_path / "dashboard.log") if mode == "stopped" else None
    health_during = health_after = None
    try:
        with Sampler(worker) as sampler:
            total = int(size.rate * (LEAD_S + outage + TAIL_S))
            pub.start(total, size.rate)
            time.sleep(LEAD_S)
            went = time.monotonic()
            if mode == "stopped":
                pg.stop("immediate")
            else:
                pg.freeze()
            if dashboard is not None:
                time.sleep(min(5.0, outage / 3))
                health_during = httpx.get(f"{dashboard[1]}/healthz", timeout=15)
                time.sleep(max(0.0, went + outage - time.monotonic()))
            else:
                time.sleep(outage)
            back = time.monotonic()
            if mode == "stopped":
                pg.start()
            else:
                pg.thaw()
            restored = time.monotonic()
            if dashboard is not None:
                health_after = wait_until(lambda: (r := httpx.get(f"{dashboard[1]}/healthz", timeout=15))
                                          .status_code == 200 and r, 60, 0.5, message="dashboard healthy again")
            pub.join(outage + 60)
            assert pub.wait_acks(60), "the broker did not acknowledge every message"
            accepted = pub.accepted()
            stored = settle(db, pub.tag, set(accepted), 300)
            drained = time.monotonic()
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()

        during = sampler.between(went + 1.0, back)
        assert during, "no metrics sampled during the outage"
        acked_at_start = sampler.last_before(went + 1.0).get("ioc_ingest_acked_total", 0)
        acked_at_end = sampler.last_before(back).get("ioc_ingest_acked_total", 0)
        peak_pending = max(s.get("ioc_ingest_inbox_messages", 0) for s in during)
        connected = min(s.get("ioc_ingest_broker_connected", 0) for s in during)
        rss_before = sampler.last_before(went).get("rss_mb", 0)
        rss_peak = max(s.get("rss_mb", 0) for s in during)
        last_third = [s["rss_mb"] for s in during if s["t"] >= back - outage / 3 and "rss_mb" in s]
        accepted_in_outage = sum(1 for t in accepted.values() if went <= t <= back)
        errors_before = sampler.last_before(went).get("ioc_ingest_db_errors_total", 0)
        detected = sampler.first(lambda s: s.get("ioc_ingest_db_errors_total", 0) > errors_before, after=went)
        resumed = sampler.first(lambda s: s.get("ioc_ingest_acked_total", 0) > acked_at_end, after=back)
        held_by_broker = accepted_in_outage - peak_pending
        fig.note(f"{len(accepted)} accepted, {accepted_in_outage} during the outage "
                 f"({accepted_in_outage / (back - went):.0f} msg/s); the worker held at most "
                 f"{peak_pending:.0f} unacknowledged (cap {MAX_INFLIGHT}), the broker held the other "
                 f"{max(0, held_by_broker):.0f}")
        fig.note(f"acks during the outage: {acked_at_end - acked_at_start:.0f}; MQTT connected throughout: "
                 f"{connected == 1}")
        fig.note(f"worker RSS {rss_before:.0f} MB before, peak {rss_peak:.0f} MB, last third of the outage "
                 f"{min(last_third, default=0):.0f}-{max(last_third, default=0):.0f} MB")
        fig.note(f"database {'restart' if mode == 'stopped' else 'thaw'} took {restored - back:.1f} s; "
                 f"outage noticed {(detected['t'] - went) if detected else float('nan'):.1f} s after it began; "
                 f"first ack {(resumed['t'] - back) if resumed else float('nan'):.1f} s after the restart/thaw "
                 f"began; backlog drained {drained - restored:.0f} s after")
        if dashboard is not None:
            fig.note(f"dashboard /healthz during the outage: {health_during.status_code} {health_during.json()}; "
                     f"after: {health_after.status_code} (its connection pool recovered by itself)")
    finally:
        pg.thaw()
        if not pg.is_running():
            pg.start()
        if dashboard is not None:
            dashboard[0].stop()
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()

    assert fig.lost == 0, f"{fig.lost} accepted messages missing from the database"
    assert fig.duplicates == 0
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
    assert acked_at_end == acked_at_start, "the worker acknowledged messages while the database was away"
    assert peak_pending <= MAX_INFLIGHT, "the worker took more than its inflight cap"
    if accepted_in_outage > 1.1 * MAX_INFLIGHT:  # enough was published to fill the window
        assert peak_pending >= 0.9 * MAX_INFLIGHT, "the outage should have filled the inflight window"
        assert held_by_broker > 0, "the broker should have held the rest of the backlog"
    if dashboard is not None:
        assert health_during.status_code == 503 and health_during.json()["database"] == "unavailable"
    assert connected == 1, "the MQTT connection dropped while the database was away"
    assert rss_peak < RSS_LIMIT_MB
    assert detected is not None and detected["t"] - went <= 2 * KEEPALIVE_S + 1, \
        "the outage was not noticed within the client-side deadline"
    assert resumed is not None, "the worker never acknowledged again"
    assert DB_TIMEOUT_S <= 2 * KEEPALIVE_S
