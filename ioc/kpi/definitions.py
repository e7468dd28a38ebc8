"""The KPI definitions as data: load `schemas/kpis.yaml`, check it whole, and hand out typed,
read-only objects (goals, indicators with their per-year targets, weights and pace, special
projects). Every problem in the file is reported at once, each with where it is.

The pace of a year (`Pace.fraction`) lives here because it is part of the definition: the share
of the year's work the plan expects done by a date.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cache
from pathlib import Path

import yaml

from .rocdate import parse_date

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schemas" / "kpis.yaml"

BASES = ("statistics", "documents")
KINDS = ("ratio", "count", "share", "derived")
FORMS = ("ratio", "count", "parts")
DIRECTIONS = ("up", "down")
# which measurement forms a kind of indicator may take
KIND_FORMS = {"ratio": ("ratio",), "count": ("count",), "share": ("parts",), "derived": FORMS}
PERCENT_FORMS = ("ratio", "parts")  # values on 0-100
TEXT_KEYS = ("name_zh", "name_en", "unit", "unit_zh", "formula_zh", "formula_en")
INDICATOR_KEYS = {
    "id", "goal", "name_zh", "name_en", "basis", "kind", "form", "unit", "unit_zh", "direction",
    "formula_zh", "formula_en", "years",
}


class KpiError(ValueError):
    """Anything the KPI package refuses; the message is meant for the user as it stands."""


class DefinitionError(KpiError):
    """A definitions file that is not a valid set of KPI definitions; lists every problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the KPI definitions:\n{lines}")


class YearError(KpiError):
    """A year the definitions hold no targets for, or one that is not a year."""


def exact(number) -> Fraction:
    """A number as an exact fraction; a float is taken as the decimal it prints as (0.1 -> 1/10)."""
    if isinstance(number, Fraction):
        return number
    if isinstance(number, float):
        return Fraction(repr(number))
    return Fraction(number)


@dataclass(frozen=True)
class Pace:
    """When the year's work falls due: an equal share at the end of each of `due_months`, or a
    straight line over `linear` = ((month, day), (month, day)), both days included."""

    due_months: tuple[int, ...] = ()
    linear: tuple[tuple[int, int], tuple[int, int]] | None = None

    def fraction(self, year: int, as_of: date) -> Fraction:
        """Share (0..1) of the year's work due by the end of `as_of` (a later date counts as 31
        December of `year`, an earlier one as before 1 January)."""
        if as_of < date(year, 1, 1):
            return Fraction(0)
        as_of = min(as_of, date(year, 12, 31))
        if self.linear is not None:
            start, end = (_day_in(year, md) for md in self.linear)
            total = (end - start).days + 1
            elapsed = min(max((as_of - start).days + 1, 0), total)
            return Fraction(elapsed, total)
        ended = sum(1 for m in self.due_months if _month_end(year, m) <= as_of)
        return Fraction(ended, len(self.due_months))

    def describe(self) -> dict:
        if self.linear is not None:
            (m0, d0), (m1, d1) = self.linear
            return {"linear": {"from": f"{m0:02d}-{d0:02d}", "to": f"{m1:02d}-{d1:02d}"}}
        return {"due_months": list(self.due_months)}


@dataclass(frozen=True)
class PartSpec:
    name: str
    name_zh: str
    name_en: str
    planned: int | float
    pace: Pace | None  # None: the indicator's pace for the year


@dataclass(frozen=True)
class YearSpec:
    year: int
    target: int | float
    weight: int | float
    pace: Pace | None = None
    parts: dict[str, PartSpec] | None = None  # None: parts named freely (`parts: any`) or no parts
    milestones: tuple[dict, ...] = ()

    def part_pace(self, part: str) -> Pace | None:
        spec = (self.parts or {}).get(part)
        return spec.pace if spec is not None and spec.pace is not None else self.pace


@dataclass(frozen=True)
class Indicator:
    id: str
    goal: str
    name_zh: str
    name_en: str
    basis: str
    kind: str
    form: str
    unit: str
    unit_zh: str
    direction: str
    formula_zh: str
    formula_en: str
    years: dict[int, YearSpec] = field(default_factory=dict)

    @property
    def percent(self) -> bool:
        return self.form in PERCENT_FORMS


@dataclass(frozen=True)
class Goal:
    id: str
    name_zh: str
    name_en: str
    weights: dict[int, int | float]


