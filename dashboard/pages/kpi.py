"""/kpi: the plan's performance indicators for leadership (everyone signed in may look).

The weighted score, every indicator by goal (value, target, attainment, status, pace, the figure
behind it), the history of one indicator (chart) and the measurements behind its value (who
entered each, from which source, when), the special projects, and exports: CSV
(`/kpi/export.csv`, a Flask route declared with `route_roles`) and a printable report
(`/kpi/report`). Query: `lang`, `year` (2015 or roc104), `as_of` (a date), `indicator`.
"""

from __future__ import annotations

import calendar
from datetime import date
from urllib.parse import urlencode

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

from dashboard import access, kpi_export
from dashboard.auth.web import route_roles
from dashboard.components.kpi import (
    figure,
    is_stale,
    name_of,
    number,
    pace_text,
    recorded_text,
    short_date,
    source_word,
    status_badge,
    year_title,
)
from dashboard.i18n import lang_or_default, t
from dashboard.runtime import database
from ioc.kpi import KpiError, evaluate_indicator, load_definitions, resolve_year, store
from ioc.kpi.rocdate import today_in_taipei

ENTRY_ROLES = frozenset({access.KPI_STAFF, access.ADMIN})


def _year_options(lang: str) -> list[dict]:
    return [{"label": t("kpi.year_option", lang, n=y - 1911, year=y), "value": y}
            for y in load_definitions().years]


def _initial_year(year: str | None) -> int:
    defs = load_definitions()
    try:
        chosen = resolve_year(year) if year else store.plan_year(today_in_taipei(), defs)
    except KpiError:
        chosen = store.plan_year(today_in_taipei(), defs)
    return chosen if chosen in defs.years else store.plan_year(today_in_taipei(), defs)


def layout(lang: str | None = None, year: str | None = None, as_of: str | None = None,
           indicator: str | None = None, **_query):
    lang = lang_or_default(lang)
    defs = load_definitions()
    chosen_year = _initial_year(year)
    chosen_indicator = indicator if indicator in defs.indicators else next(iter(defs.indicators))
    role = access.current_role()
    entry_link = (dcc.Link(t("kpi.entry_link", lang), href=f"/kpi/entry?lang={lang}", className="kpi-button",
                           id="kpi-entry-link") if role in ENTRY_ROLES else None)
    return html.Div(className="kpi-page", children=[
        dcc.Store(id="kpi-params", data={"lang": lang}),
        html.Nav(className="kpi-links", children=[
            dcc.Link(t("nav.wall", lang), href=f"/wall?lang={lang}"),
            html.A("中文", href="?lang=zh-TW"), html.A("EN", href="?lang=en"),
        ]),
        html.H1(t("kpi.title", lang)),
        html.Div(className="kpi-toolbar", children=[
            html.Label([t("kpi.choose_year", lang),
                        dcc.Dropdown(id="kpi-year", options=_year_options(lang), value=chosen_year,
                                     clearable=False, style={"minWidth": "14rem"})]),
            html.Label([t("kpi.choose_as_of", lang),
                        dcc.Input(id="kpi-as-of", type="date", value=as_of or "", debounce=True,
                                  style={"width": "11rem"})]),
            html.Label([t("kpi.choose_indicator", lang),
                        dcc.Dropdown(id="kpi-indicator", clearable=False, value=chosen_indicator,
                                     options=[{"label": f"{i.id} {name_of(i.__dict__, lang)}", "value": i.id}
                                              for i in defs.indicators.values()],
                                     style={"minWidth": "22rem"})]),
            html.Div(className="kpi-links", children=[
                html.A(t("kpi.export_csv", lang), id="kpi-csv", className="kpi-button", href="/kpi/export.csv"),
                html.A(t("kpi.export_history_csv", lang), id="kpi-history-csv", className="kpi-button",
                       href="/kpi/export.csv?what=measurements"),
                html.A(t("kpi.report", lang), id="kpi-report", className="kpi-button", href="/kpi/report",
                       target="_blank"),
                entry_link,
            ]),
        ]),
        html.Div(id="kpi-summary"),
        html.H2(t("kpi.history", lang)),
        dcc.Graph(id="kpi-history", className="kpi-history-graph", config={"displayModeBar": False}),
        html.H2(t("kpi.drilldown", lang)),
        html.P(t("kpi.drilldown_hint", lang), className="kpi-hint"),
        html.Div(id="kpi-drilldown"),
        html.H2(t("kpi.projects.title", lang)),
        html.Div(id="kpi-projects"),
    ])


