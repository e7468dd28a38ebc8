"""Evaluation: the plan's own mid-year table, year handling, as-of selection, the score."""

import json
from datetime import date
from fractions import Fraction

import pytest

from ioc.kpi import (
    STATUSES,
    KpiError,
    MeasurementError,
    YearError,
    evaluate,
    evaluate_file,
    evaluate_projects,
    load_definitions,
    parse_measurement_lines,
    parse_project_lines,
)

DEFS = load_definitions()

# Part 3 of the plan: the raw facts of 30 June 2015 (year 104), as measurements.
# I7b: the plan reports 2,608,999 people covered = 97.17%, which implies a base of about
# 2,684,980 (the operators' base). The MOI household-registration population of Taichung,
# 2,725,497, would give 95.73% instead: the plan's figure is kept.
SEED_2015 = [
    {"indicator": "I2", "as_of": "2015-06-30", "count": 2},
    {"indicator": "I3", "as_of": "2015-04-21", "numerator": 16, "denominator": 20},
    {"indicator": "I4", "as_of": "2015-06-30", "numerator": 2504, "denominator": 2722},
    {"indicator": "I5", "as_of": "2015-06-30", "count": 0, "note": "3 works eligible, entry in August"},
    {"indicator": "I6", "as_of": "2015-06-30",
     "parts": {"reports": [6, 12], "compilations": [2, 4], "training": [1, 1], "evaluation": [0, 1]}},
    {"indicator": "I7a", "as_of": "2015-06-30",
     "parts": {"phase1_planning": [1, 2], "ibm_challenge": [1, 2], "phase2_budget": [1, 2]}},
    {"indicator": "I7b", "as_of": "2015-03-31", "numerator": 2608999, "denominator": 2684980},
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def by_id(result):
    return {t["id"]: t for t in result["indicators"]}


@pytest.fixture()
def seed_file(tmp_path):
    return write_jsonl(tmp_path / "seed.jsonl", SEED_2015)


def test_the_plans_table_of_30_june_2015(seed_file):
    result = evaluate_file(seed_file, 2015, "2015-06-30")
    tiles = by_id(result)
    assert list(tiles) == ["I1", "I2", "I3", "I4", "I5", "I6", "I7a", "I7b", "I7c"]
    assert result["year"] == 2015 and result["as_of"] == "2015-06-30"

    assert tiles["I3"]["value"] == 80.0 and tiles["I3"]["target"] == 50
    assert round(tiles["I4"]["value"], 2) == 91.99
    assert round(tiles["I7b"]["value"], 2) == 97.17
    assert round(100 * 2608999 / 2725497, 2) == 95.73  # the MOI population: why the plan's base is kept
    assert tiles["I2"]["value"] == 2 and tiles["I5"]["value"] == 0
    # I6: mean of 6/12, 2/4, 1/1 and 0/1 = (0.5 + 0.5 + 1 + 0) / 4
    assert tiles["I6"]["value"] == 50.0
    assert tiles["I7a"]["value"] == 50.0  # each item reported at 50%
    assert tiles["I1"]["value"] is None and tiles["I7c"]["value"] is None

    status = {i: t["status"] for i, t in tiles.items()}
    assert status == {
        "I1": "no_data",   # call for papers open until 09-30, no award yet
        "I2": "on_pace",   # February and May surveys held
        "I3": "met",
        "I4": "met",
        "I5": "on_pace",   # entry due in August
        "I6": "on_pace",   # 6 reports, 2 compilations, training held, evaluation from October
        "I7a": "on_pace",  # half of each item due by the end of June
        "I7b": "met",
        "I7c": "no_data",  # 85 items due by December, no count yet
    }
    assert tiles["I3"]["weight"] == 8  # I3 weighed 8% in year 104
    assert tiles["I6"]["parts"]["reports"]["expected"] == 6.0
    assert tiles["I6"]["parts"]["compilations"]["expected"] == 2.0
    assert tiles["I2"]["expected"] == 2.0 and tiles["I5"]["expected"] == 0.0


def test_seed_i7c_count_zero_is_on_pace_before_august():
    ms = parse_measurement_lines([json.dumps(r) for r in SEED_2015] + ['{"indicator": "I7c", "as_of": "2015-06-30", "count": 0}'])
    assert by_id(evaluate(ms, 2015, "2015-06-30"))["I7c"]["status"] == "on_pace"
    assert by_id(evaluate(ms, 2015, "2015-09-30"))["I7c"]["status"] == "behind"  # the line started 08-01


def test_the_plans_table_gives_a_score_by_the_stated_formula(seed_file):
    result = evaluate_file(seed_file, 2015, "2015-06-30")
    tiles = result["indicators"]
    earned = sum(t["weight"] * min(t["attainment"], 1) for t in tiles if t["attainment"] is not None)
    assert result["weight_total"] == 68 == sum(t["weight"] for t in tiles)
    assert result["score"] == pytest.approx(100 * earned / 68)
    measured = sum(t["weight"] for t in tiles if t["status"] != "no_data")
    assert result["weight_measured"] == measured == 56
    assert result["score_measured"] == pytest.approx(100 * earned / measured)
    # met ratios contribute their full weight; I2 at 2 of 4 contributes half of 7
    assert by_id(result)["I3"]["contribution"] == 8 and by_id(result)["I2"]["contribution"] == 3.5
    goals = {g["id"]: g for g in result["goals"]}
    assert goals["G7"]["weight"] == 25 and goals["G7"]["indicators"] == ["I7a", "I7b", "I7c"]
    assert goals["G7"]["contribution"] == pytest.approx(5 + 10 + 0)


def test_roc_year_and_gregorian_year_agree(seed_file):
    a = evaluate_file(seed_file, "roc104", "104/06/30")
    b = evaluate_file(seed_file, "2015", "2015-06-30")
    c = evaluate_file(seed_file, 2015, date(2015, 6, 30))
    assert a == b == c
    assert a["roc_year"] == 104


@pytest.mark.parametrize("year", ["104", "2014", "roc106", "twenty", "", 2015.0])
def test_years_that_cannot_be_evaluated(seed_file, year):
    with pytest.raises(YearError):
        evaluate_file(seed_file, year, "2015-06-30")


def test_bad_as_of(seed_file):
    with pytest.raises(KpiError, match="as-of: "):
        evaluate_file(seed_file, 2015, "2015-06-31")


def test_as_of_defaults_to_the_year_end_or_today(seed_file):
    assert evaluate_file(seed_file, 2015)["as_of"] == "2015-12-31"
    assert evaluate_file(seed_file, 2015, today=date(2015, 7, 15))["as_of"] == "2015-07-15"


def test_latest_measurement_at_or_before_as_of_counts(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [
        {"indicator": "I2", "as_of": "2015-03-01", "count": 1},
        {"indicator": "I2", "as_of": "2015-09-01", "count": 3},
        {"indicator": "I2", "as_of": "2015-06-01", "count": 2},
        {"indicator": "I2", "as_of": "2016-02-29", "count": 1},
        {"indicator": "I2", "as_of": "2014-12-31", "count": 4},
        {"indicator": "I4", "as_of": "2015-06-30", "numerator": 80, "denominator": 100},
        {"indicator": "I4", "as_of": "2015-06-30", "numerator": 90, "denominator": 100},
    ])
    tiles = by_id(evaluate_file(path, 2015, "2015-06-30"))
    assert tiles["I2"]["value"] == 2 and tiles["I2"]["measured_as_of"] == "2015-06-01"
    assert tiles["I4"]["value"] == 90.0  # same date: the later line wins
    assert by_id(evaluate_file(path, 2015, "2015-12-31"))["I2"]["value"] == 3
    assert by_id(evaluate_file(path, 2015, "2015-02-28"))["I2"]["status"] == "no_data"
    # the 2016 and 2014 lines count only for their own years
    assert by_id(evaluate_file(path, 2016, "2016-12-31"))["I2"]["value"] == 1
    assert by_id(evaluate_file(path, 2016, "2016-02-28"))["I2"]["status"] == "no_data"


def test_recorded_at_breaks_ties_between_equal_dates():
    ms = parse_measurement_lines([
        '{"indicator": "I3", "as_of": "2016-04-30", "numerator": 9, "denominator": 11, "recorded_at": "2016-05-02T10:00:00+08:00"}',
        '{"indicator": "I3", "as_of": "2016-04-30", "numerator": 7, "denominator": 11, "recorded_at": "2016-05-01T10:00:00+08:00"}',
    ])
    assert by_id(evaluate(ms, 2016, "2016-06-30"))["I3"]["value"] == pytest.approx(900 / 11)


def test_both_years_are_evaluated_with_their_own_targets_and_weights(tmp_path):
    # the same facts dated in each year: I4 at 84% meets 83 (2015) but not 85 (2016)
    records = []
    for year in (2015, 2016):
        records += [
            {"indicator": "I4", "as_of": f"{year}-06-30", "numerator": 84, "denominator": 100},
            {"indicator": "I7b", "as_of": f"{year}-06-30", "numerator": 75, "denominator": 100},
            {"indicator": "I7c", "as_of": f"{year}-12-31", "count": 88},
        ]
    path = write_jsonl(tmp_path / "both.jsonl", records)
    y15, y16 = by_id(evaluate_file(path, 2015)), by_id(evaluate_file(path, 2016))
    assert (y15["I4"]["status"], y16["I4"]["status"]) == ("met", "behind")
    assert (y15["I7b"]["target"], y16["I7b"]["target"]) == (70, 80)
    assert (y15["I7b"]["status"], y16["I7b"]["status"]) == ("met", "behind")
    assert (y15["I7c"]["status"], y16["I7c"]["status"]) == ("met", "behind")  # 88 vs 85 and 90
    assert (y15["I3"]["weight"], y16["I3"]["weight"]) == (8, 10)
    assert evaluate_file(path, 2016)["weight_total"] == 70


def test_score_arithmetic_all_met_is_100_and_none_is_0(tmp_path):
    everything = [
        {"indicator": "I1", "as_of": "2016-12-31", "numerator": 3, "denominator": 4},
        {"indicator": "I2", "as_of": "2016-12-31", "count": 4},
        {"indicator": "I3", "as_of": "2016-12-31", "numerator": 10, "denominator": 20},
        {"indicator": "I4", "as_of": "2016-12-31", "numerator": 17, "denominator": 20},
        {"indicator": "I5", "as_of": "2016-12-31", "count": 2},
        {"indicator": "I6", "as_of": "2016-12-31", "parts": {"reports": [12, 12], "compilations": [4, 4], "training": [1, 1], "evaluation": [1, 1]}},
        {"indicator": "I7a", "as_of": "2016-12-31", "parts": {"phase2": [3, 3]}},
        {"indicator": "I7b", "as_of": "2016-12-31", "numerator": 80, "denominator": 100},
        {"indicator": "I7c", "as_of": "2016-12-31", "count": 90},
    ]
    result = evaluate_file(write_jsonl(tmp_path / "all.jsonl", everything), "roc105")
    assert {t["status"] for t in result["indicators"]} == {"met"}  # 17/20 meets 85% exactly
    assert result["score"] == 100.0 and result["score_measured"] == 100.0
    assert by_id(result)["I5"]["attainment"] == 2.0  # raw for display, capped in the score
    empty = evaluate_file(write_jsonl(tmp_path / "none.jsonl", []), 2016)
    assert empty["score"] == 0.0 and empty["score_measured"] is None
    assert {t["status"] for t in empty["indicators"]} == {"no_data"}


def test_score_with_one_indicator_short(tmp_path):
    # I7b at 60% of an 80% target: attainment 3/4 on a weight of 10, everything else absent
    path = write_jsonl(tmp_path / "one.jsonl", [{"indicator": "I7b", "as_of": "2016-06-30", "numerator": 60, "denominator": 100}])
    result = evaluate_file(path, 2016, "2016-06-30")
    tile = by_id(result)["I7b"]
    assert (tile["attainment"], tile["contribution"], tile["status"]) == (0.75, 7.5, "behind")
    assert result["score"] == pytest.approx(100 * 7.5 / 70)
    assert result["score_measured"] == pytest.approx(75.0)


def test_counts_and_parts_fall_behind_their_pace(tmp_path):
    path = write_jsonl(tmp_path / "late.jsonl", [
        {"indicator": "I2", "as_of": "2016-06-30", "count": 1},
        {"indicator": "I6", "as_of": "2016-06-30", "parts": {"reports": [5, 12], "compilations": [2, 4], "training": [1, 1], "evaluation": [1, 1]}},
        {"indicator": "I7a", "as_of": "2016-06-30", "parts": {"phase2": [1, 2], "platform": [1, 4]}},
        {"indicator": "I5", "as_of": "2016-09-01", "count": 0},
    ])
    tiles = by_id(evaluate_file(path, 2016, "2016-09-01"))
    assert tiles["I2"]["status"] == "behind"  # 3 surveys due by the end of August
    assert tiles["I6"]["status"] == "behind"  # 5 reports where 8 were due, whatever else is ahead
    assert tiles["I7a"]["status"] == "behind"  # platform at 25% on a straight line at ~67%
    assert tiles["I5"]["status"] == "behind"  # the August entry is missing
    early = by_id(evaluate_file(path, 2016, "2016-06-30"))
    assert early["I6"]["status"] == "behind"  # 5 of 6 reports due by June
    assert early["I7a"]["status"] == "behind"


def test_zero_over_zero_is_no_data(tmp_path):
    path = write_jsonl(tmp_path / "i1.jsonl", [{"indicator": "I1", "as_of": "2015-06-30", "numerator": 0, "denominator": 0}])
    tile = by_id(evaluate_file(path, 2015, "2015-06-30"))["I1"]
    assert (tile["value"], tile["status"], tile["attainment"]) == (None, "no_data", None)
    assert tile["measured_as_of"] == "2015-06-30"


def test_invalid_file_lists_every_problem(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"indicator": "I3", "as_of": "2015-06-30", "count": 2}\n'
        '{"indicator": "I2", "as_of": "2015-06-30", "count": -2}\n', encoding="utf-8")
    with pytest.raises(MeasurementError) as caught:
        evaluate_file(path, 2015)
    assert [str(p) for p in caught.value.problems] == [
        "line 1: I3 is measured as numerator and denominator, not count",
        "line 1: I3 needs numerator and denominator: numerator and denominator missing",
        "line 2: count must not be negative, got -2",
    ]
    assert isinstance(caught.value, KpiError)


