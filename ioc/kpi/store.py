"""Stored KPI measurements: the `kpi_measurement` and `project_measurement` hypertables
(schemas/sql/060_kpi.sql).

History is never overwritten: a write is an insert that ignores a row whose key (item, as_of,
recorded_at) is already stored, and a correction is a new row with a later `recorded_at` (the
evaluation takes the latest as_of, then the latest recorded_at). Reads give back the same
`Measurement` objects the file path validates, so the pure evaluation runs on both alike.

Every function takes an open psycopg connection; the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .definitions import Definitions, KpiError, load_definitions
from .evaluate import evaluate, evaluate_projects, resolve_as_of, resolve_year
from .measurements import (
    KPI_MEASUREMENT,
    PROJECT_MEASUREMENT,
    SOURCES,
    Measurement,
    ProjectMeasurement,
    to_project_row,
    to_row,
)
from .rocdate import TAIPEI

# Lines of one import written at one moment still need distinct keys (and keep their order).
_STEP = timedelta(microseconds=1)
_PARTS = KPI_MEASUREMENT.columns.index("parts")


# --- writing ---------------------------------------------------------------------------------


def _insert(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> int:
    stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    stored = 0
    with conn.cursor() as cur:
        for row in rows:
            cur.execute(stmt, row)
            stored += cur.rowcount
    return stored


def _stamped(items: list, source: str, entered_by: str | None, recorded_at: datetime | None) -> list:
    if source not in SOURCES:
        raise KpiError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    now = recorded_at or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise KpiError("recorded_at must be timezone-aware")
    return [dataclasses.replace(m, source=source, entered_by=entered_by,
                                recorded_at=m.recorded_at or now + i * _STEP)
            for i, m in enumerate(items)]


def insert_measurements(conn: psycopg.Connection, measurements: Iterable[Measurement], *, source: str,
                        entered_by: str | None, recorded_at: datetime | None = None) -> int:
    """Store validated measurements as `source`, entered by `entered_by` (both override what the
    records say: whoever writes them here is who entered them). A measurement without its own
    `recorded_at` gets `recorded_at` (default now), one microsecond apart per item in order.
    Returns how many were newly stored (an item whose key is already stored is left as it was)."""
    stamped = _stamped(list(measurements), source, entered_by, recorded_at)
    rows = []
    for m in stamped:
        row = list(to_row(m, m.recorded_at)[1])
        if row[_PARTS] is not None:
            row[_PARTS] = Jsonb(row[_PARTS])
        rows.append(tuple(row))
    return _insert(conn, KPI_MEASUREMENT.name, KPI_MEASUREMENT.columns, rows)


def insert_project_measurements(conn: psycopg.Connection, measurements: Iterable[ProjectMeasurement], *,
                                source: str, entered_by: str | None, recorded_at: datetime | None = None,
                                definitions: Definitions | None = None) -> int:
    """`insert_measurements` for special projects' progress."""
    defs = definitions or load_definitions()
    stamped = _stamped(list(measurements), source, entered_by, recorded_at)
    rows = [to_project_row(m, m.recorded_at, definitions=defs)[1] for m in stamped]
    return _insert(conn, PROJECT_MEASUREMENT.name, PROJECT_MEASUREMENT.columns, rows)


# --- reading ---------------------------------------------------------------------------------


def _select(table: str, columns: tuple[str, ...], where: list[str], order: str, *,
            distinct_on: str | None = None) -> sql.Composed:
    """SELECT the columns with fixed WHERE clauses (values only as %(name)s parameters)."""
    head = sql.SQL("SELECT DISTINCT ON ({}) ").format(sql.Identifier(distinct_on)) if distinct_on else sql.SQL("SELECT ")
    return head + sql.SQL("{} FROM {} WHERE {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table),
        sql.SQL(" AND ").join(sql.SQL(w) for w in where or ["true"]), sql.SQL(order))


def _number(value):
    """A stored double as the number it was (16.0 -> 16), so exact arithmetic sees 16."""
    return int(value) if value is not None and float(value).is_integer() else value