@dataclass(frozen=True)
class Project:
    """A special project under control (專案列管); `target` None: tracked without a figure."""

    id: str
    name_zh: str
    name_en: str
    target: int | float | None
    unit: str | None
    unit_zh: str | None
    start: date | None
    end: date | None
    pace: str  # "linear" (straight line from start to end) or "none"
    dates_basis: str | None = None

    def expected(self, as_of: date) -> Fraction | None:
        """Share of the target due by the end of `as_of` on the straight line; None without one."""
        if self.pace != "linear" or self.start is None or self.end is None:
            return None
        total = (self.end - self.start).days + 1
        elapsed = min(max((as_of - self.start).days + 1, 0), total)
        return Fraction(elapsed, total)


@dataclass(frozen=True)
class Definitions:
    goals: dict[str, Goal]
    indicators: dict[str, Indicator]  # in the file's order
    projects: dict[str, Project]
    rules: dict
    source: str

    @property
    def years(self) -> tuple[int, ...]:
        found = {y for ind in self.indicators.values() for y in ind.years}
        return tuple(sorted(found))

    def indicators_for(self, year: int) -> list[Indicator]:
        """The indicators the plan sets for `year`, in order; YearError if it sets none."""
        found = [ind for ind in self.indicators.values() if year in ind.years]
        if not found:
            known = ", ".join(f"{y} (roc{y - 1911})" for y in self.years)
            raise YearError(f"no KPI targets are defined for {year} (roc{year - 1911}); defined: {known}")
        return found


def load_definitions(path: str | Path | None = None) -> Definitions:
    """Load and check a definitions file (default `schemas/kpis.yaml`); DefinitionError lists every
    problem found. The default file is read once per process."""
    return _load(str(Path(path).resolve() if path is not None else DEFAULT_PATH))


@cache
def _load(path: str) -> Definitions:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise DefinitionError(path, [f"not UTF-8: {exc}"]) from None
    return definitions_from_text(text, source=path)


def definitions_from_text(text: str, *, source: str = "<text>") -> Definitions:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [f"not valid YAML: {exc}"]) from None
    return definitions_from_data(data, source=source)


