"""/ops: the coordinators' page in a disaster. Switch the operational level (coordinators, with
a reason and a confirmation), dispatch tasks (from an alert in force, an incident, a point on
the map, or by hand), follow the board by agency, check staff in and out, keep the duty log and
its handover, see the shelters and the nearest open ones to an alert or incident, and open the
situation report. Query: `lang`.

Everyone signed in may look (a wall kiosk rotates through this page); the forms work only for
the roles named below, checked again on the server inside each callback."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import plotly.graph_objects as go
from dash import Input, Output, Patch, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import g, request

from dashboard import access
from dashboard.basemap import bounds
from dashboard.components import ops_views
from dashboard.components.level_banner import banner
from dashboard.data import with_memo
from dashboard.figures import base_map, trace_slots
from dashboard.i18n import lang_or_default, t
from dashboard.layers import all_layers
from dashboard.ops_data import ops_state
from dashboard.runtime import database, refresh_ms
from ioc.ops import agencies
from ioc.ops.levels import LEVELS

LEVEL_ROLES = frozenset({access.COORDINATOR, access.ADMIN})
DISPATCH_ROLES = frozenset({access.DUTY_OFFICER, access.COORDINATOR, access.ADMIN})
STAFF_ROLES = frozenset({access.DUTY_OFFICER, access.COORDINATOR, access.ADMIN})
log = logging.getLogger(__name__)
GRID_STEP = 0.01  # degrees: the clickable grid that turns a click on the map into a point
MAP_LAYERS = ("districts", "alerts", "shelters", "incidents", "tasks")
MAP_REFRESH_MS = 5000  # the map moves slower than the board: its own, slower tick


def _live_moment() -> datetime:
    """Now, rounded up to the second: what was just written is in it."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=0) + timedelta(seconds=1) if now.microsecond else now


def _click_grid() -> go.Scatter:
    x0, y0, x1, y1 = bounds()
    xs, ys = [], []
    nx, ny = int((x1 - x0) / GRID_STEP) + 1, int((y1 - y0) / GRID_STEP) + 1
    for i in range(nx):
        for j in range(ny):
            xs.append(round(x0 + i * GRID_STEP, 4))
            ys.append(round(y0 + j * GRID_STEP, 4))
    return go.Scatter(x=xs, y=ys, mode="markers", marker=dict(size=9, opacity=0), hoverinfo="none",
                      showlegend=False, name="click-grid")


def _map_layers() -> list:
    return [layer for layer in all_layers() if layer.id in MAP_LAYERS]


def _map(lang: str, level: str) -> go.Figure:
    """The page's own map: the wall's base map with only the layers dispatch needs (fewer
    queries than the wall), and an invisible grid on top that makes any spot clickable."""
    fig = base_map(lang, level)
    keep = {i for layer in _map_layers() for i in trace_slots()[layer.id]}
    fig.data = [trace for i, trace in enumerate(fig.data) if i in keep]
    for index in _map_slots()["tasks"]:
        fig.data[index].visible = True  # dispatch always sees its tasks, whatever the level
    fig.add_trace(_click_grid())
    fig.update_layout(legend=dict(font=dict(size=11)))
    return fig


def _map_slots() -> dict[str, range]:
    """Trace indexes of each layer in the page's map (its layers in the wall's order)."""
    slots, start = {}, 0
    for layer in _map_layers():
        n = len(trace_slots()[layer.id])
        slots[layer.id] = range(start, start + n)
        start += n
    return slots


def _patch_map(fig, layer_id: str, updates: list[dict]) -> None:
    for index, update in zip(_map_slots()[layer_id], updates):
        for path, value in update.items():
            target = fig["data"][index]
            *parents, leaf = path.split(".")
            for part in parents:
                target = target[part]
            target[leaf] = value


def _form(visible: bool, children, class_name: str):
    return html.Div(children, className=f"ops-form {class_name}", hidden=not visible)