def _measurement(row: dict, defs: Definitions) -> Measurement | None:
    indicator = defs.indicators.get(row["indicator"])
    if indicator is None:
        return None  # an indicator since removed from the definitions: nothing to evaluate it by
    parts = row["parts"]
    return Measurement(
        indicator=row["indicator"], form=indicator.form, as_of=row["as_of"], year=row["year"],
        numerator=_number(row["numerator"]), denominator=_number(row["denominator"]),
        count=row["count"],
        parts=None if parts is None else {k: (_number(d), _number(p)) for k, (d, p) in parts.items()},
        source=row["source"], entered_by=row["entered_by"], recorded_at=row["recorded_at"], note=row["note"],
    )


_FILTERS = {"year": "year = %(year)s", "indicator": "indicator = %(indicator)s",
            "project": "project = %(project)s", "until": "as_of <= %(until)s",
            "recorded_by": "recorded_at <= %(recorded_by)s"}


def _where(**values) -> tuple[list[str], dict]:
    """The WHERE terms and parameters of the filters given (None: not filtered)."""
    params = {name: value for name, value in values.items() if value is not None}
    return [_FILTERS[name] for name in params], params


def measurements(conn: psycopg.Connection, *, year: int | None = None, indicator: str | None = None,
                 until: date | None = None, recorded_by: datetime | None = None,
                 definitions: Definitions | None = None) -> list[Measurement]:
    """Stored measurements, oldest first (by as_of, then recorded_at): of `year` and `indicator`
    when given, with as_of on or before `until`, recorded by `recorded_by` (what was known then)."""
    defs = definitions or load_definitions()
    where, params = _where(year=year, indicator=indicator, until=until, recorded_by=recorded_by)
    query = _select(KPI_MEASUREMENT.name, KPI_MEASUREMENT.columns, where, "as_of, recorded_at")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    found = (_measurement(r, defs) for r in rows)
    return [m for m in found if m is not None]


def latest(conn: psycopg.Connection, year: int, as_of: date, *, recorded_by: datetime | None = None,
           definitions: Definitions | None = None) -> dict[str, Measurement]:
    """Per indicator, the measurement of `year` that counts on `as_of`: the latest as_of on or
    before it, then the latest recorded_at."""
    defs = definitions or load_definitions()
    where, params = _where(year=year, until=as_of, recorded_by=recorded_by)
    query = _select(KPI_MEASUREMENT.name, KPI_MEASUREMENT.columns, where,
                    "indicator, as_of DESC, recorded_at DESC", distinct_on="indicator")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    found = (_measurement(r, defs) for r in rows)
    return {m.indicator: m for m in found if m is not None}


def project_measurements(conn: psycopg.Connection, *, project: str | None = None, until: date | None = None,
                         recorded_by: datetime | None = None) -> list[ProjectMeasurement]:
    """Stored progress of the special projects, oldest first."""
    where, params = _where(project=project, until=until, recorded_by=recorded_by)
    query = _select(PROJECT_MEASUREMENT.name, PROJECT_MEASUREMENT.columns, where, "as_of, recorded_at")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    return [ProjectMeasurement(project=r["project"], as_of=r["as_of"], value=_number(r["value"]),
                               source=r["source"], entered_by=r["entered_by"], recorded_at=r["recorded_at"],
                               note=r["note"]) for r in rows]


# --- evaluating what is stored ---------------------------------------------------------------


def plan_year(day: date, definitions: Definitions | None = None) -> int:
    """The plan year to show on `day`: its own year when the plan sets targets for it, else the
    latest year before it that has targets (else the first year there is)."""
    years = (definitions or load_definitions()).years
    if day.year in years:
        return day.year
    earlier = [y for y in years if y < day.year]
    return earlier[-1] if earlier else years[0]


def _meta(m: Measurement | ProjectMeasurement | None) -> dict | None:
    if m is None:
        return None
    return {"source": m.source, "entered_by": m.entered_by, "note": m.note,
            "recorded_at": None if m.recorded_at is None else m.recorded_at.isoformat()}


