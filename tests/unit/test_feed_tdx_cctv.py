"""Feed `tdx-cctv`: CCTV sites from TDX/PTX JSON and the Taichung City CSV list."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import all_feeds
from ingest.feeds._geo_lookup import district_code_at
from ingest.feeds.base import FeedError
from ingest.feeds.tdx_cctv import CCTV_SITES, parse_cctv_sites

ROOT = Path(__file__).resolve().parents[2]
PTX = ROOT / "tests/fixtures/tdx/ptx_v2_freeway_CCTV_sample_2019.json"
TAICHUNG = ROOT / "geo/data/poi/taichung_cctv_2023-11.csv"
SCHEMA = json.loads((ROOT / "schemas/messages/tdx-cctv.schema.json").read_text(encoding="utf-8"))


def test_registered():
    assert all_feeds()["tdx-cctv"] is CCTV_SITES
    table, = CCTV_SITES.tables
    assert (table.name, table.key, table.mode) == ("cctv_site", ("cctv_id",), "latest")


def test_ptx_freeway_sample():
    sites = parse_cctv_sites(PTX.read_bytes())
    assert [s["cctv_id"] for s in sites] == ["CCTV-N3-S-307.6-M", "CCTV-N6-W-20.138-M", "CCTV-N1H-N-54.323-M"]
    assert sites[0] == {
        "cctv_id": "CCTV-N3-S-307.6-M", "name": "國道1號 307K+600", "road": "國道1號", "direction": "S",
        "section": "水上系統交流道 - 白河交流道", "lon": 120.230542, "lat": 23.15635,
        "video_url": "https://cctvs.freeway.gov.tw/live-view/mjpg/video.cgi?camera=222",
        "status": None, "authority": "NFB-SR", "source": "tdx",
    }
    assert (sites[1]["lon"], sites[1]["lat"], sites[1]["direction"]) == (120.84457, 23.999123, "NW")
    jsonschema.validate(json.loads(PTX.read_bytes()), SCHEMA)


def test_bare_list_and_single_object_and_bom():
    doc = json.loads(PTX.read_bytes())
    assert len(parse_cctv_sites(json.dumps(doc["CCTVs"]).encode())) == 3
    one = parse_cctv_sites(b"\xef\xbb\xbf" + json.dumps(doc["CCTVs"][2], ensure_ascii=False).encode())
    assert [s["cctv_id"] for s in one] == ["CCTV-N1H-N-54.323-M"]
    assert one[0]["authority"] == "NFB-NR"


def test_taichung_city_list():
    sites = parse_cctv_sites(TAICHUNG.read_bytes())
    assert len(sites) == 197
    assert len({s["cctv_id"] for s in sites}) == 197
    first = sites[0]
    assert first == {
        "cctv_id": "66000C000001",
        "name": "中清路/環中路(右側車流往文心路),Zhongqing Rd./Huanzhong Rd. (Right side Traffic flow to Wenxin Rd.)",
        "road": None, "direction": None, "section": None, "lon": 120.6556, "lat": 24.19963,
        "video_url": "https://e-traffic.taichung.gov.tw/ATIS_TCC/Device/Showcctv?id=C000001",
        "status": 0, "authority": None, "source": "taichung-csv",
    }
    assert sites[-1]["cctv_id"] == "66000C000314"
    # geo/data/PROVENANCE.md: all 197 points fall inside the city polygon.
    assert all(district_code_at(s["lon"], s["lat"]) for s in sites)
    for s in sites:
        CCTV_SITES.check(s)


def test_rows():
    site = parse_cctv_sites(TAICHUNG.read_bytes())[0]
    received = datetime(2025, 9, 24, tzinfo=timezone.utc)
    (name, values), = CCTV_SITES.to_rows(site, received)
    row = dict(zip(CCTV_SITES.tables[0].columns, values))
    assert name == "cctv_site" and row["time"] == received and row["cctv_id"] == "66000C000001"
    assert len(values) == len(CCTV_SITES.tables[0].columns)


HEADER = "cctvid,roadsection,px,py,url,status\n"


@pytest.mark.parametrize("payload, stage, words", [
    (b"", "validate", "Taichung CCTV CSV"),
    (b"id,name\n1,x\n", "validate", "Taichung CCTV CSV"),
    ((HEADER + "A1,x,120.6,24.1,javascript:alert(1),0\n").encode(), "validate", "not an http(s) URL"),
    ((HEADER + "A1,x,120.6,24.1,https://a/,0\nA1,y,120.6,24.1,https://a/,0\n").encode(), "validate", "appears twice"),
    ((HEADER + "A1,x,east,24.1,https://a/,0\n").encode(), "validate", "px"),
    ((HEADER + "A1,x,120.6,24.1,https://a/\n").encode(), "validate", "fields"),
    ((HEADER + "A1,x,120.6,24.1,https://a/,ok\n").encode(), "validate", "status"),
    (b'{"CCTVs": {}}', "validate", "expected"),
    (b'{"CCTVs": [{"PositionLon": 120.1}]}', "validate", "CCTVID"),
    (b'{"CCTVs": [{"CCTVID": "x", "PositionLon": "120.1a"}]}', "validate", "PositionLon"),
    (b'{"CCTVs": [{"CCTVID": "x", "VideoStreamURL": "file:///etc/passwd"}]}', "validate", "http(s)"),
    (b'{"CCTVs": [{"CCTVID": "x", "RoadSection": "A-B"}]}', "validate", "RoadSection"),
    (b'{"CCTVs": [1', "decode", "JSON"),
    (b"[" * 5000 + b"]" * 5000, "decode", "nested"),
    (b"\xff\xfe\x00a", "decode", "NUL"),
])
def test_bad_input_refused(payload, stage, words):
    with pytest.raises(FeedError) as err:
        parse_cctv_sites(payload)
    assert err.value.stage == stage
    assert words in err.value.reason


def test_live_check_refuses_a_site_abroad():
    site = parse_cctv_sites(TAICHUNG.read_bytes())[0]
    with pytest.raises(FeedError, match="outside Taiwan"):
        CCTV_SITES.check({**site, "lon": 121.0, "lat": 31.2})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_feed_error(payload):
    try:
        parse_cctv_sites(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([PTX, TAICHUNG]), st.data())
def test_mutated_real_lists_only_feed_error(path, data):
    body = bytearray(path.read_bytes()[:2500])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        if data.draw(st.booleans()):
            body[at] = data.draw(st.integers(0, 255))
        else:
            del body[at:at + data.draw(st.integers(1, 30))]
    try:
        sites = parse_cctv_sites(bytes(body))
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")
    else:
        assert all(s["cctv_id"] for s in sites)
        assert all(s["video_url"] is None or s["video_url"].lower().startswith("http") for s in sites)