def layout(lang: str | None = None, **_query):
    lang = lang_or_default(lang)
    role = access.current_role()
    agency_options = [{"label": f"{a['name_zh'] if lang == 'zh-TW' else a['name_en']} ({a['code']})", "value": a["code"]}
                      for a in agencies.agencies()]
    level_options = [{"label": t(f"level.{name}", lang), "value": name} for name in LEVELS]
    source_options = [{"label": t(f"ops.source_{s}", lang), "value": s} for s in ("manual", "alert", "incident", "map")]
    return html.Div(className="ops", children=[
        dcc.Store(id="ops-params", data={"lang": lang}),
        dcc.Store(id="ops-level-drawn", data=None),
        dcc.Interval(id="ops-tick", interval=refresh_ms(), n_intervals=0),
        dcc.Interval(id="ops-map-tick", interval=max(refresh_ms(), MAP_REFRESH_MS), n_intervals=0),
        html.Header(className="ops-header", children=[
            html.H1(t("ops.title", lang)),
            html.Div(id="ops-banner", className="ops-banner"),
            html.Nav(className="ops-links", children=[
                html.A(t("ops.sitrep_html", lang), href=f"/ops/sitrep?lang={lang}", target="_blank", id="ops-sitrep-link"),
                html.A(t("ops.sitrep_pdf", lang), href=f"/ops/sitrep.pdf?lang={lang}", target="_blank"),
                html.A(t("nav.wall", lang), href=f"/wall?lang={lang}"),
                html.A("中文", href="?lang=zh-TW", className="lang-link"),
                html.A("EN", href="?lang=en", className="lang-link"),
            ]),
        ]),
        html.Main(className="ops-grid", children=[
            html.Section(className="ops-card ops-level", hidden=role not in LEVEL_ROLES, children=[
                html.H2(t("ops.level_switch", lang)),
                dcc.Dropdown(id="ops-level-select", options=level_options, value=None, clearable=False,
                             placeholder=t("ops.level_choose", lang)),
                dcc.Input(id="ops-level-reason", type="text", maxLength=500, placeholder=t("ops.reason", lang),
                          className="ops-input", debounce=False),
                dcc.Checklist(id="ops-level-drill", options=[{"label": t("level.drill", lang), "value": "drill"}],
                              value=[], className="ops-check"),
                html.Button(t("ops.level_apply", lang), id="ops-level-apply", n_clicks=0, className="ops-button danger"),
                dcc.ConfirmDialog(id="ops-level-confirm", message=""),
                html.Div(id="ops-level-hint", className="ops-feedback"),
                html.Div(id="ops-level-feedback", className="ops-feedback", role="status"),
            ]),
            html.Section(className="ops-card ops-dispatch", hidden=role not in DISPATCH_ROLES, children=[
                html.H2(t("ops.new_task", lang)),
                dcc.RadioItems(id="ops-task-source", options=source_options, value="manual", inline=True,
                               className="ops-radio"),
                dcc.Dropdown(id="ops-task-alert", options=[], placeholder=t("ops.choose_alert", lang)),
                dcc.Dropdown(id="ops-task-incident", options=[], placeholder=t("ops.choose_incident", lang)),
                html.Div(className="ops-row", children=[
                    dcc.Input(id="ops-task-lon", type="number", placeholder=t("ops.lon", lang), className="ops-input small"),
                    dcc.Input(id="ops-task-lat", type="number", placeholder=t("ops.lat", lang), className="ops-input small"),
                ]),
                dcc.Dropdown(id="ops-task-agency", options=agency_options, placeholder=t("ops.choose_agency", lang)),
                dcc.RadioItems(id="ops-task-priority", value=2, inline=True, className="ops-radio", options=[
                    {"label": t(f"ops.priority_{p}", lang), "value": p} for p in (1, 2, 3)]),
                dcc.Input(id="ops-task-title", type="text", maxLength=200, placeholder=t("ops.task_title", lang),
                          className="ops-input"),
                dcc.Textarea(id="ops-task-detail", maxLength=2000, placeholder=t("ops.task_detail", lang),
                             className="ops-textarea"),
                html.Button(t("ops.dispatch", lang), id="ops-task-create", n_clicks=0, className="ops-button"),
                html.Div(id="ops-task-feedback", className="ops-feedback", role="status"),
            ]),
            html.Section(className="ops-card ops-boardcard", children=[
                html.H2(t("ops.board", lang)),
                html.Div(id="ops-board"),
                html.H3(t("ops.open_tasks", lang)),
                html.Div(id="ops-open-tasks"),
            ]),
            html.Section(className="ops-card ops-mapcard", children=[
                html.H2(t("ops.map", lang)),
                html.P(t("ops.map_hint", lang), className="ops-hint"),
                dcc.Graph(id="ops-map", className="ops-map", figure=_map(lang, "normal"), style={"height": "34rem"},
                          config={"displayModeBar": False, "scrollZoom": True, "responsive": True}),
            ]),
            html.Section(className="ops-card ops-staffcard", children=[
                html.H2(t("ops.staffing", lang)),
                html.Div(id="ops-staffing"),
                _form(role in STAFF_ROLES, [
                    dcc.Dropdown(id="ops-checkin-agency", options=agency_options, placeholder=t("ops.choose_agency", lang)),
                    dcc.Input(id="ops-checkin-person", type="text", maxLength=80, placeholder=t("ops.person", lang),
                              className="ops-input"),
                    html.Button(t("ops.checkin", lang), id="ops-checkin", n_clicks=0, className="ops-button"),
                    html.Div(id="ops-checkin-feedback", className="ops-feedback", role="status"),
                    dcc.Dropdown(id="ops-checkout-select", options=[], placeholder=t("ops.choose_person", lang)),
                    html.Button(t("ops.checkout", lang), id="ops-checkout", n_clicks=0, className="ops-button"),
                    html.Div(id="ops-checkout-feedback", className="ops-feedback", role="status"),
                ], "ops-staff-form"),
            ]),
            html.Section(className="ops-card ops-logcard", children=[
                html.H2(t("ops.dutylog", lang)),
                _form(role in STAFF_ROLES, [
                    dcc.Textarea(id="ops-log-text", maxLength=4000, placeholder=t("ops.log_placeholder", lang),
                                 className="ops-textarea"),
                    dcc.RadioItems(id="ops-log-kind", value="entry", inline=True, className="ops-radio", options=[
                        {"label": t("ops.log_entry", lang), "value": "entry"},
                        {"label": t("ops.log_handover", lang), "value": "handover"}]),
                    html.Button(t("ops.log_add", lang), id="ops-log-add", n_clicks=0, className="ops-button"),
                    html.Div(id="ops-log-feedback", className="ops-feedback", role="status"),
                ], "ops-log-form"),
                html.Div(id="ops-dutylog"),
            ]),
            html.Section(className="ops-card ops-sheltercard", children=[
                html.H2(t("ops.shelters", lang)),
                html.Div(id="ops-shelters"),
                html.H3(t("ops.nearest", lang)),
                dcc.Dropdown(id="ops-nearest-to", options=[], placeholder=t("ops.nearest_choose", lang)),
                html.Div(id="ops-nearest"),
            ]),
        ]),
    ])


