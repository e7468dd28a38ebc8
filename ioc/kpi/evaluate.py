"""Evaluate the KPIs of a year on a date: pure functions from definitions and measurements to
values, targets, attainment, status and the weighted score. The rules (also in the `rules`
section of `schemas/kpis.yaml`):

value       ratio: 100 * numerator / denominator (percent; 0/0 gives no value); count: the count;
            parts: 100 * mean over the parts of done / planned.
selection   only measurements of the evaluated year count; per indicator the one with the latest
            as_of on or before the evaluation date (ties: latest recorded_at, then later line).
as_of       defaults to today (Taiwan time) or 31 December of the year, whichever is earlier.
expected    the share of the year's work the indicator's pace puts due by the evaluation date
            (a date after the year counts as 31 December): `due_months` = an equal share due at
            the end of each listed month; `linear` = a straight line over the days given.
status      no_data   no measurement (or a 0/0 ratio);
            met       value >= target (direction up; <= for down);
            ratios not met are `behind` (a ratio has no pace: it is its value against the target);
            counts not met are `on_pace` when count >= target * expected, else `behind`;
            parts not met are `on_pace` when every part has done >= planned * expected (each part
            on its own pace), else `behind`.
attainment  value / target (up) or target / value (down; 1 when value is 0), raw (1.6 = 160%);
            null without a value.
score       100 * sum(weight * min(attainment, 1)) / sum(weight) over every indicator of the year,
            one without data counting 0; `score_measured` is the same over indicators with data.
All comparisons are exact (fractions), so 17/20 meets 85%.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from fractions import Fraction
from pathlib import Path

from .definitions import Definitions, Indicator, KpiError, Project, YearError, exact, load_definitions
from .measurements import Measurement, ProjectMeasurement, read_measurements
from .rocdate import gregorian_to_roc, parse_date, parse_year, today_in_taipei

STATUSES = ("met", "on_pace", "behind", "no_data")
PROJECT_STATUSES = (*STATUSES, "no_target")


def resolve_year(year) -> int:
    """The Gregorian year from 2015, "2015" or "roc104"; YearError when it is not a year."""
    try:
        return parse_year(year)
    except ValueError as exc:
        raise YearError(str(exc)) from None


def resolve_as_of(year: int, as_of=None, *, today: date | None = None) -> date:
    """The evaluation date: the one given (ISO or ROC date), else today or 31 December of the
    year, whichever is earlier."""
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return min(today or today_in_taipei(), date(year, 12, 31))
    try:
        return parse_date(as_of)
    except ValueError as exc:
        raise KpiError(f"as-of: {exc}") from None


def select_latest(measurements: Iterable[Measurement], year: int, as_of: date) -> dict[str, Measurement]:
    """Per indicator, the measurement of `year` with the latest as_of on or before `as_of`; on the
    same date the latest recorded_at wins, then the later one in the input."""
    chosen: dict[str, tuple[tuple, Measurement]] = {}
    for position, m in enumerate(measurements):
        if m.year != year or m.as_of > as_of:
            continue
        recorded = m.recorded_at.timestamp() if m.recorded_at is not None else float("-inf")
        key = (m.as_of, recorded, position)
        current = chosen.get(m.indicator)
        if current is None or key >= current[0]:
            chosen[m.indicator] = (key, m)
    return {iid: m for iid, (_, m) in chosen.items()}


def attainment(value: Fraction, target: Fraction, direction: str) -> Fraction:
    """Raw attainment: value / target (up), target / value (down); 1 where it would divide by 0."""
    if direction == "down":
        return Fraction(1) if value == 0 else target / value
    return Fraction(1) if target == 0 else value / target


def evaluate_indicator(indicator: Indicator, year: int, measurement: Measurement | None, as_of: date) -> dict:
    """One tile: the indicator's value, target, attainment, status and weighted contribution."""
    return _tile(indicator, year, measurement, as_of)[0]


