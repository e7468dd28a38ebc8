"""Prometheus metrics of the ingest worker (served on IOC_INGEST_METRICS_PORT when set)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("ioc_ingest_received_total", "Messages received", ["feed"])
STORED = Counter("ioc_ingest_stored_total", "Messages committed to their tables", ["feed"])
REJECTED = Counter("ioc_ingest_rejected_total", "Messages committed to the dead-letter table", ["feed"])
DB_ERRORS = Counter("ioc_ingest_db_errors_total", "Batches the database could not take (retried)")
BATCH_SECONDS = Histogram("ioc_ingest_batch_seconds", "Time to process and commit one batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LAG_SECONDS = Gauge("ioc_ingest_lag_seconds", "Age of the oldest message of the last batch at commit")
BROKER_CONNECTED = Gauge("ioc_ingest_broker_connected", "1 while connected to the broker")
DELIVERED = Counter("ioc_ingest_delivered_total", "Messages the broker delivered to this worker (redeliveries included)")
REDELIVERED = Counter("ioc_ingest_redelivered_total", "Messages delivered again after a restart or reconnect (MQTT DUP)")
ACKED = Counter("ioc_ingest_acked_total", "Messages acknowledged to the broker (each after its commit)")
BROKER_DROPPED = Gauge("ioc_broker_messages_dropped", "Messages the broker dropped at its queue limits since it "
                       "started (Mosquitto $SYS/broker/publish/messages/dropped)")
INBOX = Gauge("ioc_ingest_inbox_messages", "Messages received and not yet committed (at most the inflight cap)")


def serve(host: str, port: int, *, pending) -> None:
    """Serve /metrics from a thread of its own (prometheus_client's HTTP server).
    `pending()`: messages received and not yet committed."""
    from prometheus_client import start_http_server

    INBOX.set_function(pending)
    start_http_server(port, addr=host)


def observe_batch(report, seconds: float, batch) -> None:
    for feed, (received, stored, rejected) in report.by_feed.items():
        RECEIVED.labels(feed).inc(received)
        STORED.labels(feed).inc(stored)
        REJECTED.labels(feed).inc(rejected)
    BATCH_SECONDS.observe(seconds)
    if batch:
        from datetime import datetime, timezone

        LAG_SECONDS.set((datetime.now(timezone.utc) - batch[0].received_at).total_seconds())