def evaluate_stored(conn: psycopg.Connection, year=None, as_of=None, *, recorded_by: datetime | None = None,
                    definitions: Definitions | None = None, today: date | None = None) -> dict:
    """The evaluation of `year` (default: `plan_year` of today) on `as_of` (defaults as in
    `evaluate`) from the stored measurements recorded by `recorded_by`: `evaluate`'s object,
    each indicator with the `measurement` behind its value (source, entered_by, recorded_at,
    note) and its `history` (value per as_of date of the year, the last recorded for each date,
    up to `as_of`)."""
    defs = definitions or load_definitions()
    day = today or datetime.now(TAIPEI).date()
    gregorian = plan_year(day, defs) if year is None else resolve_year(year)
    defs.indicators_for(gregorian)
    resolved = resolve_as_of(gregorian, as_of, today=day)
    chosen = latest(conn, gregorian, resolved, recorded_by=recorded_by, definitions=defs)
    result = evaluate(chosen.values(), gregorian, resolved, defs)
    histories = history(conn, gregorian, resolved, recorded_by=recorded_by)
    for tile in result["indicators"]:
        tile["measurement"] = _meta(chosen.get(tile["id"]))
        tile["history"] = histories.get(tile["id"], [])
    return result


def history(conn: psycopg.Connection, year: int, until: date, *,
            recorded_by: datetime | None = None) -> dict[str, list[dict]]:
    """Per indicator, its value on each as_of date of `year` up to `until` (the last recorded for
    that date), oldest first; None for a 0/0 ratio."""
    where = ["year = %(year)s", "as_of <= %(until)s"]
    params: dict = {"year": year, "until": until}
    if recorded_by is not None:
        where.append("recorded_at <= %(recorded_by)s")
        params["recorded_by"] = recorded_by
    query = sql.SQL("SELECT DISTINCT ON (indicator, as_of) indicator, as_of, value FROM {} WHERE {} "
                    "ORDER BY indicator, as_of, recorded_at DESC").format(
        sql.Identifier(KPI_MEASUREMENT.name), sql.SQL(" AND ").join(sql.SQL(w) for w in where))
    found: dict[str, list[dict]] = {}
    for indicator, day, value in conn.execute(query, params).fetchall():
        found.setdefault(indicator, []).append({"as_of": day.isoformat(), "value": value})
    return found


def history_of(found: Iterable[Measurement]) -> dict[str, list[dict]]:
    """Per indicator, one point per as_of date (the last recorded for it), oldest first."""
    by_day: dict[str, dict[date, Measurement]] = {}
    for m in found:
        by_day.setdefault(m.indicator, {})[m.as_of] = m
    return {iid: [{"as_of": d.isoformat(), "value": m.value} for d, m in sorted(days.items())]
            for iid, days in by_day.items()}


def evaluate_stored_projects(conn: psycopg.Connection, as_of: date | None = None, *,
                             recorded_by: datetime | None = None,
                             definitions: Definitions | None = None) -> list[dict]:
    """Every special project on `as_of` (default today) from its stored progress, each with the
    `measurement` behind it and its `history`."""
    defs = definitions or load_definitions()
    day = as_of or datetime.now(TAIPEI).date()
    found = project_measurements(conn, until=day, recorded_by=recorded_by)
    projects = evaluate_projects(found, day, defs)
    last = {m.project: m for m in found}
    by_day: dict[str, dict[date, ProjectMeasurement]] = {}
    for m in found:
        by_day.setdefault(m.project, {})[m.as_of] = m
    for p in projects:
        p["measurement"] = _meta(last.get(p["id"])) if p["measured_as_of"] else None
        p["history"] = [{"as_of": d.isoformat(), "value": float(m.value)}
                        for d, m in sorted(by_day.get(p["id"], {}).items())]
    return projects


def recent_entries(conn: psycopg.Connection, *, since: datetime, source: str | None = None,
                   limit: int = 10) -> list[dict]:
    """The latest measurements recorded since `since` (indicators' and projects'), newest first:
    item, as_of, value, source, entered_by, recorded_at, note."""
    where = "recorded_at >= %(since)s" + (" AND source = %(source)s" if source else "")
    query = (f"(SELECT indicator AS item, as_of, value, source, entered_by, recorded_at, note FROM kpi_measurement "
             f"WHERE {where} ORDER BY recorded_at DESC LIMIT %(limit)s) UNION ALL "
             f"(SELECT project AS item, as_of, value, source, entered_by, recorded_at, note FROM project_measurement "
             f"WHERE {where} ORDER BY recorded_at DESC LIMIT %(limit)s) ORDER BY recorded_at DESC LIMIT %(limit)s")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"since": since, "source": source, "limit": limit}).fetchall()
