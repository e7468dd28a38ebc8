"""Properties of validation and evaluation over generated input."""

import json
from datetime import date, timedelta
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.kpi import STATUSES, MeasurementError, evaluate, load_definitions, parse_measurement_lines, validate_measurement
from ioc.kpi.measurements import KPI_FIELDS
from ioc.kpi.rocdate import parse_date

DEFS = load_definitions()
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).resolve().parents[2] / "schemas" / "kpi_measurement.schema.json").read_text())
)
RANK = {"behind": 0, "on_pace": 1, "met": 2}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.integers(min_value=10**300)  | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# records built from the real field names, with values both right and wrong
field_values = st.one_of(
    json_values,
    st.sampled_from(["I1", "I2", "I3", "I6", "I7a", "I7c", "I9", "2015-06-30", "2016-02-29", "104/06/30", "roc104", "2015-13-01"]),
    st.integers(-3, 30),
    st.lists(st.integers(-1, 13), min_size=2, max_size=2).map(lambda p: {"reports": p, "compilations": [1, 4]}),
)
records = st.dictionaries(st.sampled_from([*KPI_FIELDS, "value", "extra"]), field_values, max_size=7)


def days_in(year):
    return st.integers(0, 364).map(lambda d: date(year, 1, 1) + timedelta(days=d))


@st.composite
def valid_records(draw, year=None):
    year = year or draw(st.sampled_from([2015, 2016]))
    iid = draw(st.sampled_from(list(DEFS.indicators)))
    ind = DEFS.indicators[iid]
    record = {"indicator": iid, "as_of": draw(days_in(year)).isoformat()}
    if ind.form == "ratio":
        den = draw(st.integers(0, 10**7))
        record.update(numerator=draw(st.integers(0, den)), denominator=den)
    elif ind.form == "count":
        record["count"] = draw(st.integers(0, 200))
    else:
        fixed = ind.years[year].parts
        names = list(fixed) if fixed else draw(st.lists(st.text(min_size=1, max_size=6).filter(str.strip), min_size=1, max_size=4, unique=True))
        parts = {}
        for name in names:
            planned = fixed[name].planned if fixed else draw(st.integers(1, 20))
            parts[name] = [draw(st.integers(0, planned)), planned]
        record["parts"] = parts
    return record


@FAST
@given(st.lists(json_values.map(json.dumps) | st.text(max_size=40), max_size=6))
def test_parsing_arbitrary_lines_never_crashes(lines):
    try:
        found = parse_measurement_lines(lines)
    except MeasurementError as exc:
        assert exc.problems and all(p.line is not None and p.message for p in exc.problems)
    else:
        assert all(m.indicator in DEFS.indicators for m in found)


@FAST
@given(records)
def test_validation_of_arbitrary_records_never_crashes_and_agrees_with_the_schema(record):
    try:
        validate_measurement(record)
    except MeasurementError as exc:
        assert all(p.message for p in exc.problems)
    else:
        SCHEMA.validate(record)  # what we accept, the published schema accepts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_records(), max_size=12), st.sampled_from([2015, 2016]), st.integers(-30, 400))
def test_statuses_only_from_the_set_and_score_bounded(raw, year, offset):
    as_of = date(year, 1, 1) + timedelta(days=offset)
    ms = parse_measurement_lines([json.dumps(r) for r in raw])
    result = evaluate(ms, year, as_of)
    assert len(result["indicators"]) == 9
    assert all(t["status"] in STATUSES for t in result["indicators"])
    assert 0 <= result["score"] <= 100
    for t in result["indicators"]:
        assert (t["value"] is None) == (t["status"] == "no_data") == (t["attainment"] is None)
        assert 0 <= t["contribution"] <= t["weight"]
    for r in raw:
        SCHEMA.validate(r)


@FAST
@given(st.sampled_from(list(DEFS.indicators)), st.data())
def test_attainment_and_status_are_monotone_in_value(iid, data):
    ind = DEFS.indicators[iid]
    year = data.draw(st.sampled_from([2015, 2016]))
    as_of = data.draw(days_in(year))
    low, high = sorted(data.draw(st.lists(st.integers(0, 100), min_size=2, max_size=2)))

    def measured(k):
        record = {"indicator": iid, "as_of": as_of.isoformat()}
        if ind.form == "ratio":
            record.update(numerator=k, denominator=100)
        elif ind.form == "count":
            record["count"] = k
        else:  # every part at k%
            fixed = ind.years[year].parts or {"item": None}
            record["parts"] = {n: [k * (p.planned if p else 1) / 100, p.planned if p else 1] for n, p in fixed.items()}
        tile = evaluate([validate_measurement(record)], year, as_of)["indicators"]
        return next(t for t in tile if t["id"] == iid)

    a, b = measured(low), measured(high)
    assert a["attainment"] <= b["attainment"]
    assert a["contribution"] <= b["contribution"]
    assert RANK[a["status"]] <= RANK[b["status"]]


@FAST
@given(st.dates(date(1912, 1, 1), date(2200, 12, 31)))
def test_roc_dates_round_trip(day):
    roc = day.year - 1911
    assert parse_date(f"{roc}/{day.month:02d}/{day.day:02d}") == day if roc >= 10 else True
    assert parse_date(f"民國{roc}年{day.month}月{day.day}日") == day if roc >= 10 else True
    assert parse_date(day.isoformat()) == day
