"""`ioc simulate`: publish live messages at a steady rate until stopped."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timezone

from ioc.mqtt import Publisher

from .traffic import TrafficSimulator

log = logging.getLogger(__name__)


def run(publish_url: str, *, rate: float, scenario: str = "normal", stop: threading.Event | None = None,
        duration_s: float | None = None, ca_file: str | None = None) -> int:
    """Publish detector readings at `rate` per second. Returns how many were published."""
    stop = stop or threading.Event()
    publisher = Publisher(publish_url, client_id=f"ioc-simulator-{os.getpid()}", ca_file=ca_file)
    traffic = TrafficSimulator()
    topic, payload, retain = traffic.site_list()
    publisher.publish(topic, payload, retain=retain, wait=True)
    log.info("simulator: %d detector sites, %.1f readings/s, scenario %s", len(traffic.sites), rate, scenario)
    started = time.monotonic()
    sent = 0
    try:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if duration_s is not None and elapsed >= duration_s:
                break
            due = int(elapsed * rate) - sent
            if due > 0:
                now = datetime.now(timezone.utc)
                for topic, payload, retain in traffic.next_readings(due, now):
                    publisher.publish(topic, payload, retain=retain)
                sent += due
            stop.wait(0.05)
    finally:
        publisher.close()
    return sent
