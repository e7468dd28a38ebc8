"""/health: the health of the ingest path, for the duty officer and admins.

At the top, what the city's IT also sees on /healthz and /metrics: the database, the broker, the
disks of the local services, the periodic checks (disk, retention) and, per feed, what arrived,
was stored or refused in the last hour, how old its newest data is and how many dead letters wait.
Below, the dead letters themselves, by feed, stage and time: the reason, the raw payload (shown
as plain text), and a replay of the selected ones once the cause is fixed (a parser, a feed's
topic, the schema): each runs through today's pipeline and sink again, is marked replayed and
audited. Query: `lang`.

This module also installs the Prometheus `/metrics` route (dashboard/monitoring.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dash
import psycopg
from dash import Input, Output, State, dash_table, dcc, html
from dash.exceptions import PreventUpdate
from flask import g, request
from psycopg_pool import PoolTimeout

from dashboard import access, monitoring
from dashboard.auth import audit
from dashboard.i18n import fmt_age, fmt_number, fmt_time, lang_or_default, t
from dashboard.runtime import database
from ingest.feeds import all_feeds
from ingest.pipeline import Router
from ingest.replay import replay_one
from ingest.sink import Sink, TransientError, all_tables

ROLES = frozenset({access.DUTY_OFFICER, access.ADMIN})
STAGES = ("route", "decode", "validate", "normalise", "sink")
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
          "30d": timedelta(days=30), "all": None}
MAX_ROWS = 200  # dead letters listed at once (filter to see others)
MAX_REPLAY = 200  # dead letters replayed in one click
RAW_PREVIEW = 4000  # bytes of a raw payload shown
UNROUTED = "(unrouted)"
SYMBOL = {"ok": "●", "low": "▲", "degraded": "▲", "critical": "✖", "down": "✖", "unavailable": "✖",
          "unreachable": "✖", "unknown": "○", "error": "✖"}


def layout(lang: str | None = None, **_query):
    lang = lang_or_default(lang)
    feeds = sorted(all_feeds())
    return html.Div(className="health-page", children=[
        dcc.Store(id="health-params", data={"lang": lang}),
        dcc.Store(id="dl-version", data=0),
        dcc.Interval(id="health-tick", interval=30_000),
        html.Header(className="health-header", children=[
            html.H1(t("syshealth.title", lang)),
            html.Nav(className="health-links", children=[
                dcc.Link(t("nav.wall", lang), href=f"/wall?lang={lang}"),
                html.A("中文", href="?lang=zh-TW"), html.A("EN", href="?lang=en")]),
        ]),
        html.Section(id="health-system", className="health-system"),
        html.Section(className="health-card health-deadletters", children=[
            html.H2(t("syshealth.dead_letters", lang)),
            html.P(t("syshealth.dead_letters_hint", lang), className="health-hint"),
            html.Div(className="health-filters", children=[
                html.Label([t("syshealth.feed", lang), dcc.Dropdown(
                    id="dl-feed", clearable=True, placeholder=t("syshealth.all", lang),
                    options=[{"label": t(f"feed.{f}", lang), "value": f} for f in feeds]
                    + [{"label": t("syshealth.unrouted", lang), "value": UNROUTED}])]),
                html.Label([t("syshealth.stage", lang), dcc.Dropdown(
                    id="dl-stage", clearable=True, placeholder=t("syshealth.all", lang),
                    options=[{"label": t(f"syshealth.stage_{s}", lang), "value": s} for s in STAGES])]),
                html.Label([t("syshealth.range", lang), dcc.RadioItems(
                    id="dl-range", value="24h", inline=True,
                    options=[{"label": t(f"syshealth.range_{r}", lang), "value": r} for r in RANGES])]),
                dcc.Checklist(id="dl-waiting", value=["waiting"], inline=True,
                              options=[{"label": t("syshealth.waiting_only", lang), "value": "waiting"}]),
            ]),
            html.P(id="dl-count", className="health-hint", role="status"),
            dash_table.DataTable(
                id="dl-table", row_selectable="multi", page_size=25, sort_action="native",
                columns=[{"id": c, "name": t(f"syshealth.col_{c}", lang)}
                         for c in ("received", "feed", "stage", "error", "topic", "size", "replayed")],
                data=[], style_table={"overflowX": "auto"},
                style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "28rem"},
                css=[{"selector": ".dash-spreadsheet", "rule": "font-size: 0.9rem"}]),
            html.Div(className="health-actions", children=[
                html.Button(t("syshealth.replay", lang), id="dl-replay", n_clicks=0, type="button",
                            className="health-button"),
                html.Span(t("syshealth.replay_hint", lang), className="health-hint"),
            ]),
            html.Div(id="dl-result", className="health-result", role="status"),
            html.H3(t("syshealth.raw", lang)),
            html.Pre(id="dl-raw", className="health-raw", children=t("syshealth.raw_hint", lang)),
        ]),
    ])


access.register_page(__name__, path="/health", roles=ROLES, layout=layout, title="系統健康 System health")
monitoring.install(dash.get_app().server)


# -- the system ------------------------------------------------------------------------------------
def _chip(name: str, state: str, lang: str) -> html.Div:
    return html.Div(className=f"health-chip state-{state}", **{"data-part": name, "data-state": state}, children=[
        html.Span(SYMBOL.get(state, "○"), className="health-symbol"),
        html.Span(t(f"syshealth.part_{name}", lang), className="health-name"),
        html.Span(t(f"syshealth.state_{state}", lang), className="health-state")])


def system_view(lang: str) -> list:
    status, _ = monitoring.health()
    out = [html.Div(className="health-chips", children=[
        _chip("overall", status["status"], lang), _chip("database", status["database"], lang),
        _chip("broker", status["broker"], lang), _chip("disk", status["disk"], lang)])]
    disk_rows = [html.Tr([html.Th(t(f"syshealth.{k}", lang)) for k in ("filesystem", "path", "free", "status")])]
    for u in monitoring.disks():
        disk_rows.append(html.Tr(className=f"state-{u.status}", children=[
            html.Td(t(f"syshealth.fs_{u.label}", lang)), html.Td(u.path),
            html.Td(f"{u.free_pct:.1f}% · {fmt_number(u.free_bytes / 2**30, lang, 1)} GiB", className="n"),
            html.Td(f"{SYMBOL.get(u.status, '○')} {t(f'syshealth.state_{u.status}', lang)}")]))
    out.append(html.Div(className="health-card", children=[html.H2(t("syshealth.disks", lang)),
                                                            html.Table(disk_rows, className="health-table")]))
    if status["database"] != "ok":
        return out  # the chips above say the database is away
    try:
        figures = monitoring.feed_figures()
    except Exception:  # noqa: BLE001 - the same: away since
        return out
    out.append(html.Div(className="health-card", children=[
        html.H2(t("syshealth.checks", lang)), _checks_table(figures["checks"], lang)]))
    out.append(html.Div(className="health-card health-feeds", children=[
        html.H2(t("syshealth.feeds", lang)), _feeds_table(figures, lang)]))
    return out


def _checks_table(checks: list[dict], lang: str):
    if not checks:
        return html.P(t("syshealth.no_checks", lang), className="health-hint")
    rows = [html.Tr([html.Th(t(f"syshealth.{k}", lang)) for k in ("check", "status", "checked")])]
    for c in sorted(checks, key=lambda c: c["name"]):
        rows.append(html.Tr(className=f"state-{c['status']}", children=[
            html.Td(c["name"]), html.Td(f"{SYMBOL.get(c['status'], '○')} {t('syshealth.state_' + c['status'], lang)}"),
            html.Td(fmt_age(c["age_s"], lang))]))
    return html.Table(rows, className="health-table")


def _feeds_table(figures: dict, lang: str):
    hour = {r["feed"]: r for r in figures["windows"]["1h"]}
    fresh = {r["feed"]: r for r in figures["freshness"]}
    waiting = {r["feed"]: r["n"] for r in figures["waiting"]}
    rows = [html.Tr([html.Th(t(f"syshealth.{k}", lang)) for k in
                     ("feed", "received_1h", "stored_1h", "rejected_1h", "data_lag", "dead_waiting")])]
    for feed in sorted(set(all_feeds()) | set(hour) | set(waiting)):
        h = hour.get(feed, {})
        lag = fresh.get(feed, {}).get("lag_s")
        rows.append(html.Tr(**{"data-feed": feed}, children=[
            html.Td(t(f"feed.{feed}", lang) if feed in all_feeds() else t("syshealth.unrouted", lang)),
            html.Td(fmt_number(h.get("received") or 0, lang), className="n"),
            html.Td(fmt_number(h.get("stored") or 0, lang), className="n"),
            html.Td(fmt_number(h.get("rejected") or 0, lang), className="n"),
            html.Td(fmt_age(lag, lang)),
            html.Td(fmt_number(waiting.get(feed, 0), lang), className="n"),
        ]))
    return html.Table(rows, className="health-table")


@access.callback(Output("health-system", "children"),
                 Input("health-tick", "n_intervals"), Input("dl-version", "data"), State("health-params", "data"),
                 roles=ROLES)
def refresh_system(_n, _version, params):
    return system_view(lang_or_default((params or {}).get("lang")))


# -- dead letters -----------------------------------------------------------------------------------
def dead_letters(feed: str | None, stage: str | None, span: str, waiting_only: bool) -> list[dict]:
    clauses, params = [], {}
    if feed == UNROUTED:
        clauses.append("feed IS NULL")
    elif feed:
        clauses.append("feed = %(feed)s")
        params["feed"] = feed
    if stage in STAGES:
        clauses.append("stage = %(stage)s")
        params["stage"] = stage
    if RANGES.get(span) is not None:
        clauses.append("received_at > %(since)s")  # a parameter: TimescaleDB excludes older chunks
        params["since"] = datetime.now(timezone.utc) - RANGES[span]
    if waiting_only:
        clauses.append("replayed_at IS NULL")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return database().rows(
        "SELECT id, received_at, feed, stage, left(error, 300) AS error, left(topic, 200) AS topic, "
        f"octet_length(raw) AS size, replayed_at FROM dead_letter {where} "
        f"ORDER BY received_at DESC LIMIT {MAX_ROWS}", params)


@access.callback(Output("dl-table", "data"), Output("dl-table", "selected_rows"), Output("dl-count", "children"),
                 Input("dl-feed", "value"), Input("dl-stage", "value"), Input("dl-range", "value"),
                 Input("dl-waiting", "value"), Input("dl-version", "data"), State("health-params", "data"),
                 roles=ROLES)
def list_dead_letters(feed, stage, span, waiting, _version, params):
    lang = lang_or_default((params or {}).get("lang"))
    rows = dead_letters(feed, stage, span if span in RANGES else "24h", bool(waiting))
    data = [{"id": r["id"], "received": fmt_time(r["received_at"], lang),
             "feed": t(f"feed.{r['feed']}", lang) if r["feed"] else t("syshealth.unrouted", lang),
             "stage": t(f"syshealth.stage_{r['stage']}", lang) if r["stage"] in STAGES else r["stage"],
             "error": r["error"], "topic": r["topic"], "size": fmt_number(r["size"], lang),
             "replayed": fmt_time(r["replayed_at"], lang) if r["replayed_at"] else ""} for r in rows]
    count = t("syshealth.count_more" if len(rows) == MAX_ROWS else "syshealth.count", lang, n=len(rows))
    return data, [], count


@access.callback(Output("dl-raw", "children"), Input("dl-table", "active_cell"), State("health-params", "data"),
                 roles=ROLES)
def show_raw(cell, params):
    lang = lang_or_default((params or {}).get("lang"))
    row_id = (cell or {}).get("row_id")
    if not isinstance(row_id, int):
        raise PreventUpdate
    row = database().one("SELECT source, topic, stage, error, substring(raw FROM 1 FOR %s) AS head, "
                         "octet_length(raw) AS size FROM dead_letter WHERE id = %s", (RAW_PREVIEW, row_id))
    if row is None:
        return t("syshealth.gone", lang)
    text = bytes(row["head"]).decode("utf-8", errors="replace")  # shown as text: inert
    more = t("syshealth.raw_more", lang, n=row["size"]) if row["size"] > RAW_PREVIEW else ""
    return f"{row['source']} {row['topic']}\n{row['stage']}: {row['error']}\n\n{text}{more}"


@access.callback(Output("dl-result", "children"), Output("dl-version", "data"),
                 Input("dl-replay", "n_clicks"), State("dl-table", "selected_row_ids"),
                 State("dl-version", "data"), State("health-params", "data"),
                 roles=ROLES, changes_state=True)
def replay(n_clicks, selected, version, params):
    if not n_clicks:
        raise PreventUpdate
    lang = lang_or_default((params or {}).get("lang"))
    ids = [i for i in (selected or []) if isinstance(i, int)][:MAX_REPLAY]
    if not ids:
        return html.Span(t("syshealth.select_first", lang), className="error"), dash.no_update
    outcomes = replay_dead_letters(ids)
    if outcomes is None:
        return html.Span(t("syshealth.db_unavailable", lang), className="error"), dash.no_update
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.result] = counts.get(o.result, 0) + 1
    summary = t("syshealth.replayed", lang, stored=counts.get("stored", 0),
                refused=counts.get("refused", 0) + counts.get("refused_again", 0),
                other=counts.get("already", 0) + counts.get("missing", 0))
    details = [html.Li(f"#{o.id}: {t(f'syshealth.outcome_{o.result}', lang)}" + (f" — {o.reason}" if o.reason else ""),
                       className="ok" if o.result == "stored" else "error") for o in outcomes]
    return html.Div([html.P(summary), html.Ul(details)]), (version or 0) + 1


def replay_dead_letters(ids: list[int]):
    """Replay each in its own transaction (its mark and its audit entry commit together).
    None when the database is away (nothing marked; try again)."""
    user = g.user
    sink = Sink(database().pool.conninfo, all_tables(), timeout_s=10, application_name="ioc-replay")
    router = Router()
    outcomes = []
    try:
        for dead_letter_id in ids:
            with database().pool.connection() as conn, conn.transaction():
                outcome = replay_one(conn, sink, router, dead_letter_id)
                if outcome.result in ("stored", "refused_again", "refused"):
                    audit.record(conn, actor=user.name, role=user.role, action="dead_letter.replay",
                                 target=f"dead_letter:{dead_letter_id}", before={"replayed_at": None},
                                 after={"result": outcome.result, "feed": outcome.feed,
                                        "replayed_at": outcome.replayed_at.isoformat() if outcome.replayed_at
                                        else None, "reason": outcome.reason[:500] or None},
                                 ip=request.remote_addr)
            outcomes.append(outcome)
    except (TransientError, psycopg.OperationalError, PoolTimeout):
        return outcomes or None
    finally:
        sink.close()
    return outcomes
