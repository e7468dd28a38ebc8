"""Feeds `shelters` (the NFA shelter list, CSV) and `shelter-status` (occupancy messages)."""

from __future__ import annotations

import collections
import copy
import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import all_feeds
from ingest.feeds._geo_lookup import district_code_by_name, district_codes
from ingest.feeds.base import FeedError
from ingest.feeds.shelters import (SHELTER_STATUS_FEED, SHELTERS, parse_shelter_list,
                                   parse_shelter_status)

ROOT = Path(__file__).resolve().parents[2]
SHELTER_CSV = ROOT / "geo/data/poi/taichung_shelters_nfa_v9.csv"
LIST_SCHEMA = json.loads((ROOT / "schemas/messages/shelters.schema.json").read_text(encoding="utf-8"))
STATUS_SCHEMA = json.loads((ROOT / "schemas/messages/shelter-status.schema.json").read_text(encoding="utf-8"))
STATUS_VALIDATOR = jsonschema.Draft202012Validator(STATUS_SCHEMA)
NATIONAL_HEADER = ["序號", "縣市及鄉鎮市區", "村里", "避難收容處所地址", "經度", "緯度", "避難收容處所名稱",
                   "預計收容村里", "預計收容人數", "適用災害類別", "管理人姓名", "管理人電話", "室內", "室外",
                   "適合避難弱者安置"]


@pytest.fixture(scope="module")
def shelters():
    return parse_shelter_list(SHELTER_CSV.read_bytes())


@pytest.fixture(scope="module")
def csv_rows():
    with SHELTER_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def to_csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


# --- the list --------------------------------------------------------------------------------

def test_registered():
    feeds = all_feeds()
    assert feeds["shelters"] is SHELTERS and feeds["shelter-status"] is SHELTER_STATUS_FEED
    assert SHELTERS.format == "csv" and SHELTER_STATUS_FEED.format == "json"
    assert SHELTER_STATUS_FEED.topics == ("ioc/v1/disaster/shelters/+",)
    assert [(t.name, t.key, t.mode) for t in SHELTER_STATUS_FEED.tables] == [
        ("shelter_status", ("shelter_id", "time"), "append"),
        ("shelter_status_current", ("shelter_id",), "latest")]


def test_real_taichung_list(shelters):
    # Documented in geo/data/PROVENANCE.md: 492 rows, planned capacity 305,435.
    assert len(shelters) == 492
    assert sum(s["capacity"] for s in shelters) == 305_435
    assert len({s["shelter_id"] for s in shelters}) == 492
    checks = collections.Counter(s["coord_check"].split(":")[0] for s in shelters)
    assert checks == {"ok": 470, "other_district": 8, "outside_taichung": 14}
    # Every row is a Taichung district, and all 29 districts have shelters.
    assert {s["district"] for s in shelters} == district_codes()
    assert sum(1 for s in shelters if s["district"] == district_code_by_name("大里區")) == 42


def test_real_rows_exactly(shelters):
    by_id = {s["shelter_id"]: s for s in shelters}
    assert by_id["57"] == {
        "shelter_id": "57", "name": "健康公園", "address": "忠明南路與五權南路交叉口",
        "county_district": "臺中市南區", "district": "66000030", "village": "平和里",
        "lon": 120.667553, "lat": 24.119757, "capacity": 7500, "served_villages": "南和.永興.積善",
        "disaster_types": ["震災"], "indoor": False, "outdoor": True, "vulnerable_ok": True,
        "coord_check": "ok",
    }
    assert by_id["59"]["disaster_types"] == ["水災", "土石流"]
    assert by_id["388"]["disaster_types"] == ["水災", "震災", "土石流", "海嘯"]
    assert by_id["388"]["coord_check"] == "outside_taichung"
    assert [by_id[i]["disaster_types"] for i in ("3659", "3711", "3755")] == [[], [], []]


def test_bom_crlf_and_big5_give_the_same_records(shelters):
    text = SHELTER_CSV.read_text(encoding="utf-8")
    assert parse_shelter_list(b"\xef\xbb\xbf" + text.encode()) == shelters
    assert parse_shelter_list(text.replace("\n", "\r\n").encode()) == shelters
    assert parse_shelter_list(text.encode("cp950")) == shelters


