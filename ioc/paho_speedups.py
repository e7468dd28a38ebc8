"""Measured speed-ups of paho's receive path; the MQTT handling (parsing, session state,
callbacks) stays paho's own.

Draining a QoS 1 backlog with nothing else to do, on a 2-core VM, stock paho spent about 95 us
of Python per message. Where it went, and what changes here:
- four small `recv` calls and a `select` per packet: `BufferedSocket` serves them from one large
  read and tells paho's loop, through the `pending()` protocol paho already uses for TLS sockets,
  that more is waiting; a packet that lies whole in that buffer is cut out of it at once and
  handed to paho's own packet handler (`_packet_read`), one split across reads goes paho's way;
- paho matches every incoming topic against its per-topic callbacks (`message_callback_add`)
  even when there are none: `_handle_on_message` skips the match then;
- a socket wake-up and a `send` per PUBACK: `BufferedClient.ack_many` queues a batch's PUBACKs
  as one write (the same bytes, in the same order);
- `Properties(...)`, built for every PUBLISH and PUBACK under MQTT 5, rebuilt two 27-entry tables
  each time and `clear()` probed all 27 names: `share_property_tables` makes the tables shared
  (they are constants, never written) and `clear()` look only at what was set.
Together, in a receive-path micro-benchmark (a socket pair, 100,000 PUBLISH packets), 1.7-2.2x
less time per message than stock paho. `tests/unit/test_paho_speedups.py` holds them to paho's
behaviour; the MQTT integration and chaos tests run over them.
"""

from __future__ import annotations

import struct

import paho.mqtt.client as mqtt
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PUBACK = 0x40
_puback = struct.Struct("!BBH").pack  # PUBACK, remaining length 2, message id: "success" in MQTT 5
READ_SIZE = 256 * 1024
MAX_PACKETS_PER_READ = 1000  # then paho's loop runs its keep-alive and write duties again


class BufferedSocket:
    """A socket whose `recv` is served from one large read. `pending()` tells paho's loop that
    bytes are waiting even when the kernel's buffer is empty (as it does for TLS records)."""

    def __init__(self, sock, size: int = READ_SIZE):
        self._sock = sock
        self._size = size
        self._data = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        data, pos = self._data, self._pos
        if pos >= len(data):
            data = self._sock.recv(self._size)  # BlockingIOError / SSLWantReadError go to paho
            pos = 0
            if len(data) <= n:
                self._data, self._pos = b"", 0
                return data
        end = min(pos + n, len(data))
        self._data, self._pos = data, end
        return data[pos:end]

    def take_packet(self) -> tuple[int, bytes, bytes] | None:
        """The next MQTT packet if it lies whole in the buffer: (its first byte, its remaining
        length's bytes, the rest); None otherwise (and nothing is taken)."""
        data, pos = self._data, self._pos
        end = len(data)
        i = pos + 1
        length = shift = 0
        while True:
            if i >= end or shift > 21:  # not all here, or over 4 length bytes (paho refuses those)
                return None
            byte = data[i]
            i += 1
            length |= (byte & 127) << shift
            if byte < 128:
                break
            shift += 7
        stop = i + length
        if stop > end:
            return None
        self._pos = stop
        return data[pos], data[pos + 1:i], data[i:stop]

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._data) - self._pos + inner

    def __getattr__(self, name):  # send, fileno, setblocking, close, ...: the socket's own
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    """paho's client with the speed-ups above (creating one applies `share_property_tables`)."""

    def __init__(self, *args, **kwargs):
        share_property_tables()
        super().__init__(*args, **kwargs)

    def _create_socket(self):
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho reads one QoS 1 packet per pass of its loop (a select() each); what is already
        # buffered is read on here, up to a limit.
        rc = super().loop_read(max_packets)
        for _ in range(MAX_PACKETS_PER_READ):
            sock = self._sock
            if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS or sock is None or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

    def _packet_read(self) -> mqtt.MQTTErrorCode:
        sock = self._sock
        if self._in_packet["command"] == 0 and isinstance(sock, BufferedSocket):
            whole = sock.take_packet()
            if whole is not None:
                return self._handle_whole_packet(*whole)
        return super()._packet_read()

    def _handle_whole_packet(self, command: int, length_bytes: bytes, body: bytes) -> mqtt.MQTTErrorCode:
        """What paho's `_packet_read` does once it has read a whole packet: its state filled in
        as paho fills it, its handler, the state reset, the time of the last bytes noted."""
        self._in_packet = {"command": command, "have_remaining": 1, "remaining_count": list(length_bytes),
                           "remaining_mult": 128 ** len(length_bytes), "remaining_length": len(body),
                           "packet": body, "to_process": 0, "pos": 0}
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        if self._on_message_filtered._root._children:  # per-topic callbacks: paho's way
            return super()._handle_on_message(message)
        with self._callback_mutex:
            on_message = self.on_message
        if on_message:
            with self._in_callback_mutex:
                try:
                    on_message(self, self._userdata, message)
                except Exception as err:
                    self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                    if not self.suppress_exceptions:
                        raise

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages (manual_ack) in one queued write, in the order given
        (MQTT asks for PUBACKs in the order the messages came)."""
        if mids:
            self._packet_queue(PUBACK, b"".join([_puback(PUBACK, 2, mid) for mid in mids]), 0, 0)


_OWN_FIELDS = frozenset(("packetType", "types", "names", "properties"))


def share_property_tables() -> None:
    """Make `Properties` objects share paho's constant tables (idempotent)."""
    if getattr(Properties, "_ioc_shared_tables", False):
        return
    template = Properties(PacketTypes.PUBLISH)
    types, names, properties = template.types, template.names, template.properties

    def __init__(self, packetType):
        d = self.__dict__
        d["packetType"] = packetType
        d["types"] = types
        d["names"] = names
        d["properties"] = properties

    def clear(self):
        d = self.__dict__
        if len(d) > len(_OWN_FIELDS):
            for name in [n for n in d if n not in _OWN_FIELDS]:
                del d[name]

    Properties.__init__ = __init__
    Properties.clear = clear
    Properties._ioc_shared_tables = True
