"""The situation report (災情/應變處置報告) of a moment: the level, alerts in force, open
incidents, tasks and their state, shelters, staffing and coverage loss — as HTML (a Jinja
template, dashboard/templates/sitrep.html) and as PDF (WeasyPrint, offline, with the installed
Noto CJK fonts). Every figure is read "as of" the moment, so a past report can be rebuilt."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from . import agencies, shelters, staffing, tasks
from .levels import level_at

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "dashboard" / "templates"
INCIDENT_LOOKBACK = timedelta(days=7)  # an incident not updated for this long is not in the report
COVERAGE_LOOKBACK = timedelta(hours=6)


def _rows(conn, query: str, params) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def alerts_in_force(conn: psycopg.Connection, as_of: datetime) -> list[dict]:
    """One row per alert message in force, its districts merged over its areas."""
    return _rows(conn, """
        SELECT sender, identifier, sent, max(severity_rank) AS severity_rank,
               (array_agg(severity ORDER BY severity_rank DESC))[1] AS severity,
               min(event) AS event, min(headline) AS headline, min(sender_name) AS sender_name,
               min(effective) AS effective, max(expires_at) AS expires_at,
               array_agg(DISTINCT d) FILTER (WHERE d IS NOT NULL) AS districts,
               string_agg(DISTINCT area_desc, '、') AS area_desc
          FROM cap_alerts_in_force(%(as_of)s) LEFT JOIN LATERAL unnest(districts) AS d ON true
         GROUP BY sender, identifier, sent
         ORDER BY max(severity_rank) DESC, sent DESC""", {"as_of": as_of})


def open_incidents(conn: psycopg.Connection, as_of: datetime) -> list[dict]:
    """Incidents not closed at `as_of` (their newest update then), most urgent first."""
    return _rows(conn, """
        SELECT * FROM (
            SELECT DISTINCT ON (id) id, category, priority, status, district, address, reported_at, updated_at
              FROM incident_history WHERE updated_at <= %(as_of)s AND updated_at > %(since)s
             ORDER BY id, updated_at DESC) latest
         WHERE status <> 'closed' ORDER BY priority, reported_at""",
                 {"as_of": as_of, "since": as_of - INCIDENT_LOOKBACK})


def coverage_loss(conn: psycopg.Connection, as_of: datetime) -> dict | None:
    """The newest coverage snapshot at or before `as_of`: the city and its districts that lost
    coverage (stations down or population not covered). None when no snapshot exists."""
    try:
        with conn.transaction():
            rows = _rows(conn, """
                WITH newest AS (SELECT max(time) AS time FROM coverage_snapshot
                                 WHERE scope = 'city' AND time <= %(as_of)s AND time > %(since)s)
                SELECT c.scope, c.code, c.time, c.population, c.covered_population, c.pct_population,
                       c.stations_up, c.stations_down
                  FROM coverage_snapshot c JOIN newest n ON c.time = n.time
                 WHERE c.scope IN ('city', 'district') AND c.time <= %(as_of)s AND c.time > %(since)s
                 ORDER BY c.scope, c.pct_population NULLS LAST""",
                         {"as_of": as_of, "since": as_of - COVERAGE_LOOKBACK})
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return None
    city = next((r for r in rows if r["scope"] == "city"), None)
    if city is None:
        return None
    districts = [r for r in rows if r["scope"] == "district" and (r["stations_down"] or (r["pct_population"] or 100) < 100)]
    return {"time": city["time"], "city": city, "districts": districts}


def build(conn: psycopg.Connection, as_of: datetime) -> dict:
    """Everything the report shows at `as_of`."""
    level = level_at(conn, as_of)
    open_tasks = tasks.open_at(conn, as_of)
    shelter_rows = shelters.open_at(conn, as_of)
    return {
        "as_of": as_of,
        "generated_at": datetime.now(timezone.utc),
        "level": level,
        "alerts": alerts_in_force(conn, as_of),
        "incidents": open_incidents(conn, as_of),
        "board": tasks.board(conn, as_of),
        "tasks": open_tasks,
        "shelters": shelter_rows,
        "shelter_summary": shelters.summary(shelter_rows),
        "staffing": staffing.staffing_at(conn, level["level"], as_of),
        "coverage": coverage_loss(conn, as_of),
    }


@cache
def _district_names() -> dict[str, tuple[str, str]]:
    from dashboard.basemap import districts

    return {a.code: (a.name, a.name_en) for a in districts()}


def district_name(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    names = _district_names().get(code)
    if names is None:
        return code
    return names[0] if lang == "zh-TW" or not names[1] else names[1]


def agency_name(code: str, lang: str) -> str:
    found = agencies.agency(code)
    if found is None:
        return code
    return found["name_zh"] if lang == "zh-TW" else found["name_en"]


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    # Autoescape: alert headlines and incident addresses are feed text, shown inert.
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def render_html(report: dict, lang: str) -> str:
    from dashboard.i18n import fmt_age, fmt_date, fmt_number, fmt_time, t

    template = _environment().get_template("sitrep.html")
    return template.render(
        r=report, lang=lang, t=lambda key, **kw: t(key, lang, **kw),
        time=lambda dt: fmt_time(dt, lang, seconds=False) if dt else "—",
        date=lambda dt: fmt_date(dt, lang),
        age=lambda s: fmt_age(s, lang) if s is not None else "—",
        minutes=lambda s: fmt_number(s / 60, lang, 1) if s is not None else "—",
        number=lambda v, d=0: fmt_number(v, lang, d),
        district=lambda code: district_name(code, lang),
        agency=lambda code: agency_name(code, lang),
        css=(TEMPLATES / "sitrep.css").read_text(encoding="utf-8"))


def render_pdf(html: str) -> bytes:
    """The HTML as an A4 PDF. Nothing is fetched: the report carries its own styles and the
    fonts are the system's (Noto Sans CJK TC)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