def test_national_layout_other_counties_and_personal_data_dropped(csv_rows):
    """The national file: other counties, manager name/phone columns, no coord_check."""
    header = csv_rows[0]
    body = [dict(zip(header, row)) for row in csv_rows[1:]]
    rows = [NATIONAL_HEADER]
    for r in body:
        rows.append([r.get(c, "（已移除）") for c in NATIONAL_HEADER])
    # 金門縣烈嶼鄉 row 2 of the national v9 file; manager name/phone replaced here.
    rows.append(["2", "金門縣烈嶼鄉", "林湖村", "東林24號", "118.248571", "24.428328",
                 "金門縣烈嶼鄉林湖村辦公處", "林湖村", "30", "水災,震災,土石流,海嘯", "（已移除）", "（已移除）",
                 "是", "否", "是"])
    records = parse_shelter_list(to_csv(rows).encode())
    assert len(records) == 493
    kinmen = records[-1]
    assert kinmen["district"] is None and kinmen["coord_check"] is None
    assert (kinmen["lon"], kinmen["lat"], kinmen["capacity"]) == (118.248571, 24.428328, 30)
    assert all("（已移除）" not in json.dumps(r, ensure_ascii=False) for r in records)
    assert set(kinmen) == set(records[0])
    SHELTERS.check(kinmen)  # Kinmen is inside Taiwan's box


def test_rows_and_table(shelters):
    received = datetime(2025, 9, 24, tzinfo=timezone.utc)
    (name, values), = SHELTERS.to_rows(shelters[0], received)
    table = SHELTERS.tables[0]
    row = dict(zip(table.columns, values))
    assert name == "shelter" and len(values) == len(table.columns)
    assert row["time"] == received and row["disaster_types"] == ["震災"]
    assert (table.key, table.mode) == (("shelter_id",), "latest")


def test_list_schema_describes_each_row(csv_rows):
    validator = jsonschema.Draft202012Validator(LIST_SCHEMA)
    header = csv_rows[0]
    for row in csv_rows[1:]:
        validator.validate(dict(zip(header, row)))
    assert not validator.is_valid({**dict(zip(header, csv_rows[1])), "室內": "Y"})


def test_live_check(shelters):
    for s in shelters:
        SHELTERS.check(s)  # the coord_check problems are inside Taichung's neighbourhood
    with pytest.raises(FeedError, match="outside Taiwan"):
        SHELTERS.check({**shelters[0], "lat": 26.87})   # as in some national rows
    with pytest.raises(FeedError, match="implausible"):
        SHELTERS.check({**shelters[0], "capacity": 5_000_000})


def _edit(csv_rows, line: int, column: str, value: str) -> bytes:
    rows = copy.deepcopy(csv_rows)
    rows[line][rows[0].index(column)] = value
    return to_csv(rows).encode()


@pytest.mark.parametrize("column, value, words", [
    ("室內", "Y", "室內 must be 是 or 否"),
    ("預計收容人數", "約200", "預計收容人數"),
    ("經度", "120.6.1", "經度"),
    ("緯度", "95", "緯度"),
    ("序號", "", "序號"),
    ("序號", "57", "序號 57 appears twice"),   # the first row's id, again on line 3
    ("避難收容處所名稱", " ", "名稱 is empty"),
])
def test_bad_cells_refused_with_line(csv_rows, column, value, words):
    with pytest.raises(FeedError) as err:
        parse_shelter_list(_edit(csv_rows, 2, column, value))
    assert err.value.stage == "validate"
    assert words in err.value.reason and "line 3" in err.value.reason


def test_bad_files_refused(csv_rows):
    cases = [
        (b"", "validate", "empty"),
        (to_csv([[c for c in csv_rows[0] if c != "緯度"]]).encode(), "validate", "missing columns 緯度"),
        (to_csv([csv_rows[0], csv_rows[1][:-1]]).encode(), "validate", "fields"),
        (to_csv([csv_rows[0], csv_rows[0]]).encode(), "validate", "序號"),
        (SHELTER_CSV.read_bytes().replace(b",", b"\x00", 1), "decode", "NUL"),
        (b"\x81\xff\xfe\x00", "decode", "NUL"),
        (b"\xff\xfe\xfa", "decode", "neither UTF-8 nor Big5"),
    ]
    for payload, stage, words in cases:
        with pytest.raises(FeedError) as err:
            parse_shelter_list(payload)
        assert (err.value.stage, words in err.value.reason) == (stage, True), err.value


