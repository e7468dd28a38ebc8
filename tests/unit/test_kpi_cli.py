"""The CLI contract of `ioc kpi evaluate`, run as the real command: exactly the evaluation object
on stdout with --json, a readable table without it, and exit 2 with the reason on stderr for
anything refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ioc.kpi import evaluate_file
from tests.unit.test_kpi_evaluate import SEED_2015, write_jsonl

SEED_STATUSES = {"I1": "no_data", "I2": "on_pace", "I3": "met", "I4": "met", "I5": "on_pace", "I6": "on_pace",
                 "I7a": "on_pace", "I7b": "met", "I7c": "no_data"}


def ioc(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture()
def seed_file(tmp_path):
    # An external file may carry fields of its own: they are ignored.
    lines = [{**r, "comment": "from Part 3 of the plan"} for r in SEED_2015]
    return write_jsonl(tmp_path / "seed.jsonl", lines)


def test_json_output_is_exactly_the_evaluation(seed_file):
    run = ioc("kpi", "evaluate", "--measurements", str(seed_file), "--year", "2015", "--as-of", "2015-06-30", "--json")
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1  # one JSON object, nothing else on stdout
    printed = json.loads(run.stdout)
    assert printed == json.loads(json.dumps(evaluate_file(seed_file, 2015, "2015-06-30")))
    assert {"year", "as_of", "score", "indicators"} <= printed.keys()
    assert (printed["year"], printed["as_of"]) == (2015, "2015-06-30")
    tiles = {t["id"]: t for t in printed["indicators"]}
    assert list(tiles) == ["I1", "I2", "I3", "I4", "I5", "I6", "I7a", "I7b", "I7c"]
    assert {i: t["status"] for i, t in tiles.items()} == SEED_STATUSES
    assert tiles["I3"]["value"] == 80 and tiles["I3"]["target"] == 50 and tiles["I3"]["weight"] == 8
    assert tiles["I4"]["value"] == pytest.approx(91.99, abs=0.005)
    assert tiles["I2"]["value"] == 2 and tiles["I2"]["unit"] == "surveys"
    assert tiles["I6"]["value"] == 50  # the mean of 6/12, 2/4, 1/1, 0/1
    assert tiles["I7b"]["value"] == pytest.approx(97.17, abs=0.005)
    assert tiles["I1"]["value"] is None and tiles["I1"]["attainment"] is None
    for t in tiles.values():
        assert {"id", "value", "target", "unit", "weight", "attainment", "status"} <= t.keys()


def test_roc_year_gives_the_same_object(seed_file):
    gregorian = ioc("kpi", "evaluate", "--measurements", str(seed_file), "--year", "2015", "--as-of", "2015-06-30",
                    "--json")
    roc = ioc("kpi", "evaluate", "--measurements", str(seed_file), "--year", "roc104", "--as-of", "104/06/30",
              "--json")
    assert roc.returncode == 0, roc.stderr
    assert json.loads(roc.stdout) == json.loads(gregorian.stdout)


def test_as_of_defaults_to_the_years_end_for_a_past_year(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [{"indicator": "I2", "as_of": "2016-11-30", "count": 4}])
    run = ioc("kpi", "evaluate", "--measurements", str(path), "--year", "2016", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["as_of"] == "2016-12-31"
    assert next(t for t in result["indicators"] if t["id"] == "I2")["status"] == "met"


def test_without_json_a_readable_table(seed_file):
    run = ioc("kpi", "evaluate", "--measurements", str(seed_file), "--year", "2015", "--as-of", "2015-06-30")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("KPIs of 2015 (ROC 104) as of 2015-06-30: score ")
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    assert set(rows) == {"id", "I1", "I2", "I3", "I4", "I5", "I6", "I7a", "I7b", "I7c"}
    assert "80.00%" in rows["I3"] and "met" in rows["I3"]
    assert "2 surveys" in rows["I2"] and "on_pace" in rows["I2"]


def test_bad_lines_exit_2_with_every_problem_and_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"indicator": "I3", "as_of": "2015-06-30", "numerator": 21, "denominator": 20}\n'
        "\n"
        '{"indicator": "I9", "as_of": "2015-06-30", "count": 1}\n'
        '{"indicator": "I2", "as_of": "2015-06-31", "count": 1}\n'
        '{"indicator": "I2", "as_of": "2016-01-02", "count": 1, "year": 2015}\n'
        "not json\n", encoding="utf-8")
    run = ioc("kpi", "evaluate", "--measurements", str(path), "--year", "2015", "--json")
    assert run.returncode == 2
    assert run.stdout == ""
    for expected in ("line 1: numerator 21 is above its denominator 20", "line 3: unknown indicator 'I9'",
                     "line 4: as_of:", "line 5: as_of 2016-01-02 is outside the year 2015", "line 6: not valid JSON"):
        assert expected in run.stderr, run.stderr


@pytest.mark.parametrize("args, reason", [
    (("--year", "2017"), "no KPI targets are defined for 2017"),
    (("--year", "104"), "did you mean roc104"),
    (("--year", "2015", "--as-of", "2015-02-30"), "as-of:"),
])
def test_unknown_year_or_date_exit_2(seed_file, args, reason):
    run = ioc("kpi", "evaluate", "--measurements", str(seed_file), *args, "--json")
    assert run.returncode == 2
    assert run.stdout == ""
    assert reason in run.stderr


def test_missing_file_and_missing_options_exit_2(tmp_path):
    missing = ioc("kpi", "evaluate", "--measurements", str(tmp_path / "none.jsonl"), "--year", "2015", "--json")
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr and missing.stdout == ""
    no_year = ioc("kpi", "evaluate", "--measurements", str(tmp_path / "none.jsonl"))
    assert no_year.returncode == 2 and "--year" in no_year.stderr


def test_import_refuses_a_bad_file_before_touching_any_service(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"indicator": "I2", "as_of": "2015-06-30", "count": -1}\n'
                    '{"project": "road_paving", "as_of": "2015-06-30"}\n', encoding="utf-8")
    run = ioc("kpi", "import", str(path))
    assert run.returncode == 2
    assert "nothing imported" in run.stderr
    assert "line 1: count must not be negative" in run.stderr
    assert "line 2: value is missing" in run.stderr
