"""/kpi/entry: the form the staff who own a figure use to enter a KPI measurement or a special
project's progress (roles kpi_staff and admin only).

The figure is validated exactly like a line of `ioc kpi import` (ioc.kpi.measurements), and every
refusal is shown with its reason; an accepted one is stored with source `form`, entered by the
signed-in user (from the server-side session, never from the browser), with its audit-trail
entry in the same transaction. Nothing stored is ever changed: a correction is a new entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import g, request

from dashboard import access
from dashboard.auth import audit
from dashboard.components.kpi import figure, label, name_of, number, recorded_text, short_date
from dashboard.i18n import lang_or_default, t
from dashboard.runtime import database
from ioc.kpi import (
    MeasurementError,
    load_definitions,
    store,
    validate_measurement,
    validate_project_measurement,
)
from ioc.kpi.rocdate import parse_date, today_in_taipei

ROLES = frozenset({access.KPI_STAFF, access.ADMIN})
PART_ROWS = 6  # I6 has four parts; I7a's are named by whoever reports them
RECENT_DAYS = 400


def _part_row(i: int, lang: str) -> html.Div:
    return html.Div(className="kpi-part-row", children=[
        html.Label([t("entry.part_name", lang), dcc.Input(id=f"entry-part-name-{i}", type="text", maxLength=60)]),
        html.Label([t("entry.part_done", lang), dcc.Input(id=f"entry-part-done-{i}", type="number", min=0)]),
        html.Label([t("entry.part_planned", lang), dcc.Input(id=f"entry-part-planned-{i}", type="number", min=0)]),
    ])


def layout(lang: str | None = None, kind: str | None = None, indicator: str | None = None,
           project: str | None = None, **_query):
    """Query: `kind` (indicator|project), `indicator`, `project` preselect the item."""
    lang = lang_or_default(lang)
    defs = load_definitions()
    indicator = indicator if indicator in defs.indicators else next(iter(defs.indicators))
    project = project if project in defs.projects else next(iter(defs.projects), None)
    return html.Div(className="kpi-page", children=[
        dcc.Store(id="entry-params", data={"lang": lang}),
        html.Nav(className="kpi-links", children=[
            dcc.Link(t("nav.kpi", lang), href=f"/kpi?lang={lang}"),
            dcc.Link(t("nav.wall", lang), href=f"/wall?lang={lang}"),
            html.A("中文", href="?lang=zh-TW"), html.A("EN", href="?lang=en"),
        ]),
        html.H1(t("entry.title", lang)),
        html.P(t("entry.intro", lang), className="kpi-hint"),
        html.Div(className="kpi-form", id="entry-form", children=[
            html.Label([t("entry.kind", lang), dcc.RadioItems(
                id="entry-kind", value="project" if kind == "project" else "indicator", inline=True,
                options=[{"label": t("entry.kind_indicator", lang), "value": "indicator"},
                         {"label": t("entry.kind_project", lang), "value": "project"}])]),
            html.Div(className="kpi-form-row", children=[
                html.Label(id="entry-indicator-field", children=[t("entry.indicator", lang), dcc.Dropdown(
                    id="entry-indicator", clearable=False, value=indicator,
                    options=[{"label": f"{i.id} {label('short', i.id, i.name_zh, lang)}", "value": i.id}
                             for i in defs.indicators.values()])]),
                html.Label(id="entry-project-field", className="kpi-hidden", children=[
                    t("entry.project", lang), dcc.Dropdown(
                        id="entry-project", clearable=False, value=project,
                        options=[{"label": name_of(p.__dict__, lang), "value": p.id} for p in defs.projects.values()])]),
                html.Label([t("entry.as_of", lang),
                            dcc.Input(id="entry-as-of", type="date", value=today_in_taipei().isoformat(),
                                      style={"width": "11rem"})]),
            ]),
            html.P(id="entry-hint", className="kpi-hint"),
            html.Div(id="entry-ratio", className="kpi-form-row", children=[
                html.Label([t("entry.numerator", lang), dcc.Input(id="entry-numerator", type="number", min=0)]),
                html.Label([t("entry.denominator", lang), dcc.Input(id="entry-denominator", type="number", min=0)]),
            ]),
            html.Div(id="entry-count", className="kpi-form-row kpi-hidden", children=[
                html.Label([t("entry.count", lang), dcc.Input(id="entry-count-value", type="number", min=0, step=1)]),
            ]),
            html.Div(id="entry-parts", className="kpi-hidden", children=[_part_row(i, lang) for i in range(PART_ROWS)]),
            html.Div(id="entry-project-value", className="kpi-form-row kpi-hidden", children=[
                html.Label([t("entry.value", lang), dcc.Input(id="entry-value", type="number", min=0)]),
                html.Span(id="entry-unit", className="kpi-hint"),
            ]),
            html.Label([t("entry.note", lang), dcc.Textarea(id="entry-note", maxLength=2000, rows=2)]),
            html.Div(html.Button(t("entry.submit", lang), id="entry-submit", n_clicks=0, type="button")),
            html.Div(id="entry-result", role="status"),
        ]),
        html.H2(t("entry.recent", lang)),
        html.Div(recent_table(lang), id="entry-recent"),
    ])


access.register_page(__name__, path="/kpi/entry", roles=ROLES, layout=layout, title="績效填報 KPI entry")


def _year_for(as_of) -> int | None:
    try:
        return parse_date(as_of).year
    except ValueError:
        return None


PART_NAMES = [Output(f"entry-part-name-{i}", "value") for i in range(PART_ROWS)]
PART_PLANNED = [Output(f"entry-part-planned-{i}", "value") for i in range(PART_ROWS)]


@access.callback(
    Output("entry-indicator-field", "className"), Output("entry-project-field", "className"),
    Output("entry-ratio", "className"), Output("entry-count", "className"), Output("entry-parts", "className"),
    Output("entry-project-value", "className"), Output("entry-hint", "children"), Output("entry-unit", "children"),
    *PART_NAMES, *PART_PLANNED,
    Input("entry-kind", "value"), Input("entry-indicator", "value"), Input("entry-project", "value"),
    Input("entry-as-of", "value"), State("entry-params", "data"),
    roles=ROLES)
def shape(kind, indicator_id, project_id, as_of, params):
    """Show the fields the chosen item is measured with; fill in the parts the plan fixes."""
    lang = lang_or_default((params or {}).get("lang"))
    defs = load_definitions()
    hidden, row = "kpi-form-row kpi-hidden", "kpi-form-row"
    unchanged = [dash.no_update] * (2 * PART_ROWS)
    if kind == "project":
        project = defs.projects.get(project_id)
        if project is not None and project.unit:
            unit = t("entry.unit", lang, unit=project.unit if lang == "en" else project.unit_zh or project.unit)
        else:
            unit = t("entry.no_unit", lang)
        return ("kpi-hidden", "", hidden, hidden, "kpi-hidden", row, t("entry.form_hint.project", lang), unit,
                *unchanged)
    indicator = defs.indicators.get(indicator_id)
    form = indicator.form if indicator is not None else "ratio"
    shown = {"ratio": (row, hidden, "kpi-hidden"), "count": (hidden, row, "kpi-hidden"),
             "parts": (hidden, hidden, "")}[form]
    parts = unchanged
    year_spec = indicator.years.get(_year_for(as_of)) if indicator is not None else None
    fixed = year_spec.parts if year_spec is not None and year_spec.parts else None
    if fixed:
        names = list(fixed)[:PART_ROWS]
        parts = ([*names, *[""] * (PART_ROWS - len(names))]
                 + [*[fixed[n].planned for n in names], *[None] * (PART_ROWS - len(names))])
    elif dash.ctx.triggered_id == "entry-indicator":
        parts = [""] * PART_ROWS + [None] * PART_ROWS  # a new indicator: its own parts
    hint = t(f"entry.form_hint.{form}", lang)
    year = _year_for(as_of)
    if indicator is not None and year is not None and year not in indicator.years:
        hint = [hint, html.Br(), html.Strong(t("entry.no_targets", lang, n=year - 1911 if lang == "zh-TW" else year))]
    return ("", "kpi-hidden", *shown, hidden, hint, "", *parts)


PART_INPUTS = [State(f"entry-part-{field}-{i}", "value") for field in ("name", "done", "planned") for i in range(PART_ROWS)]


@access.callback(
    Output("entry-result", "children"), Output("entry-recent", "children"),
    Input("entry-submit", "n_clicks"),
    State("entry-kind", "value"), State("entry-indicator", "value"), State("entry-project", "value"),
    State("entry-as-of", "value"), State("entry-numerator", "value"), State("entry-denominator", "value"),
    State("entry-count-value", "value"), State("entry-value", "value"), State("entry-note", "value"),
    *PART_INPUTS, State("entry-params", "data"),
    roles=ROLES, changes_state=True)
def save(n_clicks, kind, indicator_id, project_id, as_of, numerator, denominator, count, value, note, *rest):
    if not n_clicks:
        raise PreventUpdate
    *part_values, params = rest
    lang = lang_or_default((params or {}).get("lang"))
    names, dones, planneds = (part_values[i * PART_ROWS:(i + 1) * PART_ROWS] for i in range(3))
    record = _record(kind, indicator_id, project_id, as_of, numerator, denominator, count, value, note,
                     names, dones, planneds)
    defs = load_definitions()
    try:
        if kind == "project":
            measurement = validate_project_measurement(record, defs)
        else:
            measurement = validate_measurement(record, defs)
    except MeasurementError as exc:
        return html.Div(className="kpi-errors", id="entry-errors", children=[
            html.Strong(t("entry.refused", lang)),
            html.Ul([html.Li(p.message) for p in exc.problems])]), dash.no_update
    user = g.user
    now = datetime.now(timezone.utc)
    with database().pool.connection() as conn, conn.transaction():
        if kind == "project":
            store.insert_project_measurements(conn, [measurement], source="form", entered_by=user.name,
                                              recorded_at=now, definitions=defs)
            target = f"project_measurement:{measurement.project}:{measurement.as_of.isoformat()}"
            shown = number(measurement.value)
        else:
            store.insert_measurements(conn, [measurement], source="form", entered_by=user.name, recorded_at=now)
            target = f"kpi_measurement:{measurement.indicator}:{measurement.as_of.isoformat()}"
            shown = figure(measurement.value, defs.indicators[measurement.indicator].__dict__, lang)
        audit.record(conn, actor=user.name, role=user.role, action="kpi.measurement.add", target=target,
                     after={**record, "source": "form", "entered_by": user.name, "recorded_at": now.isoformat()},
                     ip=request.remote_addr)
    item = record.get("indicator") or record.get("project")
    saved = html.Div(t("entry.saved", lang, item=item, as_of=short_date(measurement.as_of, lang), value=shown),
                     className="kpi-saved", id="entry-saved")
    return saved, recent_table(lang)


def _record(kind, indicator_id, project_id, as_of, numerator, denominator, count, value, note,
            names, dones, planneds) -> dict:
    """What the form says, as the measurement record `ioc kpi import` would read; empty fields
    are left out, so validation names what is missing."""
    record: dict = {"as_of": as_of} if as_of else {}
    if note and str(note).strip():
        record["note"] = str(note).strip()
    if kind == "project":
        record["project"] = project_id
        if value is not None:
            record["value"] = value
        return record
    record["indicator"] = indicator_id
    form = getattr(load_definitions().indicators.get(indicator_id), "form", None)
    if form == "ratio":
        for name, v in (("numerator", numerator), ("denominator", denominator)):
            if v is not None:
                record[name] = v
    elif form == "count":
        if count is not None:
            record["count"] = count
    elif form == "parts":
        parts = {}
        for name, done, planned in zip(names, dones, planneds):
            name = (name or "").strip()
            if not name and done is None and planned is None:
                continue
            parts[name] = [done, planned]
        record["parts"] = parts
    return record


def recent_table(lang: str):
    """The latest entries made through this form, newest first."""
    try:
        with database().pool.connection() as conn:
            rows = store.recent_entries(conn, since=datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS),
                                        source="form", limit=10)
    except Exception:  # noqa: BLE001 - the form stays usable even if the list cannot be read
        return None
    if not rows:
        return html.P("—", className="kpi-hint")
    head = html.Tr([html.Th(x) for x in (t("kpi.indicator", lang), t("kpi.measured", lang), t("kpi.value", lang),
                                         t("kpi.entered_by", lang), t("kpi.recorded_at", lang), t("kpi.note", lang))])
    return html.Table([head] + [html.Tr(**{"data-item": r["item"]}, children=[
        html.Td(r["item"]), html.Td(short_date(r["as_of"], lang)), html.Td(number(r["value"]), className="kpi-num"),
        html.Td(r["entered_by"] or "—"), html.Td(recorded_text(r["recorded_at"], lang)), html.Td(r["note"] or ""),
    ]) for r in rows], className="kpi-table", id="entry-recent-table")
