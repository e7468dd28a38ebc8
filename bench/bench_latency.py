"""Latency at a steady 5,000 messages/s: from publish to commit, per message.

The real worker runs in a process of its own with the settings' defaults (flush 25 ms). This
process publishes at a steady rate (QoS 1, one connection) and notes the time of each publish.
The worker reports, for each batch, when its write began and when it was committed. A row's
`received_at` (now() at the BEGIN of its transaction) falls inside exactly one batch's span:
that batch's commit is the message's commit. Also reported: publish to `received_at` alone.
"""

from __future__ import annotations

import bisect
import threading
import time
import uuid

import numpy as np

from ioc import mqtt as ioc_mqtt

from .backlog import prime_session
from .bench_ingest import worker_options
from .procs import Child, Window, wait_committed, worker_child
from .vdlive import DETECTORS, Messages, backlog_base

RATE = 5000


def percentiles(values_ms, *, digits: int = 1) -> dict:
    a = np.asarray(values_ms, dtype=float)
    return {"p50_ms": round(float(np.percentile(a, 50)), digits), "p95_ms": round(float(np.percentile(a, 95)), digits),
            "p99_ms": round(float(np.percentile(a, 99)), digits), "max_ms": round(float(a.max()), digits),
            "mean_ms": round(float(a.mean()), digits)}


class SteadyPublisher:
    """One paho connection publishing QoS 1 at a steady rate; remembers when each went out."""

    def __init__(self, url: str):
        self.client, address = ioc_mqtt.client(url, f"bench-steady-{uuid.uuid4().hex[:6]}")
        self.connected = threading.Event()
        self.client.on_connect = lambda *a, **k: self.connected.set()
        self.window = Window(self.client, 1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(address.host, address.port, keepalive=60)
        self.client.loop_start()
        if not self.connected.wait(20):
            raise RuntimeError("steady publisher could not connect")

    def run(self, messages: list[tuple[str, bytes]], rate: float) -> list[float]:
        sent_at = []
        publish = self.client.publish
        start = time.perf_counter()
        wall0 = time.time() - start  # wall clock = wall0 + perf_counter(): one clock, fine-grained
        i = 0
        n = len(messages)
        while i < n:
            due = min(n, int((time.perf_counter() - start) * rate) + 1)
            while i < due:
                topic, payload = messages[i]
                self.window.take()
                sent_at.append(wall0 + time.perf_counter())
                publish(topic, payload, qos=1)
                i += 1
            time.sleep(0.0005)
        return sent_at

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(ctx) -> dict:
    stack = ctx.stack
    db = stack.new_database()
    stack.restart_broker()
    seconds = 60 if ctx.full else 20
    warmup = RATE * 2  # two seconds at the rate, not measured: the steady state is what counts
    count = RATE * seconds
    client_id = f"bench-latency-{uuid.uuid4().hex[:6]}"
    prime_session(stack.broker.url("ingest"), client_id)
    base = backlog_base(warmup + count)
    msgs = Messages(base)
    ctx.say(f"latency: generating {warmup + count:,} messages")
    messages = [msgs.message(k) for k in range(warmup + count)]
    worker = Child(worker_child, db.url, stack.broker.url("ingest"), worker_options(client_id),
                   str(ctx.logs / "latency.log"), True).ready()
    worker.go()
    pub = SteadyPublisher(stack.broker.url("simulator"))
    try:
        pub.run(messages[:warmup], RATE)
        wait_committed([worker], warmup, 60)
        ctx.say(f"latency: publishing {count:,} messages at {RATE:,}/s")
        t0 = time.perf_counter()
        sent_at = pub.run(messages[warmup:], RATE)
        achieved = count / (time.perf_counter() - t0)
        wait_committed([worker], warmup + count, 300)
    finally:
        pub.close()
    done = worker.stop()
    commits = done["commits"]  # (write start, commit, messages), in commit order
    # A message's commit is that of the batch whose transaction its row's received_at (now() at
    # BEGIN) falls in: batches are written one after the other, so their spans do not overlap.
    # (Publish order is no guide: MQTT orders messages per topic only, and each detector has its own.)
    starts = [c[0] for c in commits]
    rows = db.query("SELECT vd_id, time, extract(epoch FROM received_at) FROM vd_reading")
    received = {(r[0], r[1]): float(r[2]) for r in rows}
    lat_ms, txn_ms = [], []
    outside = 0
    for j, k in enumerate(range(warmup, warmup + count)):
        got = received.get(msgs.key(k))
        if got is None:
            continue
        b = bisect.bisect_right(starts, got) - 1
        if b < 0 or got > commits[b][1]:
            outside += 1
            continue
        lat_ms.append((commits[b][1] - sent_at[j]) * 1000)
        txn_ms.append((got - sent_at[j]) * 1000)
    if not lat_ms:
        raise RuntimeError("no message could be matched to its commit")
    np.savez(ctx.logs / "latency.npz", lat_ms=np.asarray(lat_ms), txn_ms=np.asarray(txn_ms),
             commits=np.asarray(commits), sent_at=np.asarray(sent_at))  # for looking at the tail
    batch_sizes = [n for _, _, n in commits]
    stack.drop_database(db)
    out = {
        "rate": RATE, "seconds": seconds, "messages": count, "achieved_rate": round(achieved),
        **percentiles(lat_ms),
        "txn_start_p50_ms": round(float(np.percentile(txn_ms, 50)), 1),
        "txn_start_p99_ms": round(float(np.percentile(txn_ms, 99)), 1),
        "rows_matched": len(txn_ms), "rows_outside_any_batch": outside,
        "batches": len(batch_sizes), "mean_batch": round(sum(batch_sizes) / len(batch_sizes), 1),
        "flush_ms": worker_options(client_id)["flush_ms"], "detectors": DETECTORS,
        "worker_cpu_s": round(done["cpu_s"], 2), "worker_peak_rss_mb": done["peak_rss_mb"],
    }
    ctx.say(f"latency: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms at {out['achieved_rate']:,} msg/s")
    return out
