"""CWA feeds, shared parts: special values, URLs, envelopes, registry, and property tests that
every parser answers anything with records or a FeedError, never another exception."""

from __future__ import annotations

import copy
import importlib
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ingest.feeds import FeedError, all_feeds
from ingest.feeds import _cwa

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cwa"
CWA_FEEDS = {
    "cwa-stations": ["O-A0001-001_taichung_2025-03-09.json", "O-A0003-001_5stations_2025-03-09.json"],
    "cwa-rain": ["O-A0002-001_legacy_cwbopendata_taichung_2022-03-10.json"],
    "cwa-typhoon": ["W-C0034-005_typhoon_RAGASA_2025-09-24.json"],
    "cwa-quake": ["E-A0015-001_3reports_2025-09_11.json"],
}
TOPICS = {"cwa-stations": "ioc/v1/weather/stations", "cwa-rain": "ioc/v1/weather/rain",
          "cwa-typhoon": "ioc/v1/disaster/typhoon", "cwa-quake": "ioc/v1/disaster/quake"}


# --- special values: one table, each marker to what it means ------------------------------------

@pytest.mark.parametrize("raw, kind, expected", [
    (-99, "temperature", (None, "missing")),
    (-99.0, "pressure", (None, "missing")),
    ("-99", "humidity", (None, "missing")),
    (-990, "precipitation", (None, "missing")),  # O-A0003-001 Now.Precipitation, meaning undocumented
    ("-999.00", "precipitation", (None, "missing")),  # legacy latest_2days at 烏石坑
    ("-998.00", "precipitation", (0.0, "no_rain_6h")),  # legacy, windows <= 6 h of dry stations
    (-98, "precipitation", (0.0, "no_rain_6h")),
    ("T", "precipitation", (0.0, "trace")),
    (-9998, "precipitation", (0.0, "trace")),
    ("X", "wind_speed", (None, "fault")),
    (-9991, "temperature", (None, "fault")),
    (-9996, "precipitation", (None, "accumulated_later")),
    (-9999, "precipitation", (None, "not_observed")),
    (990, "direction", (None, "variable")),
    (150, "humidity", (None, "out_of_range")),
    (-5.0, "temperature", (-5.0, None)),  # 玉山 in winter: a real negative reading
    ("12.50", "precipitation", (12.5, None)),
    (0, "precipitation", (0.0, None)),
])
def test_special_values_map_to_their_meaning(raw, kind, expected):
    assert _cwa.clean_value(raw, kind, field="x") == expected


def test_markers_are_never_stored_as_readings():
    for raw in (-99, -98, -990, -998, -999, -9991, -9996, -9997, -9998, -9999):
        value, flag = _cwa.clean_value(raw, "precipitation", field="x")
        assert value in (None, 0.0) and flag is not None


@pytest.mark.parametrize("raw", ["abc", "", [1], {"a": 1}, True, "NaN", "inf"])
def test_a_reading_that_is_no_number_nor_marker_is_refused_or_missing(raw):
    try:
        value, flag = _cwa.clean_value(raw, "temperature", field="AirTemperature")
    except FeedError as exc:
        assert exc.stage == "validate" and "AirTemperature" in exc.reason
    else:
        assert value is None and flag == "missing"  # "" is CWA's empty value


def test_every_flag_has_zh_and_en_meaning():
    for flag, (zh, en, stored) in _cwa.FLAG_MEANINGS.items():
        assert zh and en and stored in (None, 0.0), flag


# --- URLs ---------------------------------------------------------------------------------------

def test_dataset_url_builds_the_datastore_query():
    url = _cwa.dataset_url("O-A0001-001", "CWA-KEY-1", StationId=["C0F9M0", "467490"], limit=100)
    assert url == ("https://opendata.cwa.gov.tw/api/v1/rest/datastore/O-A0001-001?Authorization=CWA-KEY-1"
                   "&format=JSON&StationId=C0F9M0%2C467490&limit=100")


