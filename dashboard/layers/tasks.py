"""Tasks dispatched to agencies, where they have a place (a map point, an incident, an alert's
area): colour and size by priority, shape by state — circle created, square acknowledged,
diamond in progress, cross escalated (not acknowledged in time) — and the task number beside
each, so they read apart from incidents without colour. On by default at the activation levels."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from ..data import shared
from ..i18n import fmt_age, t
from ._common import ACTIVATION, clock, inert
from ._style import BACKGROUND
from .base import Layer

STATES = ("created", "acknowledged", "in_progress", "escalated")  # one trace each: the legend explains shapes
STATE_SYMBOL = {"created": "circle", "acknowledged": "square", "in_progress": "diamond", "escalated": "x"}
PRIORITY_COLOUR = {1: "#ff4d6d", 2: "#ffb000", 3: "#4fb3ff"}  # as the incidents layer
PRIORITY_SIZE = {1: 20, 2: 15, 3: 12}


@shared
def open_tasks(db, as_of: datetime) -> dict:
    """Tasks open at `as_of`, each in its state then (ioc.ops.tasks.open_at)."""
    from ioc.ops.tasks import open_at

    with db.connection() as conn:
        return {"as_of": as_of, "rows": open_at(conn, as_of)}


def state_of(task: dict) -> str:
    return "escalated" if task["escalated"] and task["state"] == "created" else task["state"]


def _agency(code: str, lang: str) -> str:
    from ioc.ops.agencies import agency

    found = agency(code) or {}
    return found.get("name_zh" if lang == "zh-TW" else "name_en", code)


def hover(task: dict, lang: str, as_of: datetime) -> str:
    state = state_of(task)
    return "<br>".join([
        f"<b>#{task['id']} P{task['priority']} {inert(task['title'], 60)}</b>",
        f"{inert(_agency(task['agency'], lang), 30)} · {t('ops.state_' + state, lang)}",
        f"{t('ops.created', lang)} {clock(task['created_at'], as_of)} "
        f"({fmt_age((as_of - task['created_at']).total_seconds(), lang)}) · "
        f"{t('ops.deadline', lang)} {clock(task['ack_deadline'], as_of)}"])


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers+text", name=t(f"ops.layer_{state}", lang), legendgroup="tasks",
        marker=dict(size=[], symbol=STATE_SYMBOL[state], color=[], line=dict(color=BACKGROUND, width=1.5)),
        text=[], textposition="top center", textfont=dict(color="#e8eef5", size=11),
        customdata=[], hovertemplate="%{customdata}<extra></extra>") for state in STATES]


def patch(data: dict, lang: str) -> list[dict]:
    placed = [r for r in data["rows"] if r["lon"] is not None]
    updates = []
    for state in STATES:
        mine = [r for r in placed if state_of(r) == state]
        updates.append({
            "x": [r["lon"] for r in mine], "y": [r["lat"] for r in mine],
            "marker.color": [PRIORITY_COLOUR.get(r["priority"], "#4fb3ff") for r in mine],
            "marker.size": [PRIORITY_SIZE.get(r["priority"], 12) for r in mine],
            "text": [f"#{r['id']}" for r in mine],
            "customdata": [hover(r, lang, data["as_of"]) for r in mine],
        })
    return updates


TASKS = Layer(id="tasks", title_key="ops.layer_tasks", order=90, traces=_traces, query=open_tasks, patch=patch,
              levels=ACTIVATION)