def _tile(indicator: Indicator, year: int, measurement: Measurement | None, as_of: date) -> tuple[dict, Fraction]:
    spec = indicator.years[year]
    target = exact(spec.target)
    weight = exact(spec.weight)
    value = measurement.exact_value() if measurement is not None else None
    part_rows = _part_rows(indicator, year, measurement, as_of)
    expected = _expected(indicator, year, as_of, part_rows)

    if value is None:
        status, raw_attainment = "no_data", None
    else:
        raw_attainment = attainment(value, target, indicator.direction)
        met = value <= target if indicator.direction == "down" else value >= target
        if met:
            status = "met"
        elif indicator.form == "ratio":
            status = "behind"
        elif indicator.form == "count":
            status = "on_pace" if value >= target * expected else "behind"
        else:
            on_pace = all(row["_done"] >= row["_planned"] * row["_fraction"] for row in part_rows.values())
            status = "on_pace" if on_pace else "behind"
    contribution = Fraction(0) if raw_attainment is None else weight * min(raw_attainment, Fraction(1))

    if indicator.form == "ratio":
        expected_out = None
    elif indicator.form == "count":
        expected_out = float(target * expected)
    else:
        expected_out = float(100 * expected)
    return {
        "id": indicator.id,
        "goal": indicator.goal,
        "name_zh": indicator.name_zh,
        "name_en": indicator.name_en,
        "kind": indicator.kind,
        "form": indicator.form,
        "unit": indicator.unit,
        "unit_zh": indicator.unit_zh,
        "direction": indicator.direction,
        "weight": spec.weight,
        "target": spec.target,
        "value": _value_out(indicator, value),
        "attainment": None if raw_attainment is None else float(raw_attainment),
        "contribution": float(contribution),
        "status": status,
        "expected": expected_out,
        "measured_as_of": None if measurement is None else measurement.as_of.isoformat(),
        "parts": None if measurement is None or indicator.form != "parts" else {
            name: {k: v for k, v in row.items() if not k.startswith("_")} for name, row in part_rows.items()
        },
    }, contribution


def _value_out(indicator: Indicator, value: Fraction | None):
    if value is None:
        return None
    if indicator.form == "count":
        return int(value)
    return float(value)


def _part_rows(indicator: Indicator, year: int, measurement: Measurement | None, as_of: date) -> dict:
    """Per part: done, planned, rate and what its pace expects by `as_of` (exact values under _)."""
    if indicator.form != "parts":
        return {}
    spec = indicator.years[year]
    if measurement is not None:
        pairs = {name: (exact(d), exact(p)) for name, (d, p) in measurement.parts.items()}
    elif spec.parts:
        pairs = {name: (None, exact(part.planned)) for name, part in spec.parts.items()}
    else:
        return {}
    rows = {}
    for name, (done, planned) in pairs.items():
        fraction = spec.part_pace(name).fraction(year, as_of)
        rows[name] = {
            "done": None if done is None else float(done),
            "planned": float(planned),
            "rate": None if done is None else float(100 * done / planned),
            "expected": float(planned * fraction),
            "_done": done, "_planned": planned, "_fraction": fraction,
        }
    return rows


def _expected(indicator: Indicator, year: int, as_of: date, part_rows: dict) -> Fraction:
    """The share (0..1) of the year's work due by `as_of`; 0 for ratios (they carry no pace)."""
    spec = indicator.years[year]
    if indicator.form == "ratio":
        return Fraction(0)
    if indicator.form == "parts" and part_rows:
        fractions = [row["_fraction"] for row in part_rows.values()]
        return sum(fractions, Fraction(0)) / len(fractions)
    return spec.pace.fraction(year, as_of)


def evaluate(measurements: Iterable[Measurement], year, as_of=None, definitions: Definitions | None = None,
             *, today: date | None = None) -> dict:
    """Every indicator of `year` (Gregorian, or "roc104") evaluated on `as_of`, and the score."""
    defs = definitions or load_definitions()
    year = resolve_year(year)
    indicators = defs.indicators_for(year)
    as_of = resolve_as_of(year, as_of, today=today)
    latest = select_latest(measurements, year, as_of)
    evaluated = [_tile(ind, year, latest.get(ind.id), as_of) for ind in indicators]
    tiles = [tile for tile, _ in evaluated]
    contributions = {tile["id"]: earned for tile, earned in evaluated}  # exact, for the sums
    weights = {ind.id: exact(ind.years[year].weight) for ind in indicators}
    measured = [t["id"] for t in tiles if t["status"] != "no_data"]
    weight_total = sum(weights.values(), Fraction(0))
    weight_measured = sum((weights[i] for i in measured), Fraction(0))
    earned = sum(contributions.values(), Fraction(0))
    return {
        "year": year,
        "roc_year": gregorian_to_roc(year),
        "as_of": as_of.isoformat(),
        "score": float(100 * earned / weight_total) if weight_total else None,
        "score_measured": float(100 * earned / weight_measured) if weight_measured else None,
        "weight_total": _number_out(weight_total),
        "weight_measured": _number_out(weight_measured),
        "goals": _goal_rows(defs, year, indicators, weights, contributions),
        "indicators": tiles,
    }


