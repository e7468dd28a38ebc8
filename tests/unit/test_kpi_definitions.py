"""The KPI definitions file: what the plan says, and the checks that keep the file honest."""

from datetime import date
from fractions import Fraction

import pytest
import yaml

from ioc.kpi.definitions import DEFAULT_PATH, DefinitionError, Pace, YearError, definitions_from_data, load_definitions

IDS = ["I1", "I2", "I3", "I4", "I5", "I6", "I7a", "I7b", "I7c"]


@pytest.fixture(scope="module")
def defs():
    return load_definitions()


@pytest.fixture()
def raw():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_nine_indicators_seven_goals_in_plan_order(defs):
    assert list(defs.indicators) == IDS
    assert list(defs.goals) == [f"G{i}" for i in range(1, 8)]
    assert defs.years == (2015, 2016)
    assert [ind.goal for ind in defs.indicators.values()] == ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G7", "G7"]


# Part 3 (year 104) and Part 1 (year 105) of the plan, read off the document.
TARGETS = {
    2015: {"I1": 75, "I2": 4, "I3": 50, "I4": 83, "I5": 1, "I6": 100, "I7a": 100, "I7b": 70, "I7c": 85},
    2016: {"I1": 75, "I2": 4, "I3": 50, "I4": 85, "I5": 1, "I6": 100, "I7a": 100, "I7b": 80, "I7c": 90},
}
WEIGHTS = {
    2015: {"I1": 7, "I2": 7, "I3": 8, "I4": 7, "I5": 7, "I6": 7, "I7a": 10, "I7b": 10, "I7c": 5},
    2016: {"I1": 7, "I2": 7, "I3": 10, "I4": 7, "I5": 7, "I6": 7, "I7a": 10, "I7b": 10, "I7c": 5},
}


@pytest.mark.parametrize("year", [2015, 2016])
def test_targets_and_weights_per_year(defs, year):
    assert {i: ind.years[year].target for i, ind in defs.indicators.items()} == TARGETS[year]
    assert {i: ind.years[year].weight for i, ind in defs.indicators.items()} == WEIGHTS[year]


def test_weights_cover_the_operational_goals_only(defs):
    assert sum(g.weights[2016] for g in defs.goals.values()) == 70
    assert sum(g.weights[2015] for g in defs.goals.values()) == 68
    assert defs.goals["G7"].weights[2016] == 25


def test_forms_kinds_bases_and_units(defs):
    forms = {i: ind.form for i, ind in defs.indicators.items()}
    assert [i for i, f in forms.items() if f == "ratio"] == ["I1", "I3", "I4", "I7b"]
    assert [i for i, f in forms.items() if f == "count"] == ["I2", "I5", "I7c"]
    assert [i for i, f in forms.items() if f == "parts"] == ["I6", "I7a"]
    assert defs.indicators["I7c"].kind == "derived"
    assert {i for i, ind in defs.indicators.items() if ind.basis == "documents"} == {"I6", "I7a"}
    assert all(ind.unit == "%" for ind in defs.indicators.values() if ind.form != "count")
    assert all(ind.name_zh and ind.name_en for ind in defs.indicators.values())


def test_i6_parts_are_the_plans_deliverables(defs):
    for year in (2015, 2016):
        parts = defs.indicators["I6"].years[year].parts
        assert {n: p.planned for n, p in parts.items()} == {"reports": 12, "compilations": 4, "training": 1, "evaluation": 1}
    assert defs.indicators["I7a"].years[2016].parts is None  # named by whoever reports


def test_special_projects(defs):
    p = defs.projects
    assert set(p) == {"shuinan", "culture_city", "social_housing", "road_paving", "tree_planting", "heping"}
    assert (p["road_paving"].target, p["road_paving"].unit) == (500, "km")
    assert (p["road_paving"].end - p["road_paving"].start).days + 1 == 4 * 365 + 1  # 4 years (2016 leap)
    assert p["tree_planting"].target == 1_000_000 and p["social_housing"].target == 10_000
    assert p["shuinan"].target is None and p["shuinan"].expected(date(2016, 1, 1)) is None
    assert p["road_paving"].expected(p["road_paving"].end) == 1
    assert p["road_paving"].expected(date(2014, 12, 31)) == 0