# --- occupancy messages ----------------------------------------------------------------------

OPEN = {"shelter_id": "57", "time": "2025-09-24T14:00:00+08:00", "occupancy": 120, "status": "open"}
GOOD = [OPEN, [OPEN, {**OPEN, "shelter_id": "59", "status": "full", "occupancy": 80}],
        {**OPEN, "status": "closed", "occupancy": 0}, {**OPEN, "time": "2025-09-24T06:00:00Z"}]
BAD = [
    ({**OPEN, "status": "closed"}, "closed but occupancy 120"),
    ({**OPEN, "status": "half"}, "status"),
    ({**OPEN, "occupancy": -1}, "occupancy"),
    ({**OPEN, "occupancy": 12.5}, "occupancy"),
    ({**OPEN, "shelter_id": 57}, "shelter_id"),
    ({**OPEN, "time": "2025-09-24 14:00"}, "time"),
    ({**OPEN, "time": "2025-09-24T14:00:00"}, "timezone"),
    ({k: v for k, v in OPEN.items() if k != "occupancy"}, "occupancy"),
    ({**OPEN, "capacity": 7500}, "capacity"),
]


def encode(message) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_status_records_and_rows():
    rec, = parse_shelter_status(encode(OPEN))
    assert rec == {"shelter_id": "57", "time": "2025-09-24T14:00:00+08:00", "occupancy": 120, "status": "open"}
    rows = list(SHELTER_STATUS_FEED.to_rows(rec, datetime.now(timezone.utc)))
    assert [n for n, _ in rows] == ["shelter_status", "shelter_status_current"]
    assert rows[0][1] == (datetime(2025, 9, 24, 6, tzinfo=timezone.utc), "57", 120, "open")


@pytest.mark.parametrize("message, words", BAD)
def test_bad_status_refused_by_parse_and_schema(message, words):
    with pytest.raises(FeedError) as err:
        parse_shelter_status(encode(message))
    assert err.value.stage == "validate" and words in err.value.reason
    assert not STATUS_VALIDATOR.is_valid(message)


@pytest.mark.parametrize("message", GOOD)
def test_status_schema_accepts_what_parse_accepts(message):
    assert parse_shelter_status(encode(message))
    STATUS_VALIDATOR.validate(message)


def test_status_live_check():
    now = datetime.now(timezone.utc)
    rec, = parse_shelter_status(encode({**OPEN, "time": now.isoformat()}))
    SHELTER_STATUS_FEED.check(rec)
    with pytest.raises(FeedError, match="older than"):
        SHELTER_STATUS_FEED.check({**rec, "time": (now - timedelta(days=15)).isoformat()})


# --- properties ------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_feed_error(payload):
    for parse in (parse_shelter_list, parse_shelter_status):
        try:
            parse(payload)
        except FeedError as exc:
            assert exc.stage in ("decode", "validate")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_csv_only_feed_error(data):
    body = bytearray(SHELTER_CSV.read_bytes()[:3000])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        if data.draw(st.booleans()):
            body[at] = data.draw(st.integers(0, 255))
        else:
            del body[at:at + data.draw(st.integers(1, 40))]
    try:
        records = parse_shelter_list(bytes(body))
    except FeedError as exc:
        assert exc.stage in ("decode", "validate")
    else:
        assert all(r["shelter_id"] and r["name"] for r in records)


status_values = st.none() | st.booleans() | st.integers(-5, 200_000) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=10) | st.sampled_from(["open", "closed", "full", "2025-09-24T14:00:00+08:00", "2025-02-30T14:00:00Z"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*OPEN, "extra"]), status_values, max_size=3))
def test_status_parse_and_schema_agree(changes):
    message = {**OPEN, **changes}
    try:
        parse_shelter_status(encode(message))
    except FeedError as exc:
        if STATUS_VALIDATOR.is_valid(message):
            assert "Invalid RFC3339" in exc.reason, exc.reason  # impossible dates: parse only
    else:
        STATUS_VALIDATOR.validate(message)