access.register_page(__name__, path="/kpi", roles=access.VIEWERS, layout=layout, title="施政績效 KPI")


# -- the page's one callback: everything follows the year, the date and the indicator ---------
@access.callback(
    Output("kpi-summary", "children"), Output("kpi-history", "figure"), Output("kpi-drilldown", "children"),
    Output("kpi-projects", "children"), Output("kpi-csv", "href"), Output("kpi-history-csv", "href"),
    Output("kpi-report", "href"),
    Input("kpi-year", "value"), Input("kpi-as-of", "value"), Input("kpi-indicator", "value"),
    State("kpi-params", "data"),
    roles=access.VIEWERS)
def refresh(year, as_of, indicator, params):
    lang = lang_or_default((params or {}).get("lang"))
    defs = load_definitions()
    year = year if year in defs.years else store.plan_year(today_in_taipei(), defs)
    indicator = indicator if indicator in defs.indicators else next(iter(defs.indicators))
    try:
        with database().pool.connection() as conn:
            evaluation = store.evaluate_stored(conn, year, as_of or None)
            found = store.measurements(conn, year=year, indicator=indicator)
            projects = store.evaluate_stored_projects(conn, date.fromisoformat(evaluation["as_of"]))
    except KpiError as exc:  # a date that is not a date: say so where the table would be
        message = html.Div(str(exc), className="kpi-errors")
        return message, go.Figure(), None, None, dash.no_update, dash.no_update, dash.no_update
    query = {"year": evaluation["year"], "as_of": evaluation["as_of"], "lang": lang}
    tile = next(ti for ti in evaluation["indicators"] if ti["id"] == indicator)
    return (summary(evaluation, indicator, lang), history_figure(tile, found, evaluation, lang),
            drilldown(found, tile, lang), projects_table(projects, date.fromisoformat(evaluation["as_of"]), lang),
            f"/kpi/export.csv?{urlencode(query)}", f"/kpi/export.csv?{urlencode({**query, 'what': 'measurements'})}",
            f"/kpi/report?{urlencode(query)}")