access.register_page(__name__, path="/ops", roles=access.VIEWERS, layout=layout, title="應變作業 Operations")


def _alert_label(a: dict, lang: str) -> str:
    return f"[{t('sitrep.severity_' + str(a['severity']), lang)}] {a['event']} · {(a['headline'] or '')[:60]}"


def _incident_label(i: dict, lang: str) -> str:
    category = t(f"layers.incident_category.{i['category']}", lang)
    return f"{i['id']} · P{i['priority']} {category} · {(i['address'] or '')[:40]}"


@access.callback(
    Output("ops-banner", "children"), Output("ops-board", "children"), Output("ops-open-tasks", "children"),
    Output("ops-staffing", "children"), Output("ops-dutylog", "children"), Output("ops-shelters", "children"),
    Output("ops-task-alert", "options"), Output("ops-task-incident", "options"),
    Output("ops-checkout-select", "options"), Output("ops-nearest-to", "options"),
    Input("ops-tick", "n_intervals"), State("ops-params", "data"),
    State("ops-task-alert", "options"), State("ops-task-incident", "options"),
    State("ops-checkout-select", "options"), State("ops-nearest-to", "options"),
    roles=access.VIEWERS)
def refresh(_n, params, *shown_options):
    lang = lang_or_default((params or {}).get("lang"))
    moment = _live_moment()
    state = ops_state(database(), moment)
    alerts = [{"label": _alert_label(a, lang), "value": a["identifier"]} for a in state["alerts"]]
    incidents = [{"label": _incident_label(i, lang), "value": i["id"]} for i in state["incidents"][:300]]
    checked_in = [{"label": f"{ops_views.agency_name(agency, lang)}: {p['person']}", "value": p["id"]}
                  for agency, people in state["staffing"]["checked_in"].items() for p in people]
    nearest_to = ([{"label": f"{t('ops.source_alert', lang)}: {o['label']}", "value": f"alert:{o['value']}"} for o in alerts]
                  + [{"label": f"{t('ops.source_incident', lang)}: {o['label']}", "value": f"incident:{o['value']}"}
                     for o in incidents])
    return (banner(state["level"], lang, moment),
            ops_views.board(state["board"], lang),
            ops_views.open_tasks(state["open_tasks"], lang, moment),
            ops_views.staffing(state["staffing"], lang),
            ops_views.dutylog(state["shift"], lang),
            ops_views.shelters(state["shelters"], state["shelter_summary"], lang),
            # Options only when they changed: a new list would close a dropdown being used.
            *(no_update if new == shown else new
              for new, shown in zip((alerts, incidents, checked_in, nearest_to), shown_options)))


