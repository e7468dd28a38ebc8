"""Property tests: whatever bytes arrive, `parse` returns records or raises FeedError, nothing
else; and what it returns is always JSON-able, valid under the schema, and turns into rows."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import get
from ingest.feeds._cap_geo import geography
from ingest.feeds.base import FeedError
from ingest.feeds.cap import parse_atom_index

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "cap").iterdir())
DOCS = [p.read_bytes() for p in FIXTURES]
FEED = get("cap")
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas" / "messages" / "cap.schema.json").read_text(encoding="utf-8")))
TABLES = {t.name: t for t in FEED.tables}
PROFILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_feed_error(payload: bytes) -> None:
    try:
        records = FEED.parse(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate") and exc.reason
        return
    for rec in records:
        json.dumps(rec)
        assert not list(VALIDATOR.iter_errors(rec))
        for table, values in FEED.to_rows(rec, datetime.now(timezone.utc)):
            assert len(values) == len(TABLES[table].columns)


@PROFILE
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(payload):
    parse_or_feed_error(payload)


@st.composite
def byte_mutations(draw):
    doc = bytearray(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        i = draw(st.integers(0, len(doc)))
        j = min(len(doc), i + draw(st.integers(0, 64)))
        if op == "delete":
            del doc[i:j]
        elif op == "insert":
            doc[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "replace":
            doc[i:j] = draw(st.binary(max_size=16))
        else:
            doc[i:i] = doc[i:j]
    return bytes(doc)


@PROFILE
@given(byte_mutations())
def test_byte_mutated_documents(payload):
    parse_or_feed_error(payload)


TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "nan", "1e999", "24.1,120.6 0", "24.1,120.6 24.2,120.7",
                     "Actual", "update", "66", "66000", "6600800-001", "2024-02-30T00:00:00",
                     "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
                     "a,b,c", "a,b,2024-04-23T02:29:35+08:00", "\u3000", "Very Likely"]),
)


@st.composite
def text_mutations(draw):
    """Well-formed documents with the text of some elements replaced: reaches the validators."""
    root = ET.fromstring(draw(st.sampled_from(DOCS)))
    elements = list(root.iter())
    for _ in range(draw(st.integers(1, 5))):
        elem = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["text", "text", "remove", "duplicate"]))
        if action == "text":
            elem.text = draw(TEXTS)
        else:
            parents = [p for p in elements if elem in list(p)]
            if parents:
                parent = parents[0]
                if action == "remove":
                    parent.remove(elem)
                else:
                    parent.append(elem)
    return ET.tostring(root, encoding="utf-8")


@PROFILE
@given(text_mutations())
def test_text_mutated_documents(payload):
    parse_or_feed_error(payload)


@PROFILE
@given(st.one_of(st.binary(max_size=1024), byte_mutations()))
def test_atom_index_only_raises_feed_error(payload):
    try:
        entries = parse_atom_index(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")
        return
    assert all(set(e) == {"id", "link", "updated"} for e in entries)


LATS = st.one_of(st.floats(23.9, 24.5), st.floats(-90, 90))
LONS = st.one_of(st.floats(120.4, 121.5), st.floats(-180, 180))


@st.composite
def geometry_documents(draw):
    """Valid documents with arbitrary polygons (self-intersecting, degenerate, huge) and
    circles (zero, tiny, planet-sized) near Taichung and anywhere: coverage never crashes."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            points = draw(st.lists(st.tuples(LATS, LONS), min_size=1, max_size=8))
            ring = points + [points[0]] * max(4 - len(points), draw(st.integers(1, 3)))
            parts.append("<polygon>" + " ".join(f"{lat!r},{lon!r}" for lat, lon in ring) + "</polygon>")
        else:
            radius = draw(st.one_of(st.just(0.0), st.floats(0, 50), st.floats(0, 1e6)))
            parts.append(f"<circle>{draw(LATS)!r},{draw(LONS)!r} {radius!r}</circle>")
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>g</identifier>
      <sender>s</sender><sent>2024-04-23T02:29:35+08:00</sent><status>Actual</status>
      <msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>e</event>
      <urgency>Past</urgency><severity>Minor</severity><certainty>Observed</certainty>
      <area><areaDesc>a</areaDesc>{"".join(parts)}</area></info></alert>""".encode()


@settings(PROFILE, max_examples=50)
@given(geometry_documents())
def test_arbitrary_geometry(payload):
    parse_or_feed_error(payload)
    (rec,) = FEED.parse(payload)  # points of 4+ (first = last) with valid lat/lon are all valid
    area = rec["infos"][0]["areas"][0]
    assert set(area["villages"]) <= set(geography().village_codes)
    assert {v[:8] for v in area["villages"]} <= set(area["districts"])
