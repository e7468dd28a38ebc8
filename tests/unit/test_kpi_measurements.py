"""Measurement validation: every class of refusal, every problem reported with its line."""

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from ioc.kpi.measurements import (
    KPI_MEASUREMENT,
    PROJECT_MEASUREMENT,
    MeasurementError,
    parse_measurement_lines,
    parse_project_lines,
    read_measurements,
    to_project_row,
    to_row,
    validate_measurement,
    validate_project_measurement,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "kpi_measurement.schema.json").read_text())
I6_PARTS = {"reports": [6, 12], "compilations": [2, 4], "training": [1, 1], "evaluation": [0, 1]}
VALID = [
    {"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20},
    {"indicator": "I2", "as_of": "2015-06-30", "count": 2},
    {"indicator": "I6", "as_of": "2015-06-30", "parts": I6_PARTS},
    {"indicator": "I7a", "as_of": "2016-03-31", "parts": {"phase2": [1, 4], "platform": [0.5, 1]}},
    {"indicator": "I1", "as_of": "2015-06-30", "numerator": 0, "denominator": 0, "note": "no award yet"},
    {"indicator": "I7c", "as_of": "104/12/31", "count": 85.0, "year": "roc104", "source": "form",
     "entered_by": "rdec", "recorded_at": "2016-01-05T09:00:00+08:00"},
]


def problems_of(record):
    with pytest.raises(MeasurementError) as caught:
        validate_measurement(record)
    return [p.message for p in caught.value.problems]


@pytest.mark.parametrize("record", VALID)
def test_valid_measurements_pass_and_satisfy_the_schema(record):
    m = validate_measurement(record)
    assert m.indicator == record["indicator"]
    jsonschema.validate(record, SCHEMA)


def test_values_by_form():
    assert validate_measurement(VALID[0]).value == 80.0
    assert validate_measurement(VALID[1]).value == 2
    assert validate_measurement(VALID[2]).value == 50.0  # mean of 1/2, 1/2, 1, 0
    assert validate_measurement(VALID[4]).value is None  # 0/0: nothing to measure yet
    c = validate_measurement(VALID[5])
    assert (c.as_of, c.year, c.count) == (date(2015, 12, 31), 2015, 85)


def test_numerator_above_denominator():
    assert problems_of({"indicator": "I3", "as_of": "2015-06-30", "numerator": 21, "denominator": 20}) == [
        "numerator 21 is above its denominator 20"
    ]
    assert "numerator 1 is above its denominator 0" in problems_of(
        {"indicator": "I1", "as_of": "2015-06-30", "numerator": 1, "denominator": 0})


def test_unknown_indicator():
    (reason,) = problems_of({"indicator": "I9", "as_of": "2015-06-30", "count": 1})
    assert reason.startswith("unknown indicator 'I9' (known: I1, I2, I3")


def test_date_outside_the_year():
    assert problems_of({"indicator": "I2", "as_of": "2016-01-03", "count": 1, "year": 2015}) == [
        "as_of 2016-01-03 is outside the year 2015 (roc104)"
    ]
    assert problems_of({"indicator": "I2", "as_of": "2015-12-31", "count": 1, "year": "roc105"}) == [
        "as_of 2015-12-31 is outside the year 2016 (roc105)"
    ]


@pytest.mark.parametrize("as_of", ["2015-02-30", "2015-13-01", "yesterday", "", 20150630, None])
def test_bad_dates(as_of):
    (reason,) = problems_of({"indicator": "I2", "as_of": as_of, "count": 1})
    assert reason.startswith("as_of: ")


def test_missing_date():
    assert problems_of({"indicator": "I2", "count": 1}) == ["as_of is missing (a date such as 2015-06-30)"]


@pytest.mark.parametrize("record, reason", [
    ({"indicator": "I2", "as_of": "2015-06-30", "count": -1}, "count must not be negative, got -1"),
    ({"indicator": "I4", "as_of": "2015-06-30", "numerator": -5, "denominator": 10}, "numerator must not be negative, got -5"),
    ({"indicator": "I6", "as_of": "2015-06-30", "parts": {**I6_PARTS, "reports": [-1, 12]}}, "part 'reports' done must not be negative, got -1"),
])
def test_negative_values(record, reason):
    assert reason in problems_of(record)


@pytest.mark.parametrize("record, reason", [
    ({"indicator": "I3", "as_of": "2015-06-30", "count": 3},
     "I3 is measured as numerator and denominator, not count"),
    ({"indicator": "I2", "as_of": "2015-06-30", "numerator": 2, "denominator": 4},
     "I2 is measured as count, not numerator / denominator"),
    ({"indicator": "I4", "as_of": "2015-06-30", "parts": {"a": [1, 2]}},
     "I4 is measured as numerator and denominator, not parts"),
    ({"indicator": "I6", "as_of": "2015-06-30", "count": 6},
     "I6 is measured as parts, not count"),
    ({"indicator": "I3", "as_of": "2015-06-30", "numerator": 16},
     "I3 needs numerator and denominator: denominator missing"),
    ({"indicator": "I5", "as_of": "2015-06-30"}, "I5 needs count: count missing"),
])
def test_wrong_form_for_the_indicator(record, reason):
    assert reason in problems_of(record)


@pytest.mark.parametrize("record, reason", [
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 2.5}, "count must be a whole number, got 2.5"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": True}, "count must be a number, got a boolean"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": "2"}, "count must be a number, got the string '2'"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 10**16}, "count 10000000000000000 is implausibly large"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 10**400}, "count a 401-digit number is implausibly large"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 1e300}, "count 1e+300 is implausibly large"),
    ({"indicator": "I2", "as_of": "0001-01-01T00:00:00+14:00", "count": 1}, "as_of: 0001-01-01T00:00:00+14:00 is out of the calendar's range"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 1, "recorded_at": "0001-01-01T00:00:00"}, "recorded_at: 0001-01-01T00:00:00 is not a plausible time"),
    ({"indicator": "I2", "as_of": "2015-06-30", "cnt": 2, "comment": "typo"}, "I2 needs count: count missing"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 2, "note": 7}, "note must be a string, got the number 7"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 2, "source": "fax"}, "source must be one of mqtt, file, form, coverage, got 'fax'"),
    ({"indicator": "I2", "as_of": "2015-06-30", "count": 2, "recorded_at": "noon"}, "recorded_at: 'noon' is not an ISO 8601 time"),
    ({"indicator": 3, "as_of": "2015-06-30", "count": 2}, "indicator must be a string such as \"I3\", got the number 3"),
])
def test_other_bad_values(record, reason):
    assert any(p.startswith(reason) for p in problems_of(record)), problems_of(record)


