"""The ingest worker: MQTT in, TimescaleDB out, a message acknowledged only once committed.

Two threads with one job each:
- paho's network thread receives messages and appends them to an in-memory inbox. It never
  waits on the database: the broker stops sending once `max_inflight` messages are unacknowledged
  (MQTT 5 Receive Maximum), which is the backpressure, and bounds memory.
- the writer (the caller's thread) takes batches from the inbox, runs the pure pipeline,
  commits through the sink and only then sends each PUBACK. If the database is away it keeps
  the batch and retries with backoff; nothing is acknowledged, so nothing is lost.

A fixed client id with a persistent session (clean start off, long session expiry) makes the
broker keep and redeliver whatever was not acknowledged when the worker died.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from ioc import mqtt as ioc_mqtt

from . import metrics
from .envelope import Envelope
from .pipeline import SUBSCRIPTIONS, Router, process
from .sink import PermanentError, Sink, TransientError, all_tables, wait_backoff

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 14 * 24 * 3600  # the broker keeps our session (and backlog) for two weeks
# Mosquitto's count of messages it dropped at its queue/inflight limits (max_queued_messages):
# beyond the limits a backlog is lost, and this makes it counted instead of silent.
BROKER_DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"


@dataclass
class WorkerOptions:
    client_id: str = "ioc-ingest"
    shared_group: str = ""
    batch: int = 5000
    flush_ms: int = 25
    max_inflight: int = 20000
    db_timeout_s: float = 10.0
    keepalive_s: int = 10
    ca_file: str | None = None
    metrics_port: int = 0  # Prometheus metrics on this port (0: off)
    metrics_host: str = "127.0.0.1"


class IngestWorker:
    def __init__(self, db_url: str, mqtt_url: str, options: WorkerOptions | None = None):
        self.options = options or WorkerOptions()
        self.router = Router()
        self.sink = Sink(db_url, all_tables(), timeout_s=self.options.db_timeout_s, activity_every_s=1.0)
        self.inbox: deque[Envelope] = deque()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        # A message id names a message only on the connection that delivered it: after a
        # reconnect the broker redelivers what was unacknowledged (same ids, or ids reused for
        # other messages), so an ack of an earlier connection's id could acknowledge the wrong,
        # uncommitted message. Tokens carry the connection they came on; stale ones are not acked.
        self.connection_no = 0
        self.ack_lock = threading.Lock()
        self.holding = 0  # messages of the batch being written (taken out of the inbox)
        self.mqtt_url = mqtt_url
        self.client, self.address = ioc_mqtt.client(mqtt_url, self.options.client_id, manual_ack=True,
                                                    ca_file=self.options.ca_file)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message  # (one callback: paho's per-topic ones cost a match per message)
        self.broker_dropped: int | None = None

    # -- paho's thread ----------------------------------------------------------------------
    def _topics(self) -> list[tuple[str, SubscribeOptions]]:
        group = self.options.shared_group
        opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        return [(f"$share/{group}/{t}" if group else t, opts) for t in SUBSCRIPTIONS]

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to the broker (session present: %s)", flags.session_present)
        with self.ack_lock:
            self.connection_no += 1
        client.subscribe(self._topics())
        client.subscribe(BROKER_DROPPED_TOPIC, qos=0)  # refused by a broker that hides $SYS: no harm
        self.connected.set()
        metrics.BROKER_CONNECTED.set(1)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None):
        with self.ack_lock:
            self.connection_no += 1  # nothing delivered before this may be acked from now on
        self.connected.clear()
        metrics.BROKER_CONNECTED.set(0)
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); paho reconnects with backoff", reason_code)

    def _on_broker_dropped(self, msg: mqtt.MQTTMessage):
        try:
            dropped = int(msg.payload)
        except ValueError:
            return
        if dropped > (self.broker_dropped or 0):
            log.error("the broker has dropped %d messages at its queue limits (max_queued_messages); "
                      "they cannot be stored", dropped)
        self.broker_dropped = dropped
        metrics.BROKER_DROPPED.set(dropped)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage):
        topic = msg.topic
        if topic == BROKER_DROPPED_TOPIC:
            return self._on_broker_dropped(msg)
        metrics.DELIVERED.inc()
        if msg.dup:
            metrics.REDELIVERED.inc()  # sent to us before, unacknowledged (we restarted or reconnected)
        self.inbox.append(Envelope("mqtt", topic, msg.payload, datetime.now(timezone.utc),
                                   (self.connection_no, msg.mid, msg.dup) if msg.qos else None))
        if len(self.inbox) >= self.options.batch:
            self.wake.set()

    # -- the writer ---------------------------------------------------------------------------
    def start(self) -> None:
        props = ioc_mqtt.connect_properties(session_expiry_s=SESSION_EXPIRY_S,
                                            receive_maximum=min(self.options.max_inflight, 65535))
        attempt = 0
        while not self.stopping.is_set():
            try:
                self.client.connect(self.address.host, self.address.port, keepalive=self.options.keepalive_s,
                                    clean_start=False, properties=props)
                break
            except OSError as exc:
                log.warning("broker not reachable (%s); retrying", exc)
                wait_backoff(attempt)
                attempt += 1
        self.client.loop_start()

    def run(self) -> None:
        """Write until `stop()`; then drain what was received and disconnect."""
        self.start()
        flush_s = self.options.flush_ms / 1000
        while not self.stopping.is_set():
            wait = self._until_due(flush_s)
            if wait > 0:
                self.wake.wait(wait)
                self.wake.clear()
                continue
            self.flush()
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()
        self.sink.close()

    def _until_due(self, flush_s: float) -> float:
        """Seconds until the inbox must be written: when a batch is full, or when its oldest
        message has waited `flush_ms` (a fixed sleep after each write would add the write's own
        time to that wait)."""
        inbox = self.inbox
        if not inbox:
            return flush_s
        if len(inbox) >= self.options.batch:
            return 0.0
        waited = (datetime.now(timezone.utc) - inbox[0].received_at).total_seconds()
        return flush_s - waited

    def flush(self) -> int:
        """Write everything in the inbox, batch by batch. Returns messages written."""
        written = 0
        while self.inbox:
            batch = []
            take = min(len(self.inbox), self.options.batch)
            for _ in range(take):
                batch.append(self.inbox.popleft())
            self._write(batch)
            written += len(batch)
        self._flush_activity(force=self.stopping.is_set())
        return written

    def _flush_activity(self, force: bool = False) -> None:
        """Feed activity counted but not yet written (it is written at most once a second)."""
        try:
            self.sink.flush_activity(force=force)
        except (TransientError, PermanentError) as exc:
            log.warning("feed activity not written yet: %s", exc)

    def _write(self, batch: list[Envelope]) -> None:
        feed_for = self.router.feed_for
        self.holding = len(batch)
        items = [(env, process(env, feed_for(env.topic))) for env in batch]
        attempt = 0
        started = time.perf_counter()
        while True:
            try:
                report = self.sink.write(items)
                break
            except TransientError as exc:
                metrics.DB_ERRORS.inc()
                if self.stopping.is_set():
                    # Shutting down with the database away: leave the batch unacknowledged;
                    # the broker redelivers it to the next worker.
                    log.warning("stopping with %d messages uncommitted; the broker keeps them", len(batch))
                    self.inbox.clear()
                    self.holding = 0
                    return
                if attempt == 0:
                    log.warning("database unavailable, holding %d messages unacknowledged: %s", len(batch), exc)
                wait_backoff(attempt, cap=5.0)
                attempt += 1
        self.holding = 0  # committed (before the acks let the broker send more: no double count)
        if attempt:
            log.info("database back after %d attempts", attempt)
        stale = redelivered = 0
        mids = []
        with self.ack_lock:
            current = self.connection_no
            for env in batch:
                if env.token is not None:
                    connection_no, mid, dup = env.token
                    redelivered += dup
                    if connection_no == current:
                        mids.append(mid)
                    else:
                        stale += 1
            self.client.ack_many(mids)
        acked = len(mids)
        if redelivered:
            log.info("committed %d redelivered messages (stored once: writes are idempotent)", redelivered)
        if stale:
            log.info("%d committed messages came on an earlier connection: not acknowledged, "
                     "the broker redelivers them", stale)
        metrics.ACKED.inc(acked)
        metrics.observe_batch(report, time.perf_counter() - started, batch)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def run_worker(db_url: str, mqtt_url: str, options: WorkerOptions) -> None:
    import signal

    worker = IngestWorker(db_url, mqtt_url, options)
    if options.metrics_port:
        metrics.serve(options.metrics_host, options.metrics_port,
                      pending=lambda: len(worker.inbox) + worker.holding)
        log.info("metrics on http://%s:%d/metrics", options.metrics_host, options.metrics_port)
    # A handler runs on the main thread, possibly while it holds `wake`'s lock inside wake.wait():
    # stop() would then deadlock on that lock (the worker never exits). Setting `stopping` alone
    # is safe, and enough: the writer looks at it every flush interval.
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stopping.set())
    log.info("ingest worker %s: batches of up to %d, flush %d ms, %d in flight at most",
             options.client_id, options.batch, options.flush_ms, options.max_inflight)
    worker.run()