@access.callback(
    Output("ops-map", "figure"), Output("ops-level-drawn", "data"),
    Input("ops-map-tick", "n_intervals"), State("ops-params", "data"), State("ops-level-drawn", "data"),
    roles=access.VIEWERS)
def refresh_map(_n, params, drawn_level):
    """The map's layers at the level in force (redrawn when it changes; else only data moves)."""
    lang = lang_or_default((params or {}).get("lang"))
    moment = _live_moment()
    db = database()
    level = ops_state(db, moment)["level"]["level"]
    fig = _map(lang, level) if level != drawn_level else Patch()

    def patches():
        out = []
        for layer in _map_layers():
            if layer.query is None or layer.patch is None:
                continue
            try:
                out.append((layer.id, layer.patch(layer.query(db, moment), lang)))
            except Exception:  # noqa: BLE001 - one broken layer must not blank the map
                log.exception("ops map layer %s failed", layer.id)
        return out

    for layer_id, updates in with_memo(patches):
        if isinstance(fig, go.Figure):
            for index, update in zip(_map_slots()[layer_id], updates):
                fig.data[index].update({path.replace(".", "_"): value for path, value in update.items()})
        else:
            _patch_map(fig, layer_id, updates)
    return fig, level


@access.callback(
    Output("ops-task-lon", "value"), Output("ops-task-lat", "value"), Output("ops-task-source", "value"),
    Input("ops-map", "clickData"), roles=access.VIEWERS, prevent_initial_call=True)
def map_point(click):
    """A click on the map fills in the task's point (and makes it a map-point task)."""
    try:
        point = click["points"][0]
        return round(float(point["x"]), 5), round(float(point["y"]), 5), "map"
    except (TypeError, KeyError, IndexError, ValueError):
        raise PreventUpdate from None


# -- levels ------------------------------------------------------------------------------------------
@access.callback(
    Output("ops-level-confirm", "displayed"), Output("ops-level-confirm", "message"), Output("ops-level-hint", "children"),
    Input("ops-level-apply", "n_clicks"), State("ops-level-select", "value"), State("ops-level-reason", "value"),
    State("ops-level-drill", "value"), State("ops-params", "data"),
    roles=LEVEL_ROLES, prevent_initial_call=True)
