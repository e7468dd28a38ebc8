"""What frames every page: the alarm bar (sound and flash until acknowledged), the kiosk's
rotation playlist, and the connection-lost notice. The moving parts in the browser live in
`assets/kiosk.js` (no inline script: the CSP forbids it)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import cache

import yaml
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from flask import g, request

from . import access, alarms
from .i18n import fmt_time, lang_or_default, t
from .runtime import database
from .snapshot import live_status

# Pages a kiosk rotates through, per operational level (seconds on each). Data, so a city can
# change its rotation without code: schemas/wall_rotation.yaml when present.
DEFAULT_ROTATION = {
    "normal": [{"path": "/wall", "seconds": 60}, {"path": "/kpi", "seconds": 20}],
    "level3": [{"path": "/wall", "seconds": 60}, {"path": "/ops", "seconds": 20}],
    "level2": [{"path": "/wall", "seconds": 45}, {"path": "/ops", "seconds": 20}, {"path": "/coverage", "seconds": 15}],
    "level1": [{"path": "/wall", "seconds": 45}, {"path": "/ops", "seconds": 25}, {"path": "/coverage", "seconds": 15}],
}


@cache
def rotation() -> dict:
    from schemas import path as schema_path

    try:
        with open(schema_path("wall_rotation.yaml"), encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        return DEFAULT_ROTATION
    levels = data.get("levels", data)
    return {level: [{"path": str(p["path"]), "seconds": int(p["seconds"])} for p in pages]
            for level, pages in levels.items() if isinstance(pages, list)} or DEFAULT_ROTATION


def layout():
    lang = lang_or_default(None)
    return html.Div(id="app-chrome", children=[
        dcc.Interval(id="chrome-tick", interval=2000),
        dcc.Store(id="alarm-ids", data=[]),
        html.Div(id="alarm-bar", className="alarm-bar", children=[
            html.Div(id="alarm-items", className="alarm-items"),
            # Drawn once (for the roles that may acknowledge), so refreshes never replace it mid-click.
            html.Button(t("chrome.acknowledge", lang), id="alarm-ack", className="alarm-ack", n_clicks=0)
            if _may_acknowledge() else None,
        ]),
        html.Audio(id="alarm-sound", src="/assets/alarm.wav", preload="auto", loop=True),
        html.Div(id="kiosk-config", className="level-normal", hidden=True,
                 **{"data-playlist": json.dumps(rotation()), "data-lang": lang}),
        html.Div(id="chrome-heartbeat", hidden=True),
        html.Div(t("chrome.connection_lost", lang), id="connection-lost", className="connection-lost", hidden=True),
        html.Div(t("chrome.rotation_paused", lang), id="rotation-paused", className="rotation-paused", hidden=True),
    ])


def _may_acknowledge() -> bool:
    user = getattr(g, "user", None)
    return user is not None and user.role in alarms.ACK_ROLES


def _alarm_text(alarm: dict, lang: str) -> str:
    kind = alarm["kind"]
    if kind == "feed":
        return t("chrome.alarm_feed", lang, feed=t(f"feed.{alarm['feed']}", lang))
    if kind == "task":
        return t("chrome.alarm_task", lang, task=alarm["text"])
    return t("chrome.alarm_alert", lang, text=alarm["text"] or "")


def install(app) -> None:
    @access.callback(
        Output("alarm-items", "children"), Output("alarm-bar", "className"), Output("alarm-ids", "data"),
        Output("kiosk-config", "className"), Output("chrome-heartbeat", "children"),
        Input("chrome-tick", "n_intervals"), State("kiosk-config", "data-lang"),
        roles=access.VIEWERS)
    def refresh_chrome(_n, lang):
        lang = lang_or_default(lang)
        alarms, level = live_status(database())
        pending = [a for a in alarms if not a["acked_by"]]
        level_class = f"level-{level['level']}"
        beat = datetime.now(timezone.utc).isoformat()
        if not pending:
            return [], "alarm-bar", [], level_class, beat
        items = [html.Span([html.Span("▲ ", className="alarm-symbol"), _alarm_text(a, lang),
                            html.Span(f" {fmt_time(a['since'], lang, seconds=False)}", className="alarm-time")],
                           className=f"alarm alarm-{a['kind']}") for a in pending[:4]]
        if len(pending) > 4:
            items.append(html.Span(t("chrome.alarm_more", lang, n=len(pending) - 4), className="alarm-more"))
        return items, "alarm-bar active", [a["id"] for a in pending], level_class, beat

    @access.callback(
        Output("alarm-items", "children", allow_duplicate=True), Output("alarm-bar", "className", allow_duplicate=True),
        Input("alarm-ack", "n_clicks"), State("alarm-ids", "data"),
        roles=alarms.ACK_ROLES, changes_state=True, prevent_initial_call=True)
    def acknowledge(n_clicks, alarm_ids):
        if not n_clicks or not alarm_ids:
            raise PreventUpdate  # the button was just drawn, not pressed
        user = g.user
        with database().pool.connection() as conn:
            alarms.acknowledge(conn, [str(a) for a in alarm_ids], actor=user.name, role=user.role,
                               ip=request.remote_addr)
        return [], "alarm-bar"
