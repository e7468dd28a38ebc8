"""The bad-input corpus (issue 8, item 5): one or more messages of every class of bad input, each
on the topic of a feed that would take it, and valid messages of the same feeds to mix in.

Every bad message must end in the dead-letter table with a reason (never stored, never a crash);
every valid one must be stored. Each entry's payload is unique, so a dead letter is matched to
its entry by its raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

VD_TOPIC = "ioc/v1/traffic/vd/{id}"
INCIDENT_TOPIC = "ioc/v1/police/incidents"
BTS_TOPIC = "ioc/v1/telecom/bts/{id}"
CAP_TOPIC = "ioc/v1/disaster/cap"


@dataclass(frozen=True)
class Message:
    kind: str  # the class of bad input, or "valid"
    name: str
    topic: str
    payload: bytes
    # The stage the refusal must come from when it is known for sure; None: any stage.
    stage: str | None = None


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# -- valid messages -------------------------------------------------------------------------------
def vdlive_doc(vd_id: str, when: datetime, speed=48) -> dict:
    return {"VDID": vd_id, "Status": 0, "DataCollectTime": when.isoformat(),
            "LinkFlows": [{"LinkID": "L1", "Lanes": [
                {"LaneID": 0, "Speed": speed, "Occupancy": 11,
                 "Vehicles": [{"VehicleType": "S", "Volume": 7, "Speed": speed}]}]}]}


def incident_doc(incident_id: str, when: datetime, **changes) -> dict:
    doc = {"id": incident_id, "category": "traffic_accident", "priority": 2, "status": "reported",
           "reported_at": (when - timedelta(minutes=5)).isoformat(), "updated_at": when.isoformat(),
           "lon": 120.6736, "lat": 24.1477, "address": "臺中市西屯區臺灣大道三段99號"}
    doc.update(changes)
    return doc


def bts_doc(bts_id: str, when: datetime, **changes) -> dict:
    doc = {"bts_id": bts_id, "operator": "中華電信", "technology": "5G", "lon": 120.68, "lat": 24.15,
           "footprint": {"radius_m": 800}, "status": "up", "time": when.isoformat()}
    doc.update(changes)
    return doc


CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


def cap_xml(identifier: str, when: datetime, *, namespace: str = CAP_NS,
            polygon: str = "24.10,120.60 24.10,120.75 24.22,120.75 24.22,120.60 24.10,120.60") -> bytes:
    sent = when.astimezone(timezone(timedelta(hours=8))).isoformat()
    expires = (when + timedelta(hours=6)).astimezone(timezone(timedelta(hours=8))).isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{namespace}">
  <identifier>{identifier}</identifier>
  <sender>chaos@ioc.taichung.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>zh-TW</language>
    <category>Met</category>
    <event>大雨</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <expires>{expires}</expires>
    <headline>大雨特報</headline>
    <description>測試用大雨特報</description>
    <area>
      <areaDesc>臺中市</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>
""".encode()


def valid_messages(tag: str, count: int, when: datetime | None = None) -> list[Message]:
    """`count` valid messages cycling through four feeds; ids carry `tag` and the number."""
    when = when or now() - timedelta(minutes=2)
    out = []
    for i in range(count):
        ident = f"{tag}-{i:05d}"
        match i % 4:
            case 0 | 1:
                out.append(Message("valid", ident, VD_TOPIC.format(id=ident),
                                   orjson.dumps(vdlive_doc(ident, when - timedelta(seconds=i)))))
            case 2:
                out.append(Message("valid", ident, INCIDENT_TOPIC, orjson.dumps(incident_doc(ident, when))))
            case 3:
                if i % 8 == 3:
                    out.append(Message("valid", ident, BTS_TOPIC.format(id=ident),
                                       orjson.dumps(bts_doc(ident, when))))
                else:
                    out.append(Message("valid", ident, CAP_TOPIC, cap_xml(ident, when)))
    return out


def stored_valid(conn, tag: str) -> set[str]:
    """Which valid messages of `tag` are stored, by name."""
    like = f"{tag}-%"
    found = set()
    for query in ("SELECT vd_id FROM vd_reading WHERE vd_id LIKE %s",
                  "SELECT id FROM incident_history WHERE id LIKE %s",
                  "SELECT bts_id FROM bts_status WHERE bts_id LIKE %s",
                  "SELECT identifier FROM cap_alert WHERE identifier LIKE %s"):
        found.update(r[0] for r in conn.execute(query, (like,)).fetchall())
    return found


# -- bad messages ---------------------------------------------------------------------------------
def _deep(levels: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * levels + close * levels


BILLION_LAUGHS_DTD = (b'<!DOCTYPE alert [<!ENTITY a0 "lol">'
                      + b"".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">'.encode()
                                 for i in range(1, 10))
                      + b'<!ENTITY x "&a9;">]>')


