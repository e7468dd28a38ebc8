"""The wall's KPI strip and special-project tiles.

One tile (`kpi`) holds the whole strip: the nine indicators grouped by goal, each with its value
against the target, its status (colour, symbol and word), its pace, a sparkline and the as-of
date and source of its figure, greyed when older than its rhythm expects. A second tile
(`kpi_projects`) shows the special projects' progress against their plan (a straight line
where the plan gives only a duration). Both read the same stored measurements, as known at the
wall's moment (recorded by then), for the plan year of that moment.
"""

from __future__ import annotations

from datetime import datetime

from dash import html

from dashboard.components.kpi import (
    figure,
    is_stale,
    label,
    number,
    pace_text,
    short_date,
    source_word,
    sparkline,
    status_badge,
    symbol,
    year_title,
)
from dashboard.data import live_for, shared
from dashboard.i18n import t
from ioc.kpi import store
from ioc.kpi.rocdate import TAIPEI

from .base import Tile

NORMAL_ONLY = frozenset({"normal"})  # in an emergency the side panel belongs to the emergency


@shared
# Measurements come monthly or quarterly and show at once; the day changing may wait 30 s.
@live_for(30, changed="SELECT (SELECT max(recorded_at) FROM kpi_measurement), "
                      "(SELECT max(recorded_at) FROM project_measurement)")
def kpi_state(db, as_of: datetime) -> dict:
    day = as_of.astimezone(TAIPEI).date()
    with db.connection() as conn:
        evaluation = store.evaluate_stored(conn, recorded_by=as_of, today=day)
        projects = store.evaluate_stored_projects(conn, day, recorded_by=as_of)
    return {"day": day, "evaluation": evaluation, "projects": projects}


def _cell(tile: dict, day, lang: str) -> html.Div:
    stale = is_stale(tile["measured_as_of"], day, tile["id"])
    source = source_word((tile.get("measurement") or {}).get("source"), lang)
    if tile["measured_as_of"] is None:
        when = [t("kpi.no_measurement", lang)]
    elif stale:  # older than its rhythm: said in words and by a mark, not only by the grey
        when = [html.Span(f"▲ {t('kpi.stale', lang)}", className="kpi-stale-mark"), " ",
                short_date(tile["measured_as_of"], lang)]
    else:
        when = [f"{short_date(tile['measured_as_of'], lang)} · {source}"]
    return html.Div(
        className=f"kpi-cell kpi-{tile['status']}" + (" kpi-stale" if stale else ""),
        id=f"kpi-cell-{tile['id']}",
        **{"data-indicator": tile["id"], "data-status": tile["status"], "data-stale": "1" if stale else "0"},
        title=f"{tile['id']} {tile['name_zh'] if lang != 'en' else tile['name_en']}",
        children=[
            html.Div([html.Span(tile["id"], className="kpi-id"),
                      html.Span(label("short", tile["id"], tile["name_zh"], lang), className="kpi-name")],
                     className="kpi-cell-head"),
            html.Div([html.Span(symbol(tile["status"]), className="kpi-symbol", **{"aria-hidden": "true"}),
                      html.Span(figure(tile["value"], tile, lang, 2), className="kpi-value")],
                     className="kpi-cell-value"),
            html.Div([status_badge(tile["status"], lang, class_name="kpi-word"),
                      html.Span(f"{t('kpi.target', lang)} {figure(tile['target'], tile, lang)}", className="kpi-target")],
                     className="kpi-cell-status"),
            sparkline(tile.get("history") or [], tile["target"]),
            html.Div(pace_text(tile, lang, compact=True), className="kpi-pace") if tile["expected"] is not None else None,
            html.Div(when, className="kpi-when", title=f"{tile['measured_as_of'] or ''} {source}"),
        ])