def test_unknown_year_is_refused(defs):
    with pytest.raises(YearError, match="2017.*defined: 2015 \\(roc104\\), 2016 \\(roc105\\)"):
        defs.indicators_for(2017)


# --- pace -------------------------------------------------------------------------------------


def test_due_months_pace_counts_ended_months():
    surveys = Pace(due_months=(2, 5, 8, 11))
    assert surveys.fraction(2015, date(2015, 2, 27)) == 0
    assert surveys.fraction(2015, date(2015, 2, 28)) == Fraction(1, 4)
    assert surveys.fraction(2016, date(2016, 2, 28)) == 0  # leap year: February ends on the 29th
    assert surveys.fraction(2016, date(2016, 2, 29)) == Fraction(1, 4)
    assert surveys.fraction(2015, date(2015, 6, 30)) == Fraction(2, 4)
    assert surveys.fraction(2015, date(2014, 12, 31)) == 0
    assert surveys.fraction(2015, date(2016, 3, 1)) == 1


def test_linear_pace_is_a_straight_line_days_included():
    items = Pace(linear=((8, 1), (12, 31)))
    assert items.fraction(2015, date(2015, 7, 31)) == 0
    assert items.fraction(2015, date(2015, 8, 1)) == Fraction(1, 153)
    assert items.fraction(2015, date(2015, 12, 31)) == 1
    year = Pace(linear=((1, 1), (12, 31)))
    assert year.fraction(2016, date(2016, 6, 30)) == Fraction(182, 366)


# --- the checks ------------------------------------------------------------------------------


def test_the_file_as_shipped_loads_from_its_data(raw):
    assert list(definitions_from_data(raw).indicators) == IDS


def test_weights_that_do_not_add_up_are_refused(raw):
    raw["indicators"][2]["years"][2016]["weight"] = 9
    with pytest.raises(DefinitionError, match="goal G3 2016: indicator weights add up to 9, the goal weighs 10"):
        definitions_from_data(raw)


def test_every_problem_is_listed(raw):
    raw["indicators"][0]["goal"] = "G9"
    raw["indicators"][1]["form"] = "parts"
    raw["indicators"][2]["years"][2015]["pace"] = {"due_months": [1, 4, 7, 10]}
    raw["indicators"][3]["years"][2016]["target"] = -1
    with pytest.raises(DefinitionError) as caught:
        definitions_from_data(raw)
    text = str(caught.value)
    assert "indicator I1: goal G9 is not among the goals" in text
    assert "indicator I2: a count indicator cannot take the parts form" in text
    assert "indicator I3 year 2015: a ratio carries no pace" in text
    assert "indicator I4 year 2016 target: must be positive, got -1" in text
    assert len(caught.value.problems) >= 4


def test_a_count_without_pace_and_a_bad_pace_are_refused(raw):
    del raw["indicators"][1]["years"][2016]["pace"]
    raw["indicators"][4]["years"][2015]["pace"] = {"due_months": [13]}
    with pytest.raises(DefinitionError) as caught:
        definitions_from_data(raw)
    assert any("I2 year 2016: a count needs a pace" in p for p in caught.value.problems)
    assert any("I5 year 2015: due_months must be" in p for p in caught.value.problems)


def test_adding_a_year_is_a_data_change(raw):
    for goal in raw["goals"]:
        goal["weight"][2017] = goal["weight"][2016]
    for ind in raw["indicators"]:
        ind["years"][2017] = ind["years"][2016]
    defs = definitions_from_data(raw)
    assert defs.years == (2015, 2016, 2017)
    assert len(defs.indicators_for(2017)) == 9


def test_adding_an_indicator_is_a_data_change(raw):
    extra = dict(raw["indicators"][3], id="I8", goal="G8")
    raw["indicators"].append(extra)
    raw["goals"].append({"id": "G8", "name_zh": "測試", "name_en": "Test", "weight": {2015: 7, 2016: 7}})
    defs = definitions_from_data(raw)
    assert list(defs.indicators)[-1] == "I8"


def test_not_a_file_or_not_yaml(tmp_path):
    with pytest.raises(DefinitionError, match="cannot read"):
        load_definitions(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("goals: [unclosed", encoding="utf-8")
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_definitions(bad)