def ask_level(n_clicks, level, reason, drill, params):
    """Ask before switching (nothing changes here: the confirmation's OK does it)."""
    lang = lang_or_default((params or {}).get("lang"))
    if not n_clicks:
        raise PreventUpdate
    if level not in LEVELS:
        return False, "", t("ops.level_choose", lang)
    if not (reason or "").strip():
        return False, "", t("ops.reason_required", lang)
    drill_text = f" ({t('level.drill', lang)})" if drill else ""
    return True, t("ops.level_confirm", lang, level=t(f"level.{level}", lang) + drill_text, reason=reason.strip()), ""


@access.callback(
    Output("ops-level-feedback", "children"), Output("ops-level-reason", "value"),
    Input("ops-level-confirm", "submit_n_clicks"), State("ops-level-select", "value"),
    State("ops-level-reason", "value"), State("ops-level-drill", "value"), State("ops-params", "data"),
    roles=LEVEL_ROLES, changes_state=True, prevent_initial_call=True)
def apply_level(submitted, level, reason, drill, params):
    from ioc.ops.levels import LevelError, set_level

    lang = lang_or_default((params or {}).get("lang"))
    if not submitted:
        raise PreventUpdate
    user = g.user
    try:
        with database().pool.connection() as conn:
            state = set_level(conn, level, reason=reason or "", actor=user.name, role=user.role, drill=bool(drill),
                              ip=request.remote_addr)
    except LevelError as exc:
        return html.Span(str(exc), className="error"), no_update
    return html.Span(t("ops.level_done", lang, level=t(f"level.{state['level']}", lang)), className="ok",
                     **{"data-level": state["level"]}), ""


# -- tasks ---------------------------------------------------------------------------------------------
@access.callback(
    Output("ops-task-feedback", "children"), Output("ops-task-title", "value"), Output("ops-task-detail", "value"),
    Input("ops-task-create", "n_clicks"),
    State("ops-task-source", "value"), State("ops-task-alert", "value"), State("ops-task-incident", "value"),
    State("ops-task-lon", "value"), State("ops-task-lat", "value"), State("ops-task-agency", "value"),
    State("ops-task-priority", "value"), State("ops-task-title", "value"), State("ops-task-detail", "value"),
    State("ops-params", "data"),
    roles=DISPATCH_ROLES, changes_state=True, prevent_initial_call=True)
def create_task(n_clicks, source, alert, incident, lon, lat, agency, priority, title, detail, params):
    from ioc.ops.tasks import NewTask, TaskError
    from ioc.ops.tasks import create_task as create

    lang = lang_or_default((params or {}).get("lang"))
    if not n_clicks:
        raise PreventUpdate
    source = source if source in ("manual", "alert", "incident", "map") else "manual"
    ref = alert if source == "alert" else incident if source == "incident" else None
    # A map task has its point; a task by hand may have one; an alert's or incident's comes from it.
    given = lon is not None and lat is not None
    point = (lon, lat) if source == "map" or (source == "manual" and given) else (None, None)
    if source in ("alert", "incident") and not ref:
        return html.Span(t(f"ops.choose_{source}", lang), className="error"), no_update, no_update
    if not agency:
        return html.Span(t("ops.choose_agency", lang), className="error"), no_update, no_update
    if not (title or "").strip():
        title = _default_title(source, ref, lang)
    if not (title or "").strip():
        return html.Span(t("ops.title_required", lang), className="error"), no_update, no_update
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        priority = 0
    user = g.user
    try:
        with database().pool.connection() as conn:
            task = create(conn, NewTask(agency or "", title or "", priority, source, ref, point[0], point[1], detail),
                          actor=user.name, role=user.role, ip=request.remote_addr)
    except TaskError as exc:
        return html.Span(str(exc), className="error"), no_update, no_update
    return (html.Span(t("ops.task_done", lang, id=task["id"], agency=ops_views.agency_name(task["agency"], lang)),
                      className="ok", **{"data-task-id": str(task["id"])}), "", "")


def _default_title(source: str, ref: str | None, lang: str) -> str | None:
    """An alert's headline or an incident's category and place, when no title was typed."""
    if not ref:
        return None
    state = ops_state(database(), _live_moment())
    if source == "alert":
        found = next((a for a in state["alerts"] if a["identifier"] == ref), None)
        return (found["headline"] or found["event"])[:200] if found else None
    found = next((i for i in state["incidents"] if i["id"] == ref), None)
    return f"{found['category']} {found['address'] or ''}".strip()[:200] if found else None