def test_file_url_points_at_the_file_api():
    assert _cwa.file_url("W-C0034-005", "k") == \
        "https://opendata.cwa.gov.tw/fileapi/v1/opendataapi/W-C0034-005?Authorization=k&format=JSON"


@pytest.mark.parametrize("dataset, key", [("O-A0001", "k"), ("../etc", "k"), ("O-A0001-001", "")])
def test_dataset_url_refuses_bad_ids_and_missing_keys(dataset, key):
    with pytest.raises(ValueError):
        _cwa.dataset_url(dataset, key)


# --- registry, schemas, rows --------------------------------------------------------------------

def test_the_four_cwa_feeds_are_registered_with_topic_cadence_and_schema():
    feeds = all_feeds()
    for name, topic in TOPICS.items():
        feed = feeds[name]
        assert feed.topics == (topic,)
        assert feed.cadence.total_seconds() > 0
        assert (ROOT / "schemas" / "messages" / feed.schema).is_file()
        assert all(_cwa._DATASET_ID.match(d) for d in feed.extra["cwa_datasets"])
        assert feed.extra["cwa_api"] in ("datastore", "file")
        json.dumps(feed.extra)  # plain data, printable by the CLI
        module = importlib.import_module(f"ingest.feeds.{name.replace('-', '_')}")
        assert module.dataset_url is _cwa.dataset_url and module.DATASETS == feed.extra["cwa_datasets"]