def definitions_from_data(data, *, source: str = "<data>") -> Definitions:
    """Build and check definitions from the parsed YAML document."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DefinitionError(source, ["the document must be a mapping with goals and indicators"])
    goals = _goals(data.get("goals"), problems)
    indicators = _indicators(data.get("indicators"), goals, problems)
    projects = _projects(data.get("projects", []), problems)
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        problems.append("rules: must be a mapping")
        rules = {}
    _check_weights(goals, indicators, problems)
    if problems:
        raise DefinitionError(source, problems)
    return Definitions(goals=goals, indicators=indicators, projects=projects, rules=rules, source=source)


# --- building blocks; each appends its problems and returns what it could build -------------


def _text(entry: dict, key: str, where: str, problems: list[str], *, optional: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key} must be a non-empty string")
        return None
    return value


def _choice(entry: dict, key: str, allowed: tuple[str, ...], where: str, problems: list[str]) -> str | None:
    value = entry.get(key)
    if value not in allowed:
        problems.append(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")
        return None
    return value


def _number(value, where: str, problems: list[str], *, positive: bool = False) -> int | float | None:
    not_finite = isinstance(value, float) and not math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not_finite:
        problems.append(f"{where}: must be a number, got {value!r}")
        return None
    if value < 0 or (positive and value == 0):
        problems.append(f"{where}: must be {'positive' if positive else 'zero or more'}, got {value!r}")
        return None
    return value


def _year_key(key, where: str, problems: list[str]) -> int | None:
    if isinstance(key, bool) or not isinstance(key, int) or not 1912 <= key <= 2200:
        problems.append(f"{where}: year keys must be Gregorian years such as 2016, got {key!r}")
        return None
    return key


def _goals(raw, problems: list[str]) -> dict[str, Goal]:
    goals: dict[str, Goal] = {}
    if not isinstance(raw, list) or not raw:
        problems.append("goals: must be a non-empty list")
        return goals
    for i, entry in enumerate(raw):
        where = f"goals[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        gid = _text(entry, "id", where, problems)
        where = f"goal {gid}" if gid else where
        name_zh = _text(entry, "name_zh", where, problems)
        name_en = _text(entry, "name_en", where, problems)
        weights: dict[int, int | float] = {}
        raw_weights = entry.get("weight")
        if not isinstance(raw_weights, dict) or not raw_weights:
            problems.append(f"{where}: weight must map years to weights, e.g. {{2016: 7}}")
        else:
            for year, weight in raw_weights.items():
                y = _year_key(year, f"{where} weight", problems)
                w = _number(weight, f"{where} weight {year}", problems)
                if y is not None and w is not None:
                    weights[y] = w
        if gid in goals:
            problems.append(f"{where}: defined twice")
        elif gid and name_zh and name_en:
            goals[gid] = Goal(gid, name_zh, name_en, weights)
    return goals


def _pace(raw, where: str, problems: list[str]) -> Pace | None:
    if not isinstance(raw, dict) or len(raw) != 1 or not ({"due_months", "linear"} & raw.keys()):
        problems.append(f"{where}: pace must be {{due_months: [...]}} or {{linear: {{from: MM-DD, to: MM-DD}}}}")
        return None
    if "due_months" in raw:
        months = raw["due_months"]
        if (
            not isinstance(months, list)
            or not months
            or any(isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in months)
            or months != sorted(months)
        ):
            problems.append(f"{where}: due_months must be a non-empty, ascending list of months 1-12")
            return None
        return Pace(due_months=tuple(months))
    span = raw["linear"]
    if not isinstance(span, dict) or set(span) != {"from", "to"}:
        problems.append(f"{where}: linear must be {{from: MM-DD, to: MM-DD}}")
        return None
    ends = [_month_day(span[k], f"{where} linear {k}", problems) for k in ("from", "to")]
    if None in ends:
        return None
    if ends[0] > ends[1]:
        problems.append(f"{where}: linear from {span['from']} is after to {span['to']}")
        return None
    return Pace(linear=(ends[0], ends[1]))


def _month_day(value, where: str, problems: list[str]) -> tuple[int, int] | None:
    try:
        month, day = (int(x) for x in str(value).split("-"))
        date(2016, month, day)  # a leap year: 02-29 is allowed (it means 02-28 in other years)
    except (ValueError, TypeError):
        problems.append(f"{where}: must be MM-DD, got {value!r}")
        return None
    return (month, day)


def _parts(raw, where: str, problems: list[str]) -> dict[str, PartSpec] | None:
    if raw == "any":
        return None
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: parts must be `any` or a mapping of part names")
        return None
    parts: dict[str, PartSpec] = {}
    for name, spec in raw.items():
        pwhere = f"{where} part {name}"
        if not isinstance(name, str) or not isinstance(spec, dict):
            problems.append(f"{pwhere}: must be a name mapped to {{name_zh, name_en, planned, pace}}")
            continue
        name_zh = _text(spec, "name_zh", pwhere, problems)
        name_en = _text(spec, "name_en", pwhere, problems)
        planned = _number(spec.get("planned"), f"{pwhere} planned", problems, positive=True)
        pace = _pace(spec["pace"], pwhere, problems) if "pace" in spec else None
        if name_zh and name_en and planned is not None:
            parts[name] = PartSpec(name, name_zh, name_en, planned, pace)
    return parts


def _year_spec(year: int, raw, ind_where: str, form: str | None, problems: list[str]) -> YearSpec | None:
    where = f"{ind_where} year {year}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with target and weight")
        return None
    n_before = len(problems)
    target = _number(raw.get("target"), f"{where} target", problems, positive=True)
    weight = _number(raw.get("weight"), f"{where} weight", problems)
    pace = _pace(raw["pace"], where, problems) if "pace" in raw else None
    parts = None
    if form == "parts":
        if "parts" not in raw:
            problems.append(f"{where}: a parts indicator needs parts (a mapping, or `any`)")
        else:
            parts = _parts(raw["parts"], where, problems)
        if target is not None and target > 100:
            problems.append(f"{where}: a share's target is a percent (at most 100), got {target}")
        if parts is None and pace is None:
            problems.append(f"{where}: parts named freely (`any`) need the indicator's pace")
        if parts and pace is None and any(p.pace is None for p in parts.values()):
            problems.append(f"{where}: every part needs a pace when the year has none")
    elif "parts" in raw:
        problems.append(f"{where}: only a parts indicator has parts")
    if form == "count" and pace is None:
        problems.append(f"{where}: a count needs a pace (due_months or linear) to say what is on pace")
    if form == "ratio" and pace is not None:
        problems.append(f"{where}: a ratio carries no pace (its status is its value against the target)")
    if form == "ratio" and target is not None and target > 100:
        problems.append(f"{where}: a ratio's target is a percent (at most 100), got {target}")
    milestones = raw.get("milestones", [])
    if not isinstance(milestones, list) or not all(isinstance(m, dict) for m in milestones):
        problems.append(f"{where}: milestones must be a list of mappings")
        milestones = []
    unknown = set(raw) - {"target", "weight", "pace", "parts", "milestones"}
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(map(str, unknown))}")
    if len(problems) > n_before:
        return None
    return YearSpec(year, target, weight, pace, parts, tuple(milestones))


def _indicators(raw, goals: dict[str, Goal], problems: list[str]) -> dict[str, Indicator]:
    indicators: dict[str, Indicator] = {}
    if not isinstance(raw, list) or not raw:
        problems.append("indicators: must be a non-empty list")
        return indicators
    for i, entry in enumerate(raw):
        where = f"indicators[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        n_before = len(problems)
        iid = _text(entry, "id", where, problems)
        where = f"indicator {iid}" if iid else where
        goal = _text(entry, "goal", where, problems)
        if goal and goal not in goals:
            problems.append(f"{where}: goal {goal} is not among the goals")
        texts = {k: _text(entry, k, where, problems) for k in TEXT_KEYS}
        basis = _choice(entry, "basis", BASES, where, problems)
        kind = _choice(entry, "kind", KINDS, where, problems)
        form = _choice(entry, "form", FORMS, where, problems)
        direction = _choice(entry, "direction", DIRECTIONS, where, problems)
        if kind and form and form not in KIND_FORMS[kind]:
            problems.append(f"{where}: a {kind} indicator cannot take the {form} form")
        if direction == "down" and form != "ratio":
            problems.append(f"{where}: direction down is only defined for ratios (a pace counts up)")
        if form in PERCENT_FORMS and texts["unit"] not in (None, "%"):
            problems.append(f"{where}: a {form} indicator's unit is %, got {texts['unit']!r}")
        unknown = set(entry) - INDICATOR_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(map(str, unknown))}")
        years: dict[int, YearSpec] = {}
        raw_years = entry.get("years")
        if not isinstance(raw_years, dict) or not raw_years:
            problems.append(f"{where}: years must map each year to its target and weight")
        else:
            for year, spec in raw_years.items():
                y = _year_key(year, f"{where} years", problems)
                if y is not None:
                    built = _year_spec(y, spec, where, form, problems)
                    if built is not None:
                        years[y] = built
        if iid in indicators:
            problems.append(f"{where}: defined twice")
        elif len(problems) == n_before:
            indicators[iid] = Indicator(
                id=iid, goal=goal, basis=basis, kind=kind, form=form, direction=direction,
                years=years, **texts,
            )
    return indicators


def _check_weights(goals: dict[str, Goal], indicators: dict[str, Indicator], problems: list[str]) -> None:
    """Each year, a goal's indicators' weights add up to the goal's weight for that year."""
    for goal in goals.values():
        members = [ind for ind in indicators.values() if ind.goal == goal.id]
        if not members:
            problems.append(f"goal {goal.id}: has no indicator")
        years = set(goal.weights) | {y for ind in members for y in ind.years}
        for year in sorted(years):
            if year not in goal.weights:
                problems.append(f"goal {goal.id}: no weight for {year}, but its indicators have targets then")
                continue
            total = sum(exact(ind.years[year].weight) for ind in members if year in ind.years)
            if total != exact(goal.weights[year]):
                problems.append(
                    f"goal {goal.id} {year}: indicator weights add up to {float(total):g}, "
                    f"the goal weighs {goal.weights[year]}"
                )


