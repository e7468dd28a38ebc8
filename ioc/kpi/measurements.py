"""Measurements of the KPIs: validate one record (a dict) or a JSON-lines file, and turn a
validated measurement into a table row for the sink.

A measurement is one JSON object:
  ratio (I1, I3, I4, I7b): {"indicator": "I3", "as_of": "2015-06-30", "numerator": 16, "denominator": 20}
  count (I2, I5, I7c):     {"indicator": "I2", "as_of": "2015-06-30", "count": 2}
  parts (I6, I7a):         {"indicator": "I6", "as_of": "2015-06-30",
                            "parts": {"reports": [6, 12], "compilations": [2, 4], ...}}
which form an indicator takes is in `schemas/kpis.yaml`. Optional fields: `year` (the plan year
the measurement belongs to; its as_of must fall in it), `source` (mqtt, file, form, coverage),
`entered_by`, `recorded_at` (ISO 8601 time), `note`. Any other field (an external file's
"comment", "unit", ...) is accepted and ignored; the known fields are checked strictly.

Nothing is dropped silently: every problem of every line is collected (with its line number)
and raised together as one `MeasurementError`. Blank lines are skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path

from ingest.feeds.base import Table

from .definitions import Definitions, KpiError, exact, load_definitions
from .rocdate import parse_date, parse_datetime, parse_year

SOURCES = ("mqtt", "file", "form", "coverage")
FORM_FIELDS = {"ratio": ("numerator", "denominator"), "count": ("count",), "parts": ("parts",)}
VALUE_FIELDS = ("numerator", "denominator", "count", "parts")
META_FIELDS = ("source", "entered_by", "recorded_at", "note")
# The fields a measurement is checked on; any other field is ignored (external files carry notes).
KPI_FIELDS = ("indicator", "as_of", "year", *VALUE_FIELDS, *META_FIELDS)
PROJECT_FIELDS = ("project", "as_of", "value", *META_FIELDS)
# Beyond any count the city keeps (and beyond exact floats): a typo, not a measurement.
MAX_NUMBER = 10**15

KPI_MEASUREMENT = Table(
    name="kpi_measurement",
    columns=("indicator", "year", "as_of", "numerator", "denominator", "count", "parts", "value",
             "source", "entered_by", "recorded_at", "note"),
    key=("indicator", "as_of", "recorded_at"),
    mode="append",
    time_column="recorded_at",
)
PROJECT_MEASUREMENT = Table(
    name="project_measurement",
    columns=("project", "as_of", "value", "target", "unit", "source", "entered_by", "recorded_at", "note"),
    key=("project", "as_of", "recorded_at"),
    mode="append",
    time_column="recorded_at",
)


class Problem(tuple):
    """(line, message): one reason a measurement was refused; line None for a lone record."""

    __slots__ = ()

    def __new__(cls, line: int | None, message: str):
        return super().__new__(cls, (line, message))

    @property
    def line(self) -> int | None:
        return self[0]

    @property
    def message(self) -> str:
        return self[1]

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class MeasurementError(KpiError):
    """Measurements refused; `problems` holds every one, each with its line number."""

    def __init__(self, source: str | None, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            super().__init__(f"{where}invalid measurement: {self.problems[0]}")
        else:
            listed = "\n".join(f"  - {p}" for p in self.problems)
            super().__init__(f"{where}{len(self.problems)} problems in the measurements:\n{listed}")


@dataclass(frozen=True)
class Measurement:
    """A validated measurement of one indicator on one date."""

    indicator: str
    form: str
    as_of: date
    year: int
    numerator: int | float | None = None
    denominator: int | float | None = None
    count: int | None = None
    parts: dict[str, tuple[int | float, int | float]] | None = None
    source: str | None = None
    entered_by: str | None = None
    recorded_at: datetime | None = None
    note: str | None = None
    line: int | None = None  # where it was read, to break ties between equal dates

    def exact_value(self) -> Fraction | None:
        """Percent (0-100) for ratios and parts, the count for counts; None for a 0/0 ratio."""
        if self.form == "ratio":
            if self.denominator == 0:
                return None
            return 100 * exact(self.numerator) / exact(self.denominator)
        if self.form == "count":
            return Fraction(self.count)
        rates = [exact(done) / exact(planned) for done, planned in self.parts.values()]
        return 100 * sum(rates, Fraction(0)) / len(rates)

    @property
    def value(self) -> float | None:
        exact_value = self.exact_value()
        return None if exact_value is None else float(exact_value)

    def to_json(self) -> dict:
        """The measurement as it came in (normalised): a JSON-able dict."""
        out: dict = {"indicator": self.indicator, "as_of": self.as_of.isoformat(), "year": self.year}
        for name in FORM_FIELDS[self.form]:
            value = getattr(self, name)
            out[name] = {k: list(v) for k, v in value.items()} if name == "parts" else value
        for name in ("source", "entered_by", "note"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.recorded_at is not None:
            out["recorded_at"] = self.recorded_at.isoformat()
        return out


@dataclass(frozen=True)
class ProjectMeasurement:
    """A special project's cumulative progress (in the project's unit) on a date."""

    project: str
    as_of: date
    value: int | float
    source: str | None = None
    entered_by: str | None = None
    recorded_at: datetime | None = None
    note: str | None = None
    line: int | None = None


# --- one record ------------------------------------------------------------------------------


def validate_measurement(record, definitions: Definitions | None = None, *, line: int | None = None) -> Measurement:
    """A validated `Measurement` from one dict; MeasurementError listing every problem otherwise."""
    measurement, problems = _check_kpi(record, definitions or load_definitions())
    if problems:
        raise MeasurementError(None, [Problem(line, p) for p in problems])
    return _with_line(measurement, line)


def validate_project_measurement(record, definitions: Definitions | None = None, *,
                                 line: int | None = None) -> ProjectMeasurement:
    measurement, problems = _check_project(record, definitions or load_definitions())
    if problems:
        raise MeasurementError(None, [Problem(line, p) for p in problems])
    return _with_line(measurement, line)


def _with_line(measurement, line):
    if line is None:
        return measurement
    return type(measurement)(**{**measurement.__dict__, "line": line})


def _check_kpi(record, defs: Definitions) -> tuple[Measurement | None, list[str]]:
    problems: list[str] = []
    if not isinstance(record, dict):
        return None, [f"expected a JSON object, got {_json_type(record)}"]

    indicator = None
    iid = record.get("indicator")
    if iid is None:
        problems.append("indicator is missing")
    elif not isinstance(iid, str):
        problems.append(f"indicator must be a string such as \"I3\", got {_json_type(iid)}")
    elif iid not in defs.indicators:
        problems.append(f"unknown indicator {iid[:20]!r} (known: {', '.join(defs.indicators)})")
    else:
        indicator = defs.indicators[iid]

    as_of = _date_field(record, "as_of", problems)
    year = None
    if "year" in record:
        try:
            year = parse_year(record["year"])
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if as_of is not None and as_of.year != year:
                problems.append(f"as_of {as_of.isoformat()} is outside the year {year} (roc{year - 1911})")
    elif as_of is not None:
        year = as_of.year

    present = [f for f in VALUE_FIELDS if f in record]
    form = None
    if indicator is not None:
        form = indicator.form
        expected = FORM_FIELDS[form]
        wrong = [f for f in present if f not in expected]
        missing = [f for f in expected if f not in record]
        if wrong:
            problems.append(f"{iid} is measured as {_form_phrase(form)}, not {' / '.join(wrong)}")
        if missing:
            problems.append(f"{iid} needs {_form_phrase(form)}: {' and '.join(missing)} missing")
    elif not present:
        problems.append("no value: give numerator and denominator, count, or parts")

    numerator = _number_field(record, "numerator", problems)
    denominator = _number_field(record, "denominator", problems)
    if numerator is not None and denominator is not None and exact(numerator) > exact(denominator):
        problems.append(f"numerator {numerator} is above its denominator {denominator}")
    count = _number_field(record, "count", problems, whole=True)
    year_spec = indicator.years.get(year) if indicator is not None and year is not None else None
    parts = _parts_field(record, iid, year_spec, problems)

    meta = _meta_fields(record, problems)
    if problems:
        return None, problems
    return Measurement(
        indicator=iid, form=form, as_of=as_of, year=year, numerator=numerator,
        denominator=denominator, count=count, parts=parts, **meta,
    ), []


def _check_project(record, defs: Definitions) -> tuple[ProjectMeasurement | None, list[str]]:
    problems: list[str] = []
    if not isinstance(record, dict):
        return None, [f"expected a JSON object, got {_json_type(record)}"]
    pid = record.get("project")
    if not isinstance(pid, str):
        problems.append("project must be a string naming a project" if pid is not None else "project is missing")
    elif pid not in defs.projects:
        problems.append(f"unknown project {pid[:40]!r} (known: {', '.join(defs.projects)})")
    as_of = _date_field(record, "as_of", problems)
    if "value" not in record:
        problems.append("value is missing (the cumulative progress in the project's unit)")
    value = _number_field(record, "value", problems)
    meta = _meta_fields(record, problems)
    if problems:
        return None, problems
    return ProjectMeasurement(project=pid, as_of=as_of, value=value, **meta), []


def _form_phrase(form: str) -> str:
    return {"ratio": "numerator and denominator", "count": "count", "parts": "parts"}[form]


def _date_field(record: dict, name: str, problems: list[str]) -> date | None:
    if name not in record:
        problems.append(f"{name} is missing (a date such as 2015-06-30)")
        return None
    try:
        return parse_date(record[name])
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_check(value, name: str, *, whole: bool = False) -> str | None:
    """Why `value` is not an acceptable amount, or None."""
    if not _is_number(value):
        return f"{name} must be a number, got {_json_type(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be a finite number"
    if value < 0:
        return f"{name} must not be negative, got {value}"
    if value > MAX_NUMBER:
        if isinstance(value, float):
            shown = f"{value:.3g}"
        else:  # an int too long to print or to turn into a float
            shown = str(value) if value < 10**20 else f"a {len(str(value))}-digit number"
        return f"{name} {shown} is implausibly large"
    if whole and value != int(value):
        return f"{name} must be a whole number, got {value}"
    return None


def _number_field(record: dict, name: str, problems: list[str], *, whole: bool = False):
    if name not in record:
        return None
    value = record[name]
    reason = _number_check(value, name, whole=whole)
    if reason:
        problems.append(reason)
        return None
    return int(value) if whole else value


def _parts_field(record: dict, iid, year_spec, problems: list[str]):
    if "parts" not in record:
        return None
    raw = record["parts"]
    if not isinstance(raw, dict) or not raw:
        problems.append("parts must be a non-empty object of name: [done, planned]")
        return None
    n_before = len(problems)
    parts: dict[str, tuple] = {}
    for name, pair in raw.items():
        label = f"part {str(name)[:30]!r}"
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{label}: a part needs a non-empty name")
            continue
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            problems.append(f"{label} must be [done, planned], got {_json_type(pair)}")
            continue
        done, planned = pair
        reasons = [r for r in (_number_check(done, f"{label} done"), _number_check(planned, f"{label} planned")) if r]
        if not reasons and planned == 0:
            reasons.append(f"{label} planned must be above 0")
        if not reasons and exact(done) > exact(planned):
            reasons.append(f"{label} done {done} is above planned {planned}")
        problems.extend(reasons)
        parts[name] = (done, planned)
    fixed = year_spec.parts if year_spec is not None else None
    if fixed:
        missing = [n for n in fixed if n not in raw]
        unknown = [n for n in raw if n not in fixed]
        if missing:
            problems.append(f"{iid} parts missing: {', '.join(missing)}")
        if unknown:
            shown = ", ".join(repr(str(n)[:30]) for n in unknown[:5])
            problems.append(f"{iid} has no part(s) {shown}; its parts: {', '.join(fixed)}")
        for name, spec in fixed.items():
            pair = parts.get(name)
            if pair is not None and _is_number(pair[1]) and exact(pair[1]) != exact(spec.planned):
                problems.append(
                    f"{iid} part {name!r}: planned {pair[1]} differs from the plan's {spec.planned} "
                    f"for {year_spec.year}"
                )
    return parts if len(problems) == n_before else None


def _meta_fields(record: dict, problems: list[str]) -> dict:
    meta: dict = {"source": None, "entered_by": None, "recorded_at": None, "note": None}
    source = record.get("source")
    if source is not None:
        if source not in SOURCES:
            problems.append(f"source must be one of {', '.join(SOURCES)}, got {str(source)[:30]!r}")
        else:
            meta["source"] = source
    for name in ("entered_by", "note"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string, got {_json_type(value)}")
        else:
            meta[name] = value
    if record.get("recorded_at") is not None:
        try:
            meta["recorded_at"] = parse_datetime(record["recorded_at"])
        except ValueError as exc:
            problems.append(f"recorded_at: {exc}")
    return meta


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:30]!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- JSON lines ------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(f"the key {key[:30]!r} appears twice")
        seen[key] = value
    return seen


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _decode_line(raw) -> tuple[object, str | None]:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant), None
    except _DuplicateKey as exc:
        return None, f"not valid JSON: {exc}"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (column {exc.colno})"
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"


def _read_lines(lines: Iterable, check, defs: Definitions, source: str | None) -> list:
    found: list = []
    problems: list[Problem] = []
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            raw = raw.lstrip(b"\xef\xbb\xbf") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
        if not raw.strip():
            continue
        record, error = _decode_line(raw)
        if error:
            problems.append(Problem(number, error))
            continue
        measurement, reasons = check(record, defs)
        if reasons:
            problems.extend(Problem(number, r) for r in reasons)
        else:
            found.append(_with_line(measurement, number))
    if problems:
        raise MeasurementError(source, problems)
    return found


def parse_measurement_lines(lines: Iterable[str | bytes], definitions: Definitions | None = None,
                            *, source: str | None = None) -> list[Measurement]:
    """Every measurement of JSON lines (str or bytes, one object a line); MeasurementError lists
    every problem of every line, with line numbers, when any line is refused."""
    return _read_lines(lines, _check_kpi, definitions or load_definitions(), source)


def read_measurements(path: str | Path, definitions: Definitions | None = None) -> list[Measurement]:
    """Every measurement of a JSON-lines file; MeasurementError if it cannot be read or any line
    is refused (all problems listed)."""
    return _read_lines(_file_lines(path), _check_kpi, definitions or load_definitions(), str(path))


def parse_project_lines(lines: Iterable[str | bytes], definitions: Definitions | None = None,
                        *, source: str | None = None) -> list[ProjectMeasurement]:
    return _read_lines(lines, _check_project, definitions or load_definitions(), source)


def read_project_measurements(path: str | Path, definitions: Definitions | None = None) -> list[ProjectMeasurement]:
    return _read_lines(_file_lines(path), _check_project, definitions or load_definitions(), str(path))


def _check_any(record, defs: Definitions):
    """A line naming a `project` (and no `indicator`) is a project's progress, else a KPI's."""
    if isinstance(record, dict) and "project" in record and "indicator" not in record:
        return _check_project(record, defs)
    return _check_kpi(record, defs)


def read_any_measurements(path: str | Path, definitions: Definitions | None = None
                          ) -> tuple[list[Measurement], list[ProjectMeasurement]]:
    """(indicators', projects' measurements) of a JSON-lines file that may hold both (what
    `ioc kpi import` reads); MeasurementError lists every problem of every line."""
    found = _read_lines(_file_lines(path), _check_any, definitions or load_definitions(), str(path))
    return ([m for m in found if isinstance(m, Measurement)],
            [m for m in found if isinstance(m, ProjectMeasurement)])


def _file_lines(path: str | Path) -> list[bytes]:
    try:
        return Path(path).read_bytes().split(b"\n")
    except OSError as exc:
        raise MeasurementError(str(path), [Problem(None, f"cannot read the file: {exc.strerror or exc}")]) from None


# --- rows for the sink -----------------------------------------------------------------------


def _source_of(record_source: str | None, source: str | None) -> str:
    chosen = record_source or source
    if chosen not in SOURCES:
        raise KpiError(f"source must be one of {', '.join(SOURCES)}, got {chosen!r}")
    return chosen


def to_row(measurement: Measurement, received_at: datetime, source: str | None = None) -> tuple[str, tuple]:
    """(table name, row in `KPI_MEASUREMENT.columns` order). `recorded_at` is the measurement's
    own, else `received_at` (aware); `source` is the record's own, else the argument."""
    if received_at.tzinfo is None:
        raise KpiError("received_at must be timezone-aware")
    m = measurement
    parts = None if m.parts is None else {k: list(v) for k, v in m.parts.items()}
    row = (
        m.indicator, m.year, m.as_of,
        None if m.numerator is None else float(m.numerator),
        None if m.denominator is None else float(m.denominator),
        m.count, parts, m.value,
        _source_of(m.source, source), m.entered_by, m.recorded_at or received_at, m.note,
    )
    return KPI_MEASUREMENT.name, row


def to_project_row(measurement: ProjectMeasurement, received_at: datetime, source: str | None = None,
                   definitions: Definitions | None = None) -> tuple[str, tuple]:
    """(table name, row in `PROJECT_MEASUREMENT.columns` order), the project's target and unit
    copied in so a stored row reads on its own."""
    if received_at.tzinfo is None:
        raise KpiError("received_at must be timezone-aware")
    m = measurement
    project = (definitions or load_definitions()).projects[m.project]
    row = (
        m.project, m.as_of, float(m.value),
        None if project.target is None else float(project.target), project.unit,
        _source_of(m.source, source), m.entered_by, m.recorded_at or received_at, m.note,
    )
    return PROJECT_MEASUREMENT.name, row