def summary(evaluation: dict, selected: str, lang: str) -> html.Div:
    day = date.fromisoformat(evaluation["as_of"])
    by_id = {ti["id"]: ti for ti in evaluation["indicators"]}
    head = html.Tr([html.Th(t(k, lang)) for k in (
        "kpi.indicator", "kpi.value", "kpi.target", "kpi.attainment", "kpi.status_label", "kpi.pace",
        "kpi.weight", "kpi.contribution", "kpi.measured", "kpi.source_label", "kpi.entered_by")])
    rows = [head]
    for goal in evaluation["goals"]:
        rows.append(html.Tr(html.Td(f"{goal['id']} {name_of(goal, lang)} · {t('kpi.weight', lang)} {number(goal['weight'])}%",
                                    colSpan=11), className="kpi-goal-row"))
        for iid in goal["indicators"]:
            ti = by_id[iid]
            meta = ti.get("measurement") or {}
            stale = is_stale(ti["measured_as_of"], day, iid)
            link = dcc.Link(f"{iid} {name_of(ti, lang)}", className="kpi-row-link",
                            href=f"/kpi?{urlencode({'lang': lang, 'year': evaluation['year'], 'as_of': evaluation['as_of'], 'indicator': iid})}")
            rows.append(html.Tr(className=("kpi-selected " if iid == selected else "") + ("kpi-stale" if stale else ""),
                                **{"data-indicator": iid, "data-status": ti["status"]}, children=[
                html.Td(link),
                html.Td(figure(ti["value"], ti, lang), className="kpi-num kpi-value-cell"),
                html.Td(figure(ti["target"], ti, lang), className="kpi-num"),
                html.Td("—" if ti["attainment"] is None else f"{number(100 * ti['attainment'], 1)}%", className="kpi-num"),
                html.Td(status_badge(ti["status"], lang)),
                html.Td(pace_text(ti, lang)),
                html.Td(f"{number(ti['weight'])}%", className="kpi-num"),
                html.Td(number(ti["contribution"]), className="kpi-num"),
                html.Td([short_date(ti["measured_as_of"], lang),
                         html.Span(f" ▲ {t('kpi.stale', lang)}", className="kpi-stale-mark") if stale and ti["measured_as_of"] else None],
                        className="kpi-when-cell"),
                html.Td(source_word(meta.get("source"), lang)),
                html.Td(meta.get("entered_by") or "—"),
            ]))
    scoreboard = html.Div(className="kpi-scoreboard", children=[
        html.Span(year_title(evaluation["year"], lang), className="kpi-strip-year"),
        html.Span(t("kpi.as_of", lang, date=short_date(evaluation["as_of"], lang))),
        html.Span([t("kpi.score", lang), " ", html.Span(number(evaluation["score"], 2), className="kpi-score", id="kpi-score"),
                   " ", t("kpi.score_of", lang)]),
        html.Span(t("kpi.score_measured", lang, score=number(evaluation["score_measured"], 2))),
    ])
    return html.Div([scoreboard, html.Table(rows, className="kpi-table", id="kpi-table")])


def _expected_line(indicator_id: str, year: int, as_of: date) -> tuple[list, list]:
    """What the schedule expects from 1 January to `as_of`, at each month's end (where the
    plan's deadlines fall) and on `as_of` itself; nothing for ratios, which carry no pace."""
    indicator = load_definitions().indicators[indicator_id]
    end = min(as_of, date(year, 12, 31))
    days = [date(year, 1, 1)]
    for month in range(1, 13):
        month_end = date(year, month, calendar.monthrange(year, month)[1])
        if month_end <= end:
            days.append(month_end)
    if end >= days[-1]:
        days.append(end)
    xs, ys = [], []
    for day in days:
        expected = evaluate_indicator(indicator, year, None, day)["expected"]
        if expected is None:
            return [], []
        xs.append(day.isoformat())
        ys.append(expected)
    return xs, ys


def history_figure(tile: dict, found: list, evaluation: dict, lang: str) -> go.Figure:
    year, as_of = evaluation["year"], date.fromisoformat(evaluation["as_of"])
    points = store.history_of(found).get(tile["id"], [])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p["as_of"] for p in points], y=[p["value"] for p in points], mode="lines+markers",
                             name=t("kpi.value", lang), line={"color": "#56b4e9", "width": 3}, marker={"size": 9}))
    xs, ys = _expected_line(tile["id"], year, as_of)
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "dash": "dot", "color": "#f0a01e"},
                                 name=f"{t('kpi.expected', lang)} ({t('kpi.pace', lang)})"))
    fig.add_hline(y=tile["target"], line={"dash": "dash", "color": "#35c9a0"},
                  annotation_text=f"{t('kpi.target', lang)} {figure(tile['target'], tile, lang)}")
    fig.update_layout(
        title=f"{tile['id']} {name_of(tile, lang)}", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#111b2b",
        font={"color": "#e8eef5"}, margin={"l": 50, "r": 20, "t": 50, "b": 40}, legend={"orientation": "h"},
        xaxis={"range": [f"{year}-01-01", f"{year}-12-31"], "gridcolor": "#22324a"},
        yaxis={"title": tile["unit_zh"] if lang != "en" else tile["unit"], "gridcolor": "#22324a", "rangemode": "tozero"},
    )
    return fig