def _projects(raw, problems: list[str]) -> dict[str, Project]:
    projects: dict[str, Project] = {}
    if not isinstance(raw, list):
        problems.append("projects: must be a list")
        return projects
    for i, entry in enumerate(raw):
        where = f"projects[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        n_before = len(problems)
        pid = _text(entry, "id", where, problems)
        where = f"project {pid}" if pid else where
        name_zh = _text(entry, "name_zh", where, problems)
        name_en = _text(entry, "name_en", where, problems)
        pace = _choice(entry, "pace", ("linear", "none"), where, problems)
        target = entry.get("target")
        if target is not None:
            target = _number(target, f"{where} target", problems, positive=True)
        unit = _text(entry, "unit", where, problems, optional=True)
        unit_zh = _text(entry, "unit_zh", where, problems, optional=True)
        start, end = (_optional_date(entry.get(k), f"{where} {k}", problems) for k in ("start", "end"))
        if pace == "linear" and (target is None or start is None or end is None):
            problems.append(f"{where}: a linear pace needs target, start and end")
        if start and end and start > end:
            problems.append(f"{where}: start {start} is after end {end}")
        if target is not None and unit is None:
            problems.append(f"{where}: a target needs a unit")
        if pid in projects:
            problems.append(f"{where}: defined twice")
        elif len(problems) == n_before:
            projects[pid] = Project(pid, name_zh, name_en, target, unit, unit_zh, start, end, pace,
                                    entry.get("dates_basis"))
    return projects


def _optional_date(value, where: str, problems: list[str]) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value if isinstance(value, (str, date)) else str(value))
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _day_in(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))