def render_strip(data: dict, lang: str, as_of: datetime) -> html.Div:
    evaluation, day = data["evaluation"], data["day"]
    tiles = {tile["id"]: tile for tile in evaluation["indicators"]}
    goals = []
    for goal in evaluation["goals"]:
        members = [tiles[i] for i in goal["indicators"]]
        goals.append(html.Div(
            className="kpi-goal", **{"data-goal": goal["id"]},
            style={"gridColumn": f"span {min(len(members), 3)}"},
            children=[html.Div(f"{goal['id']} {label('goal_short', goal['id'], goal['name_zh'], lang)}",
                               className="kpi-goal-label"),
                      html.Div([_cell(m, day, lang) for m in members], className="kpi-goal-cells",
                               style={"gridTemplateColumns": f"repeat({min(len(members), 3)}, 1fr)"})]))
    return html.Div(
        className="tile kpi-strip", id={"type": "tile", "id": "kpi"}, **{"data-state": "ok", "data-year": str(evaluation["year"])},
        children=[
            html.Div(className="kpi-strip-head", children=[
                html.Span(t("kpi.title", lang), className="kpi-strip-title"),
                html.Span(year_title(evaluation["year"], lang), className="kpi-strip-year"),
                html.Span([html.Span(t("kpi.score", lang), className="kpi-score-label"),
                           html.Span(number(evaluation["score"], 1), className="kpi-score")],
                          className="kpi-strip-score"),
                html.Span(t("kpi.as_of", lang, date=short_date(evaluation["as_of"], lang)), className="kpi-strip-asof"),
            ]),
            html.Div(goals, className="kpi-grid"),
        ])


def _project_row(p: dict, day, lang: str) -> html.Div:
    stale = is_stale(p["measured_as_of"], day, p["id"], project=True)
    bar = None
    if p["target"]:
        done = min(100.0, 100 * (p["value"] or 0) / p["target"])
        children = [html.Div(className="kpi-progress-done", style={"width": f"{done:.1f}%"})]
        if p["expected"] is not None:
            planned = min(100.0, 100 * p["expected"] / p["target"])
            children.append(html.Div(className="kpi-progress-plan", style={"left": f"{planned:.1f}%"},
                                     title=f"{t('kpi.projects.plan_line', lang)} {number(p['expected'], 0)}"))
        bar = html.Div(children, className="kpi-progress")
    if p["target"]:
        amount = f"{number(p['value'], 1)} / {figure(p['target'], p, lang, 0)}"
    elif p["value"] is not None:
        amount = figure(p["value"], p, lang, 1)
    else:
        amount = "—"
    return html.Div(
        className=f"kpi-project kpi-{p['status']}" + (" kpi-stale" if stale else ""),
        **{"data-project": p["id"], "data-status": p["status"], "data-stale": "1" if stale else "0"},
        children=[
            html.Div([html.Span(label("project_short", p["id"], p["name_zh"], lang), className="kpi-name"),
                      status_badge(p["status"], lang, class_name="kpi-word")], className="kpi-project-head"),
            bar,
            html.Div([html.Span(amount, className="kpi-project-amount"),
                      html.Span(short_date(p["measured_as_of"], lang) if p["measured_as_of"] else t("kpi.no_measurement", lang),
                                className="kpi-when")], className="kpi-project-foot"),
        ])


def render_projects(data: dict, lang: str, as_of: datetime) -> html.Div:
    return html.Div(
        className="tile kpi-projects", id={"type": "tile", "id": "kpi_projects"}, **{"data-state": "ok"},
        children=[html.Div(t("kpi.projects.title", lang), className="kpi-strip-title"),
                  html.Div([_project_row(p, data["day"], lang) for p in data["projects"]], className="kpi-project-grid")])


KPI_STRIP = Tile(id="kpi", order=60, query=kpi_state, render=render_strip, levels=NORMAL_ONLY, section="kpi")
KPI_PROJECTS = Tile(id="kpi_projects", order=61, query=kpi_state, render=render_projects, levels=NORMAL_ONLY,
                    section="kpi")
