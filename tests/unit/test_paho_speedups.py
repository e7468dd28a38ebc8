"""The paho speed-ups (ioc/paho_speedups.py) behave as paho does: the same bytes read, the same
PUBACKs written, the same MQTT 5 properties. (Over a real broker, with TLS too, the MQTT
integration and chaos tests run through them.)"""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ioc.paho_speedups import BufferedClient, BufferedSocket, share_property_tables


@pytest.fixture()
def pair():
    a, b = socket.socketpair()
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_buffered_socket_serves_small_reads_from_one_large_read(pair):
    writer, reader = pair
    sock = BufferedSocket(reader, size=64)
    writer.sendall(bytes(range(100)))
    got = [sock.recv(1), sock.recv(1), sock.recv(30)]
    assert got == [b"\x00", b"\x01", bytes(range(2, 32))]
    assert sock.pending() == 64 - 32  # the rest of the first read waits in the buffer
    rest = b""
    while len(rest) < 68:
        rest += sock.recv(1000)  # never more than was asked, never across what the kernel gave
    assert rest == bytes(range(32, 100))
    assert sock.pending() == 0
    with pytest.raises(BlockingIOError):  # nothing left: paho's "try again later"
        sock.recv(1)


def test_buffered_socket_reports_the_end_of_the_stream(pair):
    writer, reader = pair
    sock = BufferedSocket(reader)
    writer.sendall(b"ab")
    writer.shutdown(socket.SHUT_WR)
    assert sock.recv(1) == b"a"
    assert sock.recv(5) == b"b"
    assert sock.recv(1) == b""  # paho reads b"" as a lost connection
    assert sock.fileno() == reader.fileno()  # everything else is the socket's own


def _client(cls):
    return cls(CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5, manual_ack=True)


def test_ack_many_queues_the_bytes_paho_would_send_one_by_one():
    mids = [1, 2, 300, 65535, 7]
    stock = _client(mqtt.Client)
    for mid in mids:
        stock.ack(mid, 1)
    expected = b"".join(bytes(p["packet"]) for p in stock._out_packet)
    ours = _client(BufferedClient)
    ours.ack_many(mids)
    ours.ack_many([])  # nothing to send: nothing queued
    assert [bytes(p["packet"]) for p in ours._out_packet] == [expected]
    assert expected[:4] == b"\x40\x02\x00\x01"  # PUBACK, length 2, message id 1


def test_shared_property_tables_keep_properties_apart_and_round_trip():
    share_property_tables()
    share_property_tables()  # idempotent
    a = Properties(PacketTypes.PUBLISH)
    b = Properties(PacketTypes.PUBLISH)
    assert a.isEmpty() and b.isEmpty()
    a.ContentType = "application/json"
    a.UserProperty = ("feed", "vd")
    a.UserProperty = ("k", "v")
    a.MessageExpiryInterval = 60
    assert b.isEmpty() and not hasattr(b, "ContentType")  # set on one, not on the other
    packed = a.pack()
    back, length = Properties(PacketTypes.PUBLISH).unpack(packed)
    assert length == len(packed)
    assert (back.ContentType, back.UserProperty, back.MessageExpiryInterval) == \
        ("application/json", [("feed", "vd"), ("k", "v")], 60)
    back.clear()
    assert back.isEmpty() and back.pack() == b"\x00"
    with pytest.raises(Exception, match="does not apply"):
        Properties(PacketTypes.PUBACK).ContentType = "x"  # paho's own checks still apply
    connect = Properties(PacketTypes.CONNECT)
    connect.ReceiveMaximum = 20000
    connect.SessionExpiryInterval = 3600
    again, _ = Properties(PacketTypes.CONNECT).unpack(connect.pack())
    assert (again.ReceiveMaximum, again.SessionExpiryInterval) == (20000, 3600)


def _publish_packet(topic: str, payload: bytes, *, qos: int = 1, mid: int = 1, dup: bool = False,
                    props: Properties | None = None) -> bytes:
    """A PUBLISH packet as a broker sends it under MQTT 5 (built here, not by the code under test)."""
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    body += (props or Properties(PacketTypes.PUBLISH)).pack() + payload
    length, n = bytearray(), len(body)
    while True:
        n, byte = divmod(n, 128)
        length.append(byte | (128 if n else 0))
        if not n:
            break
    return bytes([0x30 | (0x08 if dup else 0) | qos << 1]) + bytes(length) + body


