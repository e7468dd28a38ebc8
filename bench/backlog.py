"""A QoS 1 backlog waiting in the broker for a subscriber that is away.

The subscriber's session is created first (its client id, clean start off, a session expiry,
its subscriptions), then it disconnects; what is published next is queued for it by the broker,
exactly as it would be for a worker that was down. Publishing goes through several paho
publishers in processes of their own (QoS 1, many messages in flight).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.pipeline import SUBSCRIPTIONS
from ioc import mqtt as ioc_mqtt

from .procs import SESSION_EXPIRY_S, Child, publisher_child


def prime_session(url: str, client_id: str, shared_group: str = "", topics: tuple[str, ...] = SUBSCRIPTIONS) -> None:
    """Create the subscriber's persistent session with its subscriptions (the worker's unless
    told otherwise), then leave."""
    client, address = ioc_mqtt.client(url, client_id)
    subscribed = threading.Event()
    opts = SubscribeOptions(qos=1)
    topics = [(f"$share/{shared_group}/{t}" if shared_group else t, opts) for t in topics]

    def on_connect(c, userdata, flags, rc, props=None):
        c.subscribe(topics)

    def on_subscribe(c, userdata, mid, reason_codes, props=None):
        subscribed.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    props = ioc_mqtt.connect_properties(session_expiry_s=SESSION_EXPIRY_S)
    client.connect(address.host, address.port, keepalive=30, clean_start=False, properties=props)
    client.loop_start()
    try:
        if not subscribed.wait(20):
            raise RuntimeError(f"could not subscribe as {client_id}")
    finally:
        client.disconnect()
        client.loop_stop()


def fill(url: str, base: datetime, count: int, *, publishers: int = 2, offset: int = 0) -> dict:
    """Publish messages offset .. offset+count-1 (QoS 1, every one acknowledged by the broker)."""
    children = [Child(publisher_child, url, f"bench-pub-{i}-{time.monotonic_ns()}", base.isoformat(),
                      offset + i, offset + count, publishers, name=f"publisher-{i}") for i in range(publishers)]
    for c in children:
        c.ready(300)
    started = time.time()
    for c in children:
        c.go()
    results = [c.wait_done(900) for c in children]
    seconds = time.time() - started
    published = sum(r["published"] for r in results)
    return {"published": published, "seconds": round(seconds, 2), "msgs_per_s": round(published / seconds),
            "publishers": publishers}