def _raw(m) -> str:
    if m.form == "ratio":
        return f"{number(m.numerator)} / {number(m.denominator)}"
    if m.form == "count":
        return str(m.count)
    return ", ".join(f"{name} {number(d)}/{number(p)}" for name, (d, p) in m.parts.items())


def drilldown(found: list, tile: dict, lang: str):
    """Every measurement of the indicator this year, newest first; the one that counts marked."""
    if not found:
        return html.P(t("kpi.no_measurement", lang), className="kpi-hint", id="kpi-drilldown-empty")
    counted = tile.get("measurement") or {}
    head = html.Tr([html.Th(x) for x in ("", t("kpi.measured", lang), t("kpi.value", lang), t("kpi.parts", lang),
                                         t("kpi.source_label", lang), t("kpi.entered_by", lang),
                                         t("kpi.recorded_at", lang), t("kpi.note", lang))])
    rows = [head]
    for m in reversed(found):
        is_counted = (tile["measured_as_of"] == m.as_of.isoformat()
                      and counted.get("recorded_at") == (m.recorded_at.isoformat() if m.recorded_at else None))
        rows.append(html.Tr(className="kpi-counted" if is_counted else None,
                            **{"data-source": m.source or "", "data-counted": "1" if is_counted else "0"}, children=[
            html.Td("★" if is_counted else ""),
            html.Td(short_date(m.as_of, lang)),
            html.Td(figure(m.value, tile, lang), className="kpi-num"),
            html.Td(_raw(m), className="kpi-parts"),
            html.Td(source_word(m.source, lang)),
            html.Td(m.entered_by or "—"),
            html.Td(recorded_text(m.recorded_at, lang)),
            html.Td(m.note or ""),
        ]))
    return html.Table(rows, className="kpi-table", id="kpi-drilldown-table")


def projects_table(projects: list[dict], day: date, lang: str) -> html.Table:
    head = html.Tr([html.Th(t(k, lang)) for k in (
        "entry.project", "kpi.value", "kpi.target", "kpi.projects.plan_line", "kpi.status_label", "kpi.measured",
        "kpi.source_label", "kpi.entered_by")])
    rows = [head]
    for p in projects:
        meta = p.get("measurement") or {}
        span = (f"{short_date(p['start'], lang)} – {short_date(p['end'], lang)}"
                + (f" ({t('kpi.projects.assumed', lang)})" if p.get("dates_basis") == "assumed" else "")
                if p["start"] else t("kpi.projects.no_plan", lang))
        rows.append(html.Tr(**{"data-project": p["id"], "data-status": p["status"]}, children=[
            html.Td(name_of(p, lang)),
            html.Td(figure(p["value"], p, lang), className="kpi-num"),
            html.Td(figure(p["target"], p, lang) if p["target"] else "—", className="kpi-num"),
            html.Td([figure(p["expected"], p, lang, 1) if p["expected"] is not None else "—", html.Br(),
                     html.Span(span, className="kpi-hint")]),
            html.Td(status_badge(p["status"], lang)),
            html.Td(short_date(p["measured_as_of"], lang)),
            html.Td(source_word(meta.get("source"), lang)),
            html.Td(meta.get("entered_by") or "—"),
        ]))
    return html.Table(rows, className="kpi-table", id="kpi-projects-table")


# -- exports: plain Flask routes on this app, declared for every role that may see the page ----
def _install_routes() -> None:
    server = dash.get_app().server
    if "kpi_export_csv" in server.view_functions:
        return
    server.add_url_rule("/kpi/export.csv", "kpi_export_csv", kpi_export.export_csv)
    server.add_url_rule("/kpi/report", "kpi_report", kpi_export.report)
    route_roles("kpi_export_csv", access.VIEWERS)
    route_roles("kpi_report", access.VIEWERS)


_install_routes()