@pytest.mark.parametrize("name, fixture", [(n, f) for n, fs in CWA_FEEDS.items() for f in fs])
def test_records_match_their_json_schema(name, fixture):
    feed = all_feeds()[name]
    schema = json.loads((ROOT / "schemas" / "messages" / feed.schema).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    records = feed.parse((FIXTURES / fixture).read_bytes())
    assert records
    for rec in records:
        errors = list(validator.iter_errors(json.loads(json.dumps(rec, allow_nan=False))))
        assert not errors, errors[0].message


@pytest.mark.parametrize("name, fixture", [(n, f) for n, fs in CWA_FEEDS.items() for f in fs])
def test_rows_fit_the_declared_tables(name, fixture):
    feed = all_feeds()[name]
    tables = {t.name: t for t in feed.tables}
    received = datetime.fromisoformat("2025-11-12T05:00:00+08:00")
    seen = set()
    for rec in feed.parse((FIXTURES / fixture).read_bytes()):
        for table, row in feed.to_rows(rec, received):
            spec = tables[table]
            assert len(row) == len(spec.columns)
            values = dict(zip(spec.columns, row))
            assert all(values[k] is not None for k in spec.key), (table, spec.key)
            assert isinstance(values[spec.time_column], datetime) and values[spec.time_column].tzinfo
            seen.add(table)
    assert seen == set(tables)


def test_sql_migration_declares_every_cwa_table_with_its_key():
    sql = (ROOT / "schemas" / "sql" / "030_cwa.sql").read_text(encoding="utf-8")
    for name in CWA_FEEDS:
        for table in all_feeds()[name].tables:
            assert f"CREATE TABLE IF NOT EXISTS {table.name} (" in sql
            block = sql.split(f"CREATE TABLE IF NOT EXISTS {table.name} (")[1].split(");")[0]
            for column in table.columns:
                assert f"\n    {column} " in block, (table.name, column)
            if len(table.key) == 1:
                assert re.search(rf"\n    {table.key[0]}\s+\w+ PRIMARY KEY", block), table.name
            else:
                key = ", ".join(table.key)
                assert f"UNIQUE ({key})" in block or f"PRIMARY KEY ({key})" in block, table.name
            if table.mode == "append":
                assert f"create_hypertable('{table.name}', 'time'" in sql


# --- envelopes ----------------------------------------------------------------------------------

def test_success_false_is_refused_with_cwa_message():
    with pytest.raises(FeedError) as exc:
        _cwa.load(b'{"success": "false", "message": "Resource not found"}')
    assert exc.value.stage == "validate" and "Resource not found" in exc.value.reason


@pytest.mark.parametrize("name", list(CWA_FEEDS))
def test_invalid_json_is_a_decode_error(name):
    with pytest.raises(FeedError) as exc:
        all_feeds()[name].parse(b'{"records": {"Station": [')
    assert exc.value.stage == "decode" and "JSON" in exc.value.reason


@pytest.mark.parametrize("name, payload, words", [
    ("cwa-stations", b'{"records": {"location": []}}', "records.Station missing"),
    ("cwa-rain", b'{"records": {"Earthquake": []}}', "records.Station missing"),
    ("cwa-quake", b'{"records": {"Station": []}}', "records.Earthquake missing"),
    ("cwa-typhoon", b'{"cwaopendata": {"dataset": {"Station": []}}}', "tropicalCyclones missing"),
    ("cwa-stations", b'"just text"', "expected a CWA document"),
    ("cwa-quake", b'{"hello": 1}', "not a CWA answer"),
    ("cwa-typhoon", b'42', "not a CWA typhoon file"),
])
def test_wrong_shapes_are_refused_with_a_clear_reason(name, payload, words):
    with pytest.raises(FeedError) as exc:
        all_feeds()[name].parse(payload)
    assert exc.value.stage == "validate" and words in exc.value.reason


@pytest.mark.parametrize("name, fixture", [(n, fs[0]) for n, fs in CWA_FEEDS.items()])
def test_utf8_bom_is_accepted(name, fixture):
    feed = all_feeds()[name]
    body = (FIXTURES / fixture).read_bytes()
    assert not body.startswith(b"\xef\xbb\xbf")
    assert feed.parse(b"\xef\xbb\xbf" + body) == feed.parse(body)


# --- property tests -----------------------------------------------------------------------------

def _assert_records_or_feed_error(feed, payload: bytes):
    try:
        records = feed.parse(payload)
    except FeedError as exc:
        assert exc.stage in ("decode", "validate") and exc.reason
        return
    assert isinstance(records, list)
    json.dumps(records, allow_nan=False)  # plain JSON, no NaN/inf smuggled through
    for rec in records:
        for _table, _row in feed.to_rows(rec, datetime.fromisoformat("2025-01-01T00:00:00+08:00")):
            pass
        try:
            feed.check(rec)
        except FeedError:
            pass


@pytest.mark.parametrize("name", list(CWA_FEEDS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=400))
def test_arbitrary_bytes_give_records_or_feed_error(name, payload):
    _assert_records_or_feed_error(all_feeds()[name], payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.integers() | st.just(10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["-99", "-998.00", "T", "X", "", "2025-09-24T14:00:00+08:00", "1,2"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _trimmed(node):
    """The fixture with every list cut to its first 3 items: the same shapes, mutated faster."""
    if isinstance(node, dict):
        return {key: _trimmed(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_trimmed(value) for value in node[:3]]
    return node


_DOCS = {name: _trimmed(json.loads((FIXTURES / fs[0]).read_bytes().decode("utf-8-sig")))
         for name, fs in CWA_FEEDS.items()}


def _mutate(doc, path, action, value):
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = value
    return doc


@pytest.mark.parametrize("name", list(CWA_FEEDS))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents_give_records_or_feed_error(name, data):
    doc = copy.deepcopy(_DOCS[name])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = paths[data.draw(st.integers(0, len(paths) - 1))] if paths else ()
        action = data.draw(st.sampled_from(["replace", "delete"] if path else ["replace"]))
        doc = _mutate(doc, path, action, data.draw(json_values))
        if not isinstance(doc, (dict, list)):
            break
    _assert_records_or_feed_error(all_feeds()[name], json.dumps(doc, ensure_ascii=False).encode())
