"""The broker requires passwords, each publisher may publish only its own topics, TLS works."""

from __future__ import annotations

import subprocess
import threading

import paho.mqtt.client as mqtt
import pytest

from ioc import mqtt as ioc_mqtt
from ioc.mqtt import Publisher
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


class Collector:
    def __init__(self, url: str, topic: str = "ioc/v1/#", ca_file: str | None = None):
        self.messages: list[tuple[str, bytes]] = []
        self.ready = threading.Event()
        self.client, address = ioc_mqtt.client(url, "collector", ca_file=ca_file)
        self.client.on_connect = lambda c, u, f, rc, p=None: (c.subscribe(topic, qos=1), self.ready.set())
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def test_a_publisher_cannot_publish_another_feeds_topic(broker):
    collector = Collector(broker.url("ingest"))
    weather = Publisher(broker.url("pub-weather"), "weather-station")
    weather.publish("ioc/v1/police/incidents", b'{"forged": true}', wait=True)
    weather.publish("ioc/v1/weather/stations", b'{"ok": true}', wait=True)
    wait_until(lambda: any(t == "ioc/v1/weather/stations" for t, _ in collector.messages), 10,
               message="own topic delivered")
    assert [t for t, _ in collector.messages] == ["ioc/v1/weather/stations"]
    weather.close()
    collector.close()


def test_anonymous_and_wrong_passwords_are_refused(broker):
    for url in (f"mqtt://127.0.0.1:{broker.port}", f"mqtt://ingest:wrong@127.0.0.1:{broker.port}"):
        with pytest.raises(ConnectionError):
            Publisher(url, "intruder")


def test_tls_listener(stack, tmp_path):
    key, cert = tmp_path / "broker.key", tmp_path / "broker.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    broker = stack.new_broker(tls=(cert, key))
    try:
        collector = Collector(broker.tls_url("ingest"), ca_file=str(cert))
        pub = Publisher(broker.tls_url("pub-traffic"), "tls-pub", ca_file=str(cert))
        pub.publish("ioc/v1/traffic/vd/VD-TLS", b"{}", wait=True)
        wait_until(lambda: collector.messages, 10, message="message over TLS")
        pub.close()
        collector.close()
        with pytest.raises(Exception):
            Publisher(broker.tls_url("pub-traffic"), "tls-untrusted")  # the system CAs do not know it
    finally:
        broker.stop()
