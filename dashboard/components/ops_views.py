"""How the operations page shows its data: the task board by agency, the open tasks, staffing,
the duty log of a shift and the shelters. Pure rendering (data in, Dash components out); all
text from feeds or people is passed as plain strings, which Dash renders inert."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_age, fmt_number, fmt_time, t

# Task state by shape as well as colour (colour-blind safe): the same symbols as the map layer.
STATE_SYMBOL = {"created": "○", "acknowledged": "□", "in_progress": "◇", "closed": "✓", "escalated": "✕"}


def agency_name(code: str, lang: str) -> str:
    from ioc.ops.agencies import agency

    found = agency(code)
    if found is None:
        return code
    return found["name_zh"] if lang == "zh-TW" else found["name_en"]


def _minutes(seconds, lang: str) -> str:
    return "—" if seconds is None else t("ops.minutes", lang, n=fmt_number(seconds / 60, lang, 1))


def _table(headers: list[str], rows: list, class_name: str) -> html.Table:
    return html.Table(className=f"ops-table {class_name}", children=[
        html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(rows)])


def board(rows: list[dict], lang: str) -> html.Div:
    if not rows:
        return html.P(t("ops.no_tasks", lang), className="ops-empty")
    body = []
    for r in rows:
        overdue = int(r["overdue"] or 0)
        body.append(html.Tr(className="overdue" if overdue else "", **{"data-agency": r["agency"]}, children=[
            html.Td(agency_name(r["agency"], lang)),
            html.Td(r["created"], className="n", **{"data-col": "created"}),
            html.Td(r["acknowledged"], className="n", **{"data-col": "acknowledged"}),
            html.Td(r["in_progress"], className="n", **{"data-col": "in_progress"}),
            html.Td([html.Span("▲ ", className="warn-symbol") if overdue else None, str(overdue)], className="n",
                    **{"data-col": "overdue"}),
            html.Td(r["closed"], className="n", **{"data-col": "closed"}),
            html.Td(fmt_age(r["oldest_open_s"], lang) if r["oldest_open_s"] is not None else "—"),
            html.Td(_minutes(r["median_ack_s"], lang), **{"data-col": "median_ack"}),
            html.Td(_minutes(r["median_close_s"], lang), **{"data-col": "median_close"}),
        ]))
    headers = [t(k, lang) for k in ("ops.agency", "ops.state_created", "ops.state_acknowledged",
                                     "ops.state_in_progress", "ops.overdue", "ops.state_closed", "ops.oldest_open",
                                     "ops.median_ack", "ops.median_close")]
    return _table(headers, body, "ops-board")


def task_state(task: dict) -> str:
    return "escalated" if task.get("escalated") and task["state"] == "created" else task["state"]


def open_tasks(rows: list[dict], lang: str, as_of: datetime) -> html.Div:
    if not rows:
        return html.P(t("ops.no_open_tasks", lang), className="ops-empty")
    body = []
    for r in rows:
        state = task_state(r)
        deadline = [fmt_time(r["ack_deadline"], lang, seconds=False),
                    html.Span(f" ▲ {t('ops.overdue', lang)}", className="warn-symbol") if r["overdue"] else None]
        body.append(html.Tr(className=f"task-row state-{state}{' overdue' if r['overdue'] else ''}",
                            **{"data-task-id": str(r["id"]), "data-state": state}, children=[
            html.Td(f"#{r['id']}"),
            html.Td(agency_name(r["agency"], lang)),
            html.Td(f"P{r['priority']}", className=f"prio prio-{r['priority']}"),
            html.Td(r["title"]),
            html.Td([html.Span(STATE_SYMBOL[state] + " ", className="state-symbol"), t(f"ops.state_{state}", lang)]),
            html.Td(fmt_age((as_of - r["created_at"]).total_seconds(), lang)),
            html.Td(deadline),
        ]))
    headers = [t(k, lang) for k in ("ops.id", "ops.agency", "ops.priority", "ops.task_title", "ops.state",
                                     "ops.age", "ops.deadline")]
    return _table(headers, body, "ops-tasks")


def staffing(data: dict, lang: str) -> html.Div:
    totals = data["totals"]
    rows = [html.Tr(className="short" if r["missing"] else "", **{"data-agency": r["agency"]}, children=[
        html.Td(agency_name(r["agency"], lang)),
        html.Td(r["required"], className="n"),
        html.Td([html.Span("▲ ", className="warn-symbol") if r["missing"] else None, str(r["present"])], className="n",
                **{"data-col": "present"}),
        html.Td("、".join(r["people"])),
    ]) for r in data["agencies"]]
    headers = [t(k, lang) for k in ("ops.agency", "ops.seats_required", "ops.seats_present", "ops.people")]
    return html.Div([
        html.P(t("ops.staffing_totals", lang, filled=totals["filled"], required=totals["required"],
                 short=totals["agencies_short"]), className="ops-summary", **{"data-missing": str(totals["missing"])}),
        _table(headers, rows, "ops-staffing") if rows else html.P(t("ops.no_seats", lang), className="ops-empty"),
    ])


def dutylog(shift: dict, lang: str) -> html.Div:
    def entry(e, cls):
        return html.Li(className=cls, children=[
            html.Span(fmt_time(e["time"], lang, seconds=False), className="log-time"),
            html.Span(e["author"], className="log-author"),
            html.Span(e["text"], className="log-text")])

    items = [entry(e, f"log-{e['kind']}") for e in shift["entries"]]
    events = [html.Li(className="log-event", children=[
        html.Span(fmt_time(e["time"], lang, seconds=False), className="log-time"),
        html.Span(t(f"ops.event_{e['kind'].replace('.', '_')}", lang), className="log-kind"),
        html.Span(t(f"level.{e['what']}", lang) if e["kind"] == "level" else e["what"], className="log-text"),
        html.Span(e["note"] or "", className="log-note")]) for e in shift["events"]]
    handed = [entry(e, "log-handover") for e in shift["handed_over"]]
    return html.Div([
        html.P(t("ops.shift", lang, start=fmt_time(shift["start"], lang, seconds=False),
                 end=fmt_time(shift["end"], lang, seconds=False)), className="ops-summary"),
        html.Div([html.H4(t("ops.handed_over", lang)), html.Ul(handed, className="ops-log")]) if handed else None,
        html.H4(t("ops.log_entries", lang)),
        html.Ul(items, className="ops-log") if items else html.P(t("ops.no_entries", lang), className="ops-empty"),
        html.H4(t("ops.shift_events", lang)),
        html.Ul(events, className="ops-log") if events else html.P(t("ops.no_events", lang), className="ops-empty"),
    ])


def shelters(rows: list[dict], summary: dict, lang: str) -> html.Div:
    body = [html.Tr(className=f"shelter-{r['status']}", **{"data-shelter": r["shelter_id"]}, children=[
        html.Td(r["name"]),
        html.Td(fmt_number(r["occupancy"], lang), className="n"),
        html.Td(fmt_number(r["capacity"], lang), className="n"),
        html.Td(fmt_number(r["occupancy_pct"], lang), className="n"),
        html.Td(t(f"ops.shelter_{r['status']}", lang)),
    ]) for r in rows[:30]]
    headers = [t(k, lang) for k in ("ops.shelter", "ops.occupancy", "ops.capacity", "ops.percent", "ops.state")]
    return html.Div([
        html.P(t("ops.shelter_summary", lang, open=summary["open"], full=summary["full"],
                 occupancy=fmt_number(summary["occupancy"], lang), capacity=fmt_number(summary["capacity"], lang)),
               className="ops-summary"),
        _table(headers, body, "ops-shelters") if body else html.P(t("ops.no_shelters", lang), className="ops-empty"),
    ])


def nearest(rows: list[dict], lang: str) -> html.Div:
    if not rows:
        return html.P(t("ops.no_nearest", lang), className="ops-empty")
    body = [html.Tr(**{"data-shelter": r["shelter_id"]}, children=[
        html.Td(r["name"]),
        html.Td(t("ops.inside_area", lang) if r["inside"] else t("ops.km", lang, n=fmt_number(r["distance_m"] / 1000, lang, 1))),
        html.Td(fmt_number(r["room"], lang), className="n"),
        html.Td(r["address"] or ""),
    ]) for r in rows]
    headers = [t(k, lang) for k in ("ops.shelter", "ops.distance", "ops.room", "ops.address")]
    return _table(headers, body, "ops-nearest")