def _goal_rows(defs: Definitions, year: int, indicators: list[Indicator], weights: dict,
               contributions: dict) -> list[dict]:
    rows = []
    for goal in defs.goals.values():
        members = [ind.id for ind in indicators if ind.goal == goal.id]
        if not members:
            continue
        weight = sum((weights[i] for i in members), Fraction(0))
        earned = sum((contributions[i] for i in members), Fraction(0))
        rows.append({
            "id": goal.id,
            "name_zh": goal.name_zh,
            "name_en": goal.name_en,
            "weight": goal.weights[year],
            "indicators": members,
            "contribution": float(earned),
            "attainment": float(earned / weight) if weight else None,
        })
    return rows


def _number_out(value: Fraction):
    return int(value) if value.denominator == 1 else float(value)


def evaluate_file(path: str | Path, year: str | int, as_of: str | date | None = None, *,
                  definitions: Definitions | None = None, today: date | None = None) -> dict:
    """`ioc kpi evaluate --measurements FILE --year YEAR [--as-of DATE] --json`: the evaluation of
    the JSON-lines file `path` for `year` (Gregorian, or "roc104") on `as_of` (default: today or
    the year's end, whichever is earlier). Raises a KpiError (MeasurementError listing every bad
    line, YearError, ...) with a message to print before exiting 2. Lines of other years are
    validated like the rest but do not count."""
    defs = definitions or load_definitions()
    gregorian = resolve_year(year)
    defs.indicators_for(gregorian)  # an unknown year is refused before the file is read
    resolved = resolve_as_of(gregorian, as_of, today=today)
    return evaluate(read_measurements(path, defs), gregorian, resolved, defs)


# --- special projects ------------------------------------------------------------------------


def evaluate_project(project: Project, measurement: ProjectMeasurement | None, as_of: date) -> dict:
    """A special project on `as_of`: its latest progress against the target and, where the plan
    gives a duration, the straight line from start to end."""
    value = None if measurement is None else exact(measurement.value)
    fraction = project.expected(as_of)
    target = None if project.target is None else exact(project.target)
    expected = None if fraction is None or target is None else target * fraction
    if value is None:
        status = "no_data"
    elif target is None:
        status = "no_target"
    elif value >= target:
        status = "met"
    elif expected is None:
        status = "behind"  # a target without a line: anything short of it is short
    else:
        status = "on_pace" if value >= expected else "behind"
    return {
        "id": project.id,
        "name_zh": project.name_zh,
        "name_en": project.name_en,
        "unit": project.unit,
        "unit_zh": project.unit_zh,
        "target": project.target,
        "start": None if project.start is None else project.start.isoformat(),
        "end": None if project.end is None else project.end.isoformat(),
        "dates_basis": project.dates_basis,
        "value": None if value is None else float(value),
        "expected": None if expected is None else float(expected),
        "attainment": None if value is None or not target else float(value / target),
        "status": status,
        "measured_as_of": None if measurement is None else measurement.as_of.isoformat(),
    }


def evaluate_projects(measurements: Iterable[ProjectMeasurement], as_of, definitions: Definitions | None = None,
                      *, today: date | None = None) -> list[dict]:
    """Every special project on `as_of` (default today), from its latest measurement by then."""
    defs = definitions or load_definitions()
    if as_of is None:
        day = today or today_in_taipei()
    else:
        try:
            day = parse_date(as_of)
        except ValueError as exc:
            raise KpiError(f"as-of: {exc}") from None
    latest: dict[str, tuple[tuple, ProjectMeasurement]] = {}
    for position, m in enumerate(measurements):
        if m.as_of > day:
            continue
        recorded = m.recorded_at.timestamp() if m.recorded_at is not None else float("-inf")
        key = (m.as_of, recorded, position)
        if m.project not in latest or key >= latest[m.project][0]:
            latest[m.project] = (key, m)
    return [evaluate_project(p, latest.get(p.id, (None, None))[1], day) for p in defs.projects.values()]