def bad_messages(tag: str, when: datetime | None = None) -> list[Message]:
    when = when or now() - timedelta(minutes=2)
    vd = lambda n: f"{tag}-bad-{n}"  # noqa: E731
    vd_topic = lambda n: VD_TOPIC.format(id=vd(n))  # noqa: E731
    vd_ok = orjson.dumps(vdlive_doc(vd("t"), when))
    inc_ok = orjson.dumps(incident_doc(f"{tag}-bad-inc", when))
    cap_ok = cap_xml(f"{tag}-bad-cap", when)

    def vd_with(n, **changes) -> bytes:
        doc = vdlive_doc(vd(n), when)
        doc.update(changes)
        return orjson.dumps(doc)

    def cap_with(n, body: bytes) -> bytes:
        return body.replace(f"{tag}-bad-cap".encode(), f"{tag}-bad-cap-{n}".encode())

    return [
        # not JSON at all
        Message("not_json", "plain text", vd_topic("nj1"), b"hello, this is not JSON " + tag.encode(), "decode"),
        Message("not_json", "binary", vd_topic("nj2"), bytes(range(256)) + tag.encode(), "decode"),
        Message("not_json", "empty", INCIDENT_TOPIC + "", b"", None),
        Message("not_json", "xml on a json feed", INCIDENT_TOPIC, b"<incident>" + tag.encode() + b"</incident>",
                "decode"),
        Message("not_json", "json on the xml feed", CAP_TOPIC, inc_ok, "decode"),
        # truncated
        Message("truncated", "vdlive cut in half", vd_topic("tr1"), vd_ok[: len(vd_ok) // 2], "decode"),
        Message("truncated", "incident cut", INCIDENT_TOPIC, inc_ok[:-7], "decode"),
        Message("truncated", "cap cut", CAP_TOPIC, cap_ok[: len(cap_ok) * 2 // 3], "decode"),
        # invalid UTF-8
        Message("invalid_utf8", "vdlive id", vd_topic("u1"),
                vd_with("u1").replace(vd("u1").encode(), vd("u1").encode() + b"\xff\xfe"), None),
        Message("invalid_utf8", "incident address", INCIDENT_TOPIC,
                inc_ok.replace("臺中市".encode(), b"\xe8\x87" + b"\xc3\x28"), None),
        Message("invalid_utf8", "cap headline", CAP_TOPIC,
                cap_with("u", cap_ok).replace("大雨特報</headline>".encode(), b"\xc3\x28\xa0\xa1</headline>"),
                "decode"),
        # deep nesting
        Message("deep_nesting", "arrays 100k deep", vd_topic("dn1"), _deep(100_000) + tag.encode(), None),
        Message("deep_nesting", "inside a field", INCIDENT_TOPIC,
                inc_ok[:-1] + b', "notes": ' + _deep(50_000, b'{"a":', b"}").replace(b'{"a":}', b'{"a":1}')
                + b"}", None),
        Message("deep_nesting", "xml 50k deep", CAP_TOPIC,
                cap_with("dn", cap_ok).replace(b"<description>", b"<description>" + b"<x>" * 50_000
                                               + b"</x>" * 50_000), None),
        Message("deep_nesting", "objects 50k deep, generic JSON", "ioc/v1/traffic/vd-sites",
                b'{"' + tag.encode() + b'":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001, "decode"),
        Message("deep_nesting", "xml root 100k deep", CAP_TOPIC,
                b"<" + tag.encode() + b">" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</" + tag.encode() + b">",
                "decode"),
        # wrong types
        Message("wrong_types", "VDID a number", vd_topic("wt1"), vd_with("wt1", VDID=17), "validate"),
        Message("wrong_types", "LinkFlows an object", vd_topic("wt2"), vd_with("wt2", LinkFlows={"x": 1}),
                "validate"),
        Message("wrong_types", "priority a word", INCIDENT_TOPIC,
                orjson.dumps(incident_doc(f"{tag}-wt3", when, priority="high")), "validate"),
        Message("wrong_types", "bts lon a string", BTS_TOPIC.format(id=f"{tag}-wt4"),
                orjson.dumps(bts_doc(f"{tag}-wt4", when, lon="120.6")), "validate"),
        # NaN and infinities
        Message("nan", "NaN literal", vd_topic("nan1"), vd_ok.replace(b'"Speed":48', b'"Speed":NaN', 1), "decode"),
        Message("nan", "1e999 speed", vd_topic("nan2"), vd_with("nan2").replace(b'"Speed":48', b'"Speed":1e999', 1),
                None),
        Message("nan", "NaN lon", INCIDENT_TOPIC,
                inc_ok.replace(b'"lon":120.6736', b'"lon":NaN'), "decode"),
        # coordinates outside Taiwan
        Message("outside_taiwan", "incident at 0,0", INCIDENT_TOPIC,
                orjson.dumps(incident_doc(f"{tag}-ot1", when, lon=0.0, lat=0.0)), "validate"),
        Message("outside_taiwan", "bts in Tokyo", BTS_TOPIC.format(id=f"{tag}-ot2"),
                orjson.dumps(bts_doc(f"{tag}-ot2", when, lon=139.69, lat=35.69)), "validate"),
        Message("outside_taiwan", "cap polygon over Tokyo", CAP_TOPIC,
                cap_xml(f"{tag}-ot3", when, polygon="35.6,139.6 35.6,139.8 35.8,139.8 35.8,139.6 35.6,139.6"),
                "validate"),
        # timestamps far in the future or past
        Message("time_range", "vdlive in 2099", vd_topic("tf1"),
                orjson.dumps(vdlive_doc(vd("tf1"), datetime(2099, 1, 1, tzinfo=timezone.utc))), "validate"),
        Message("time_range", "vdlive in 1970", vd_topic("tf2"),
                orjson.dumps(vdlive_doc(vd("tf2"), datetime(1970, 1, 1, tzinfo=timezone.utc))), "validate"),
        Message("time_range", "incident next year", INCIDENT_TOPIC,
                orjson.dumps(incident_doc(f"{tag}-tf3", when + timedelta(days=365))), "validate"),
        Message("time_range", "cap from 2003", CAP_TOPIC,
                cap_xml(f"{tag}-tf4", datetime(2003, 4, 2, 12, tzinfo=timezone.utc)), "validate"),
        Message("time_range", "year 10000", vd_topic("tf5"),
                vd_with("tf5", DataCollectTime="10000-01-01T00:00:00+08:00"), "validate"),
        # oversized
        Message("oversized", "2 MiB detector reading", vd_topic("os1"),
                vd_with("os1", SubAuthorityCode="x" * (2 << 20)), "validate"),
        Message("oversized", "2 MiB alert", CAP_TOPIC,
                cap_with("os", cap_ok).replace(b"<description>", b"<description>" + b"y" * (2 << 20)),
                "validate"),
        # CAP: wrong namespace, broken polygons
        Message("cap_namespace", "unknown namespace", CAP_TOPIC,
                cap_xml(f"{tag}-ns1", when, namespace="urn:example:not-cap"), "validate"),
        Message("cap_namespace", "no namespace", CAP_TOPIC,
                cap_xml(f"{tag}-ns2", when).replace(f' xmlns="{CAP_NS}"'.encode(), b""), "validate"),
        Message("cap_polygon", "three points", CAP_TOPIC,
                cap_xml(f"{tag}-pg1", when, polygon="24.1,120.6 24.2,120.7 24.1,120.6"), "validate"),
        Message("cap_polygon", "not numbers", CAP_TOPIC,
                cap_xml(f"{tag}-pg2", when, polygon="24.1,abc 24.2,120.7 24.3,120.6 24.1,abc"), "validate"),
        Message("cap_polygon", "latitude out of range", CAP_TOPIC,
                cap_xml(f"{tag}-pg3", when, polygon="124.1,120.6 24.2,120.7 24.3,120.6 124.1,120.6"), "validate"),
        Message("cap_polygon", "NaN point", CAP_TOPIC,
                cap_xml(f"{tag}-pg4", when, polygon="nan,nan 24.2,120.7 24.3,120.6 nan,nan"), "validate"),
        # hostile XML
        Message("xml_bomb", "billion laughs", CAP_TOPIC,
                b'<?xml version="1.0"?>' + BILLION_LAUGHS_DTD
                + cap_with("bl", cap_ok).split(b"?>", 1)[1].replace(b"<headline>", b"<headline>&x;"), "decode"),
        Message("xml_bomb", "quadratic blowup", CAP_TOPIC,
                b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x "' + b"A" * 100_000 + b'">]>'
                + cap_with("qb", cap_ok).split(b"?>", 1)[1].replace(b"<headline>", b"<headline>" + b"&x;" * 5000),
                "decode"),
        Message("xml_external", "external entity", CAP_TOPIC,
                b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + cap_with("xe", cap_ok).split(b"?>", 1)[1].replace(b"<headline>", b"<headline>&x;"), "decode"),
        Message("xml_external", "external DTD", CAP_TOPIC,
                b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/evil.dtd">'
                + cap_with("xd", cap_ok).split(b"?>", 1)[1], "decode"),
        Message("xml_external", "parameter entity", CAP_TOPIC,
                b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd">%p;]>'
                + cap_with("pe", cap_ok).split(b"?>", 1)[1], "decode"),
        # nobody publishes here
        Message("unrouted", "unknown topic", f"ioc/v1/nobody/{tag}", b'{"hello": "world"}', "route"),
    ]


KINDS = ("not_json", "truncated", "invalid_utf8", "deep_nesting", "wrong_types", "nan", "outside_taiwan",
         "time_range", "oversized", "cap_namespace", "cap_polygon", "xml_bomb", "xml_external", "unrouted")
