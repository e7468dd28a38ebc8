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