def test_unknown_fields_are_ignored_and_known_ones_still_checked():
    extra = {"comment": "from the commission's sheet", "unit": "%", "sheet_row": 17, "nested": {"a": [1]}}
    m = validate_measurement({"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20, **extra})
    assert (m.indicator, m.value) == ("I3", 80.0)
    assert "comment" not in m.to_json()
    jsonschema.validate({"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20, **extra}, SCHEMA)
    (found,) = parse_measurement_lines([json.dumps({"indicator": "I2", "as_of": "2015-06-30", "count": 2, "x": None})])
    assert found.count == 2
    p = validate_project_measurement({"project": "road_paving", "as_of": "2015-06-30", "value": 40, "remark": "km"})
    assert p.value == 40
    assert problems_of({"indicator": "I2", "as_of": "2015-06-30", "count": 2, "source": "sheet", "comment": 1}) == [
        "source must be one of mqtt, file, form, coverage, got 'sheet'"]


def test_parts_rules():
    base = {"indicator": "I6", "as_of": "2015-06-30"}
    assert "I6 parts missing: evaluation" in problems_of({**base, "parts": {k: v for k, v in I6_PARTS.items() if k != "evaluation"}})
    assert any(p.startswith("I6 has no part(s) 'lectures'") for p in problems_of({**base, "parts": {**I6_PARTS, "lectures": [1, 1]}}))
    assert "I6 part 'reports': planned 10 differs from the plan's 12 for 2015" in problems_of({**base, "parts": {**I6_PARTS, "reports": [6, 10]}})
    assert "part 'reports' done 13 is above planned 12" in problems_of({**base, "parts": {**I6_PARTS, "reports": [13, 12]}})
    assert "part 'a' planned must be above 0" in problems_of({"indicator": "I7a", "as_of": "2016-01-31", "parts": {"a": [0, 0]}})
    assert "part 'a' must be [done, planned], got an array" in problems_of({"indicator": "I7a", "as_of": "2016-01-31", "parts": {"a": [1, 2, 3]}})
    assert "parts must be a non-empty object of name: [done, planned]" in problems_of({"indicator": "I7a", "as_of": "2016-01-31", "parts": {}})


def test_all_problems_of_one_record_are_listed():
    reasons = problems_of({"indicator": "I3", "as_of": "2015-06-31", "numerator": -1, "denominator": 20, "count": 2})
    assert len(reasons) == 3
    assert reasons[0].startswith("as_of: ")


# --- JSON lines ------------------------------------------------------------------------------


def test_every_error_of_a_file_with_its_line_number(tmp_path):
    lines = [
        '{"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20}',
        '{"indicator": "I3", "as_of": "2015-06-30", "numerator": 21, "denominator": 20}',
        "",
        '{"indicator": "I9", "as_of": "2015-06-30", "count": 1}',
        '{"indicator": "I2", "as_of": "2015-06-30", "count": 2',
        '{"indicator": "I2", "as_of": "2015-06-30", "count": NaN}',
        '{"indicator": "I2", "as_of": "2015-06-30", "count": 1, "count": 2}',
        '[1, 2]',
        '{"indicator": "I2", "as_of": "2015-06-30", "count": 2}',
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MeasurementError) as caught:
        read_measurements(path)
    err = caught.value
    assert [p.line for p in err.problems] == [2, 4, 5, 6, 7, 8]
    text = str(err)
    assert text.startswith(f"{path}: 6 problems in the measurements:")
    assert "line 2: numerator 21 is above its denominator 20" in text
    assert "line 5: not valid JSON" in text
    assert "line 6: not valid JSON: NaN is not a JSON number" in text
    assert "line 7: not valid JSON: the key 'count' appears twice" in text
    assert "line 8: expected a JSON object, got an array" in text


def test_blank_lines_bom_and_crlf_are_fine():
    text = '\ufeff{"indicator": "I2", "as_of": "2015-06-30", "count": 2}\r\n\r\n  \n{"indicator": "I5", "as_of": "2015-08-31", "count": 1}\r\n'
    found = parse_measurement_lines(text.split("\n"))
    assert [(m.indicator, m.line) for m in found] == [("I2", 1), ("I5", 4)]


def test_bytes_that_are_not_utf8():
    with pytest.raises(MeasurementError, match="line 2: not UTF-8 text"):
        parse_measurement_lines([b'{"indicator": "I2", "as_of": "2015-06-30", "count": 2}', b"\xff\xfe{}"])


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(MeasurementError, match="cannot read the file"):
        read_measurements(tmp_path / "nope.jsonl")


def test_empty_file_has_no_measurements(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert read_measurements(path) == []


def test_lines_of_other_years_are_validated_too():
    with pytest.raises(MeasurementError, match="line 1: count must not be negative"):
        parse_measurement_lines(['{"indicator": "I2", "as_of": "2014-06-30", "count": -2}'])
    (old,) = parse_measurement_lines(['{"indicator": "I6", "as_of": "2014-06-30", "parts": {"x": [1, 2]}}'])
    assert old.year == 2014  # no 2014 targets, so no 2014 part names to hold it to


# --- rows ------------------------------------------------------------------------------------


def test_rows_match_the_table_columns():
    received = datetime(2015, 7, 1, 8, tzinfo=timezone.utc)
    table, row = to_row(validate_measurement(VALID[2]), received, "file")
    assert table == KPI_MEASUREMENT.name
    named = dict(zip(KPI_MEASUREMENT.columns, row, strict=True))
    assert named["parts"] == I6_PARTS and named["value"] == 50.0 and named["count"] is None
    assert named["recorded_at"] == received and named["source"] == "file" and named["as_of"] == date(2015, 6, 30)
    _, own = to_row(validate_measurement(VALID[5]), received, "mqtt")
    named = dict(zip(KPI_MEASUREMENT.columns, own, strict=True))
    assert named["source"] == "form"  # the record's own source wins
    assert named["recorded_at"] == datetime(2016, 1, 5, 9, tzinfo=timezone(timedelta(hours=8)))
    assert set(KPI_MEASUREMENT.key) <= set(KPI_MEASUREMENT.columns)


def test_project_measurements_and_rows():
    m = validate_project_measurement({"project": "road_paving", "as_of": "2015-12-31", "value": 130.5})
    table, row = to_project_row(m, datetime(2016, 1, 1, tzinfo=timezone.utc), "form")
    named = dict(zip(PROJECT_MEASUREMENT.columns, row, strict=True))
    assert table == "project_measurement" and named["target"] == 500 and named["unit"] == "km"
    with pytest.raises(MeasurementError) as caught:
        parse_project_lines(['{"project": "moon_base", "as_of": "2015-12-31", "value": -1}'])
    assert [p.line for p in caught.value.problems] == [1, 1]