def test_output_is_json_and_complete(seed_file):
    result = evaluate_file(seed_file, 2016)
    again = json.loads(json.dumps(result, ensure_ascii=False, allow_nan=False))
    assert again == result
    for tile in result["indicators"]:
        assert {"id", "value", "target", "unit", "weight", "attainment", "status"} <= tile.keys()
        assert tile["status"] in STATUSES
    assert all(t["status"] == "no_data" for t in result["indicators"])  # the seed is all 2015


def test_special_projects_on_a_straight_line():
    ms = parse_project_lines([
        '{"project": "road_paving", "as_of": "2016-12-31", "value": 200}',
        '{"project": "road_paving", "as_of": "2015-12-31", "value": 130}',
        '{"project": "tree_planting", "as_of": "2016-12-31", "value": 100000}',
        '{"project": "shuinan", "as_of": "2016-12-31", "value": 40}',
    ])
    rows = {p["id"]: p for p in evaluate_projects(ms, "2016-12-31")}
    # 500 km over 2015-2018: 2 of 4 years = 731 of 1461 days -> 250.17 km expected
    assert rows["road_paving"]["expected"] == pytest.approx(500 * 731 / 1461)
    assert rows["road_paving"]["status"] == "behind"
    assert rows["tree_planting"]["status"] == "behind"  # 100,000 of ~250,000 due
    assert rows["shuinan"]["status"] == "no_target" and rows["heping"]["status"] == "no_data"
    early = {p["id"]: p for p in evaluate_projects(ms, "2015-12-31")}
    assert early["road_paving"]["value"] == 130 and early["road_paving"]["status"] == "on_pace"
