"""Hostile XML is refused at the decode stage, fast and without building anything large.

Each case must be refused within a functional deadline (1 s; a vulnerable parser would take
minutes or gigabytes) and without a large allocation (tracemalloc peak).
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from ingest.feeds import get
from ingest.feeds.base import FeedError
from ingest.feeds.cap import parse_atom_index

FEED = get("cap")
DEADLINE_S = 1.0
MEMORY_LIMIT = 32 * 1024 * 1024

CAP_BODY = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier>'
            b"<sender>a@b</sender><sent>2024-04-23T02:29:35+08:00</sent><status>Actual</status>"
            b"<msgType>Alert</msgType><scope>Public</scope></alert>")

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a0 "lol">'
                  + b"".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">'.encode()
                             for i in range(1, 10))
                  + b'<!ENTITY x "&a9;">]>' + CAP_BODY)
QUADRATIC_BLOWUP = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x "' + b"A" * 100_000 + b'">]>'
                    + CAP_BODY.replace(b"&x;", b"&x;" * 50_000))
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   + CAP_BODY)
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/evil.dtd">'
                + CAP_BODY.replace(b"&x;", b"x"))
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd">'
                    b"%p;]>" + CAP_BODY.replace(b"&x;", b"x"))
INTERNAL_DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE alert []>' + CAP_BODY.replace(b"&x;", b"x")
UNDECLARED_ENTITY = CAP_BODY  # &x; with no DTD at all: not well-formed

CASES = {
    "billion laughs": BILLION_LAUGHS,
    "quadratic blowup": QUADRATIC_BLOWUP,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "parameter entity": PARAMETER_ENTITY,
    "empty internal DTD": INTERNAL_DTD_ONLY,
    "undeclared entity": UNDECLARED_ENTITY,
}


def refuse_quickly(parse, payload: bytes) -> FeedError:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FeedError) as exc:
            parse(payload)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < DEADLINE_S, f"took {elapsed:.2f} s"
    assert peak < MEMORY_LIMIT + 2 * len(payload), f"peak allocation {peak} bytes"
    return exc.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_cap_is_refused_at_decode(name):
    err = refuse_quickly(FEED.parse, CASES[name])
    assert err.stage == "decode"
    if name != "undeclared entity":
        assert "DTD" in err.reason


@pytest.mark.parametrize("name", ["billion laughs", "external entity"])
def test_hostile_index_is_refused_at_decode(name):
    payload = CASES[name].replace(b"DOCTYPE alert", b"DOCTYPE feed")
    assert refuse_quickly(parse_atom_index, payload).stage == "decode"


def test_oversized_document_is_refused_before_parsing():
    from ingest.feeds._cap_xml import MAX_PARSE_BYTES

    payload = b"<alert>" + b" " * MAX_PARSE_BYTES + b"</alert>"
    err = refuse_quickly(FEED.parse, payload)
    assert err.stage == "decode" and "bytes" in err.reason


def test_deep_nesting_is_refused_or_parsed_quickly():
    depth = 100_000
    payload = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">' + b"<x>" * depth
               + b"</x>" * depth + b"</alert>")
    started = time.perf_counter()
    with pytest.raises(FeedError) as exc:
        FEED.parse(payload)
    assert time.perf_counter() - started < DEADLINE_S
    assert exc.value.stage == "decode"  # refused while parsing: nested deeper than MAX_DEPTH
