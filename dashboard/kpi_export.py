"""KPI exports, served as plain Flask routes (installed by `dashboard/pages/kpi.py`, declared with
`route_roles`): `/kpi/export.csv` (the evaluation, or with `what=measurements` every stored
measurement of the year) and `/kpi/report` (a printable HTML report; the browser's Print saves
it as PDF). Query: `year` (2015 or roc104), `as_of` (a date), `lang`.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from flask import Response, render_template, request

from dashboard.components.kpi import (
    figure,
    is_stale,
    label,
    name_of,
    number,
    pace_text,
    short_date,
    source_word,
    status_word,
    symbol,
    year_title,
)
from dashboard.i18n import fmt_date, fmt_time, lang_or_default, t
from dashboard.runtime import database
from ioc.kpi import KpiError, store

EVALUATION_COLUMNS = (
    "year", "as_of", "goal", "indicator", "name_zh", "name_en", "value", "target", "unit", "weight",
    "attainment", "status", "expected", "contribution", "measured_as_of", "source", "entered_by", "recorded_at",
)
MEASUREMENT_COLUMNS = (
    "indicator", "year", "as_of", "numerator", "denominator", "count", "parts", "value", "source",
    "entered_by", "recorded_at", "note",
)
# A spreadsheet runs a cell that starts with one of these as a formula: keep text as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _evaluation(year, as_of) -> dict:
    with database().pool.connection() as conn:
        return store.evaluate_stored(conn, year or None, as_of or None)


def _bad_request(exc: Exception) -> Response:
    return Response(str(exc), status=400, mimetype="text/plain")


def export_csv() -> Response:
    what = request.args.get("what", "evaluation")
    try:
        evaluation = _evaluation(request.args.get("year"), request.args.get("as_of"))
    except KpiError as exc:
        return _bad_request(exc)
    out = io.StringIO()
    writer = csv.writer(out)
    if what == "measurements":
        writer.writerow(MEASUREMENT_COLUMNS)
        with database().pool.connection() as conn:
            found = store.measurements(conn, year=evaluation["year"])
        for m in found:
            parts = None if m.parts is None else "; ".join(f"{k} {d}/{p}" for k, (d, p) in m.parts.items())
            writer.writerow([_cell(v) for v in (
                m.indicator, m.year, m.as_of.isoformat(), m.numerator, m.denominator, m.count, parts, m.value,
                m.source, m.entered_by, m.recorded_at.isoformat() if m.recorded_at else None, m.note)])
        name = f"kpi-measurements-{evaluation['year']}.csv"
    else:
        writer.writerow(EVALUATION_COLUMNS)
        for ti in evaluation["indicators"]:
            meta = ti.get("measurement") or {}
            writer.writerow([_cell(v) for v in (
                evaluation["year"], evaluation["as_of"], ti["goal"], ti["id"], ti["name_zh"], ti["name_en"],
                ti["value"], ti["target"], ti["unit"], ti["weight"], ti["attainment"], ti["status"], ti["expected"],
                ti["contribution"], ti["measured_as_of"], meta.get("source"), meta.get("entered_by"),
                meta.get("recorded_at"))])
        writer.writerow([])
        writer.writerow(["score", evaluation["score"], "score_measured", evaluation["score_measured"]])
        name = f"kpi-{evaluation['year']}-{evaluation['as_of']}.csv"
    # UTF-8 with a BOM: Excel on Windows reads the Chinese names right.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def report() -> Response:
    lang = lang_or_default(request.args.get("lang"))
    try:
        evaluation = _evaluation(request.args.get("year"), request.args.get("as_of"))
        with database().pool.connection() as conn:
            projects = store.evaluate_stored_projects(conn, date.fromisoformat(evaluation["as_of"]))
    except KpiError as exc:
        return _bad_request(exc)
    day = date.fromisoformat(evaluation["as_of"])
    now = datetime.now(timezone.utc)
    by_id = {ti["id"]: ti for ti in evaluation["indicators"]}
    goals = []
    for goal in evaluation["goals"]:
        rows = []
        for iid in goal["indicators"]:
            ti = by_id[iid]
            meta = ti.get("measurement") or {}
            rows.append({
                "id": iid, "name": name_of(ti, lang), "short": label("short", iid, ti["name_zh"], lang),
                "value": figure(ti["value"], ti, lang), "target": figure(ti["target"], ti, lang),
                "attainment": "—" if ti["attainment"] is None else f"{number(100 * ti['attainment'], 1)}%",
                "status": ti["status"], "symbol": symbol(ti["status"]), "status_word": status_word(ti["status"], lang),
                "pace": pace_text(ti, lang), "weight": f"{number(ti['weight'])}%", "points": number(ti["contribution"]),
                "measured": short_date(ti["measured_as_of"], lang), "source": source_word(meta.get("source"), lang),
                "entered_by": meta.get("entered_by") or "—",
                "stale": ti["measured_as_of"] is not None and is_stale(ti["measured_as_of"], day, iid),
            })
        goals.append({"title": f"{goal['id']} {name_of(goal, lang)} ({number(goal['weight'])}%)", "rows": rows})
    project_rows = [{
        "name": name_of(p, lang), "value": figure(p["value"], p, lang),
        "target": figure(p["target"], p, lang) if p["target"] else "—",
        "expected": figure(p["expected"], p, lang, 1) if p["expected"] is not None else "—",
        "status": p["status"], "symbol": symbol(p["status"]), "status_word": status_word(p["status"], lang),
        "measured": short_date(p["measured_as_of"], lang),
    } for p in projects]
    html = render_template(
        "kpi_report.html", lang=lang, tr=lambda key, **kw: t(key, lang, **kw),
        title=t("kpi.report_title", lang), year=year_title(evaluation["year"], lang),
        as_of=t("kpi.as_of", lang, date=short_date(evaluation["as_of"], lang)),
        score=number(evaluation["score"], 2), score_measured=number(evaluation["score_measured"], 2),
        generated=t("kpi.report_generated", lang, time=f"{fmt_date(now, lang)} {fmt_time(now, lang)}"),
        goals=goals, projects=project_rows,
        back=f"/kpi?lang={lang}&year={evaluation['year']}&as_of={evaluation['as_of']}")
    return Response(html, mimetype="text/html")