# -- staffing --------------------------------------------------------------------------------------------
@access.callback(
    Output("ops-checkin-feedback", "children"), Output("ops-checkin-person", "value"),
    Input("ops-checkin", "n_clicks"), State("ops-checkin-agency", "value"), State("ops-checkin-person", "value"),
    State("ops-params", "data"),
    roles=STAFF_ROLES, changes_state=True, prevent_initial_call=True)
def check_in(n_clicks, agency, person, params):
    from ioc.ops.staffing import StaffingError
    from ioc.ops.staffing import check_in as store_check_in

    lang = lang_or_default((params or {}).get("lang"))
    if not n_clicks:
        raise PreventUpdate
    user = g.user
    try:
        with database().pool.connection() as conn:
            store_check_in(conn, agency or "", person or "", actor=user.name, role=user.role, ip=request.remote_addr)
    except StaffingError as exc:
        return html.Span(str(exc), className="error"), no_update
    return html.Span(t("ops.checked_in", lang, person=person.strip()), className="ok"), ""


@access.callback(
    Output("ops-checkout-feedback", "children"), Output("ops-checkout-select", "value"),
    Input("ops-checkout", "n_clicks"), State("ops-checkout-select", "value"), State("ops-params", "data"),
    roles=STAFF_ROLES, changes_state=True, prevent_initial_call=True)
def check_out(n_clicks, checkin_id, params):
    from ioc.ops.staffing import StaffingError
    from ioc.ops.staffing import check_out as store_check_out

    lang = lang_or_default((params or {}).get("lang"))
    if not n_clicks:
        raise PreventUpdate
    if not isinstance(checkin_id, int):
        return html.Span(t("ops.choose_person", lang), className="error"), no_update
    user = g.user
    try:
        with database().pool.connection() as conn:
            done = store_check_out(conn, checkin_id, actor=user.name, role=user.role, ip=request.remote_addr)
    except StaffingError as exc:
        return html.Span(str(exc), className="error"), no_update
    return html.Span(t("ops.checked_out", lang, person=done["person"]), className="ok"), None


# -- duty log ----------------------------------------------------------------------------------------------
@access.callback(
    Output("ops-log-feedback", "children"), Output("ops-log-text", "value"),
    Input("ops-log-add", "n_clicks"), State("ops-log-text", "value"), State("ops-log-kind", "value"),
    State("ops-params", "data"),
    roles=STAFF_ROLES, changes_state=True, prevent_initial_call=True)
def add_log_entry(n_clicks, text, kind, params):
    from ioc.ops.dutylog import DutyLogError, add_entry

    lang = lang_or_default((params or {}).get("lang"))
    if not n_clicks:
        raise PreventUpdate
    user = g.user
    try:
        with database().pool.connection() as conn:
            add_entry(conn, text or "", kind=kind or "entry", actor=user.name, role=user.role, ip=request.remote_addr)
    except DutyLogError as exc:
        return html.Span(str(exc), className="error"), no_update
    return html.Span(t("ops.log_done", lang), className="ok"), ""


# -- shelters --------------------------------------------------------------------------------------------
@access.callback(
    Output("ops-nearest", "children"), Input("ops-nearest-to", "value"), State("ops-params", "data"),
    roles=access.VIEWERS, prevent_initial_call=True)
def nearest_shelters(choice, params):
    from ioc.ops import shelters

    lang = lang_or_default((params or {}).get("lang"))
    if not isinstance(choice, str) or ":" not in choice:
        return None
    kind, _, ref = choice.partition(":")
    moment = _live_moment()
    with database().pool.connection() as conn:
        if kind == "alert":
            rows = shelters.nearest_to_alert(conn, ref, moment)
        elif kind == "incident":
            rows = shelters.nearest_to_incident(conn, ref, moment)
        else:
            rows = []
    return ops_views.nearest(rows, lang)
