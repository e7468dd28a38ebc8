"""`ioc kpi`: the plan's performance indicators.

- `ioc kpi evaluate --measurements FILE --year YEAR [--as-of DATE] [--json]` evaluates a JSON-lines
  file (no service needed): with --json it prints exactly the object `ioc.kpi.evaluate_file`
  returns, else a table. Refused input (a bad line, an unknown year or date): the reason on
  stderr, exit 2.
- `ioc kpi import FILE` stores a JSON-lines file of measurements (indicators' and special
  projects') in the history, all or nothing: one bad line and nothing is written, every problem
  listed with its line number (exit 2).
- `ioc kpi show [--year YEAR] [--as-of DATE] [--json]` evaluates what is stored.
"""

from __future__ import annotations

import sys

import click
import orjson

from ioc.cli import main


def _refuse(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def _print_json(obj) -> None:
    out = sys.stdout.buffer
    out.write(orjson.dumps(obj) + b"\n")
    out.flush()


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _figure(value, unit: str) -> str:
    if value is None:
        return "-"
    number = str(value) if isinstance(value, int) else f"{value:.2f}"
    return f"{number}%" if unit == "%" else f"{number} {unit}"


def _table(result: dict) -> str:
    """The evaluation as a plain-text table (ASCII columns; the names last)."""
    head = (f"KPIs of {result['year']} (ROC {result['roc_year']}) as of {result['as_of']}: "
            f"score {result['score']:.2f} / 100"
            + (f" ({result['score_measured']:.2f} over the indicators with data)"
               if result.get("score_measured") is not None else ""))
    columns = ("id", "value", "target", "expected", "weight", "attainment", "status", "measured", "name")
    rows = [columns]
    by_id = {t["id"]: t for t in result["indicators"]}
    for goal in result["goals"]:
        for iid in goal["indicators"]:
            t = by_id[iid]
            rows.append((
                t["id"], _figure(t["value"], t["unit"]), _figure(t["target"], t["unit"]),
                "-" if t["expected"] is None else f"{t['expected']:.2f}",
                f"{t['weight']:g}%", _percent(t["attainment"]), t["status"],
                t["measured_as_of"] or "-", f"{goal['id']} {t['name_en']}",
            ))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(columns) - 1)]
    lines = [head, ""]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    return "\n".join(lines)


@main.group()
def kpi() -> None:
    """The plan's performance indicators (績效指標): evaluate, import, show."""


@kpi.command("evaluate")
@click.option("--measurements", "measurements_file", required=True, metavar="FILE",
              type=click.Path(dir_okay=False), help="JSON lines, one measurement a line.")
@click.option("--year", required=True, metavar="YEAR", help="Gregorian (2015) or ROC (roc104).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Evaluation date (default: today or the year's end, whichever is earlier).")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as one JSON object.")
def kpi_evaluate(measurements_file: str, year: str, as_of: str | None, as_json: bool) -> None:
    """Evaluate the measurements of FILE for YEAR: every indicator's value, target, attainment,
    status, and the weighted score."""
    from ioc.kpi import KpiError, evaluate_file

    try:
        result = evaluate_file(measurements_file, year, as_of)
    except KpiError as exc:
        _refuse(str(exc))
    if as_json:
        _print_json(result)
    else:
        click.echo(_table(result))


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a bare container)
        return "unknown"


@kpi.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only validate; write nothing.")
def kpi_import(file: str, dry_run: bool) -> None:
    """Store the measurements of FILE (JSON lines; indicators' and special projects') in the
    history, source `file`, entered by you. All or nothing: any bad line and nothing is stored."""
    from ioc.kpi import KpiError
    from ioc.kpi.measurements import read_any_measurements

    try:
        indicators, projects = read_any_measurements(file)
    except KpiError as exc:
        _refuse(f"nothing imported: {exc}")
    if not indicators and not projects:
        _refuse(f"nothing imported: {file} holds no measurement")
    if dry_run:
        click.echo(f"{file}: {len(indicators)} indicator and {len(projects)} project measurement(s) valid; "
                   "nothing written (--dry-run)")
        return
    stored = _store(file, indicators, projects)
    already = f"; {stored['already']} already stored, left as they were" if stored["already"] else ""
    click.echo(f"imported {stored['indicators']} indicator and {stored['projects']} project measurement(s) "
               f"from {file} (source file, entered by {stored['entered_by']}){already}")


def _store(file: str, indicators: list, projects: list) -> dict:
    import os

    import psycopg

    from dashboard.auth import audit
    from ioc.db import connect
    from ioc.kpi import store
    from ioc.services import endpoints

    user = _os_user()
    try:
        conn = connect(endpoints().database_url, application_name="ioc-kpi-import")
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported, not a traceback
        _refuse(f"nothing imported: cannot reach the database: {exc}")
    try:
        with conn, conn.transaction():
            written = store.insert_measurements(conn, indicators, source="file", entered_by=user)
            written_projects = store.insert_project_measurements(conn, projects, source="file", entered_by=user)
            audit.record(conn, actor=f"cli:{user}", role=None, action="kpi.import",
                         target=os.path.abspath(file)[:200],
                         after={"indicators": written, "projects": written_projects,
                                "lines": len(indicators) + len(projects),
                                "items": sorted({m.indicator for m in indicators} | {m.project for m in projects})})
    except psycopg.Error as exc:  # the transaction is rolled back: still nothing imported
        _refuse(f"nothing imported: the database refused the import: {exc}")
    return {"indicators": written, "projects": written_projects, "entered_by": user,
            "already": len(indicators) + len(projects) - written - written_projects}


@kpi.command("show")
@click.option("--year", default=None, metavar="YEAR", help="Gregorian or roc104 (default: the current plan year).")
@click.option("--as-of", "as_of", default=None, metavar="DATE")
@click.option("--json", "as_json", is_flag=True)
def kpi_show(year: str | None, as_of: str | None, as_json: bool) -> None:
    """Evaluate the stored measurements (what the wall shows)."""
    import psycopg

    from ioc.db import connect
    from ioc.kpi import KpiError, store
    from ioc.services import endpoints

    try:
        with connect(endpoints().database_url, autocommit=True, application_name="ioc-cli") as conn:
            result = store.evaluate_stored(conn, year, as_of)
    except KpiError as exc:
        _refuse(str(exc))
    except psycopg.Error as exc:
        _refuse(f"cannot read the stored measurements: {exc}")
    if as_json:
        _print_json(result)
    else:
        click.echo(_table(result))