def _stream() -> tuple[bytes, int]:
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    props.UserProperty = ("feed", "vd")
    packets = [_publish_packet("ioc/v1/a", b"", mid=1),
               _publish_packet("ioc/v1/b", b"x" * 100, mid=2, dup=True, props=props),
               _publish_packet("ioc/v1/c", b"y" * 200, qos=0),  # a two-byte remaining length
               _publish_packet("ioc/v1/d", bytes(range(256)) * 80, mid=65535),  # three bytes
               _publish_packet("ioc/v1/e", b"z" * 300_000, mid=4),  # larger than one read
               _publish_packet("ioc/v1/\u53f0\u4e2d", b"{}", mid=5)]
    packets += [_publish_packet(f"ioc/v1/traffic/vd/VD-{i}", b"%d" % i, mid=100 + i) for i in range(300)]
    return b"".join(packets), len(packets)


def _receive(cls, stream: bytes, chunks: list[int], wrap: bool) -> list[tuple]:
    """Feed `stream` to a client in pieces of the given sizes; what its on_message saw."""
    import select

    a, b = socket.socketpair()
    b.setblocking(False)
    client = _client(cls)
    got: list[tuple] = []
    client.on_message = lambda c, u, m: got.append(
        (m.topic, m.payload, m.mid, m.qos, m.dup, m.retain, str(m.properties)))
    client._sock = BufferedSocket(b, size=4096) if wrap else b
    try:
        pos = 0
        for size in chunks:
            a.sendall(stream[pos:pos + size])
            pos += size
            while select.select([b], [], [], 0)[0] or (wrap and client._sock.pending()):
                assert client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
    finally:
        a.close()
        b.close()
    return got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_whole_packets_cut_from_the_buffer_are_the_messages_paho_reads(seed):
    import random

    stream, count = _stream()
    rng = random.Random(seed)
    chunks, left = [], len(stream)
    while left:  # packets split anywhere: in the fixed header, the length, the body
        chunks.append(min(left, rng.choice([1, 2, 3, 7, 50, 700, 5000, 70_000])))
        left -= chunks[-1]
    stock = _receive(mqtt.Client, stream, chunks, wrap=False)
    ours = _receive(BufferedClient, stream, chunks, wrap=True)
    assert len(stock) == count
    assert ours == stock
    assert ours[1][4] is True and "ContentType" in ours[1][6]  # dup flag and properties carried


def test_take_packet_takes_only_what_lies_whole_in_the_buffer(pair):
    writer, reader = pair
    sock = BufferedSocket(reader)
    whole = _publish_packet("t", b"abc", mid=7)
    writer.sendall(whole + whole[:5])
    assert sock.recv(1) == whole[:1]  # paho's way, as for a packet that was not whole
    assert sock.recv(len(whole) - 1) == whole[1:]
    assert sock.take_packet() is None  # five bytes of the next packet: not whole, nothing taken
    assert sock.pending() == 5
    sock._data, sock._pos = whole + whole + whole[:5], 0
    assert sock.take_packet() == (whole[0], whole[1:2], whole[2:])
    assert sock.take_packet() == (whole[0], whole[1:2], whole[2:])
    assert sock.take_packet() is None and sock.pending() == 5
    assert sock.recv(100) == whole[:5]  # left for paho's own reading
    sock._data, sock._pos = b"\x30\xff\xff\xff\xff\x01" + b"x" * 100, 0
    assert sock.take_packet() is None  # a length of five bytes: left to paho, which refuses it


def test_topic_callbacks_still_go_paho_s_way():
    stream = b"".join([_publish_packet("ioc/v1/a", b"1", mid=1), _publish_packet("ioc/v1/traffic/vd/x", b"2", mid=2),
                       _publish_packet("ioc/v1/b", b"3", mid=3), _publish_packet("ioc/v1/traffic/vd/y", b"4", mid=4)])
    a, b = socket.socketpair()
    b.setblocking(False)
    client = _client(BufferedClient)
    general, special = [], []
    client.on_message = lambda c, u, m: general.append(m.topic)
    client.message_callback_add("ioc/v1/traffic/#", lambda c, u, m: special.append(m.topic))
    client._sock = BufferedSocket(b)
    try:
        a.sendall(stream)
        while client._sock.pending() or __import__("select").select([b], [], [], 0.2)[0]:
            client.loop_read()
    finally:
        a.close()
        b.close()
    assert general == ["ioc/v1/a", "ioc/v1/b"]
    assert special == ["ioc/v1/traffic/vd/x", "ioc/v1/traffic/vd/y"]
