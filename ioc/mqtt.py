"""MQTT connections from `mqtt://` / `mqtts://` URLs, the same way for every process."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .paho_speedups import BufferedClient


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"not an MQTT URL (mqtt:// or mqtts://): {parts.scheme}://...")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883),
                         unquote(parts.username) if parts.username else None,
                         unquote(parts.password) if parts.password else None, tls)


def client(url: str, client_id: str = "", *, manual_ack: bool = False, ca_file: str | None = None,
           stock: bool = False) -> tuple[mqtt.Client, BrokerAddress]:
    """A paho MQTT 5 client for `url`: the buffered one (`BufferedClient`) unless `stock`."""
    address = parse_url(url)
    cls = mqtt.Client if stock else BufferedClient
    c = cls(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    if address.username:
        c.username_pw_set(address.username, address.password)
    if address.tls:
        c.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
    c.reconnect_delay_set(min_delay=1, max_delay=30)
    return c, address


def connect_properties(*, session_expiry_s: int | None = None, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    if session_expiry_s is not None:
        props.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


class Publisher:
    """A connected publisher for simple use (simulator, notifications, tests): QoS 1,
    waits for the broker's PUBACK when asked to."""

    def __init__(self, url: str, client_id: str = "", *, ca_file: str | None = None, keepalive: int = 30):
        self.client, address = client(url, client_id, ca_file=ca_file)
        self._answered = threading.Event()
        self._refusal = None

        def on_connect(c, userdata, flags, reason_code, properties=None):
            self._refusal = reason_code if reason_code.is_failure else None
            self._answered.set()

        self.client.on_connect = on_connect
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(address.host, address.port, keepalive=keepalive)
        self.client.loop_start()
        if not self._answered.wait(15) or self._refusal is not None:
            self.close()
            raise ConnectionError(f"the broker at {address.host}:{address.port} refused or did not answer"
                                  f" ({self._refusal or 'timeout'})")

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False,
                wait: bool = False) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if wait:
            info.wait_for_publish(timeout=30)
        return info

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
