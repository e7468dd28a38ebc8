"""Open tasks at the activation levels: how many, how many are past their acknowledgement
deadline, how many were escalated — and the escalated/overdue ones by name. An escalation
turns the tile to alarm (colour, ▲ and the word); the wall's alarm bar sounds it."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_age, fmt_number, t
from ..layers._common import ACTIVATION
from ..layers.tasks import open_tasks, state_of
from ._lists import list_tile, plain
from .base import Tile

MAX_SHOWN = 5


def summarise(data: dict) -> dict:
    rows = data["rows"]
    late = sorted((r for r in rows if r["overdue"]), key=lambda r: (not r["escalated"], r["priority"], r["ack_deadline"]))
    return {"open": len(rows), "overdue": len(late), "escalated": sum(1 for r in late if r["escalated"]),
            "unacknowledged": sum(1 for r in rows if r["state"] == "created"), "late": late,
            "data_time": max((r["created_at"] for r in rows), default=None)}


def item(r: dict, lang: str, as_of: datetime) -> html.Li:
    from ioc.ops.agencies import agency

    found = agency(r["agency"]) or {}
    name = found.get("name_zh" if lang == "zh-TW" else "name_en", r["agency"])
    state = state_of(r)
    return html.Li(className=f"task-item state-{state}", **{"data-task-id": str(r["id"]), "data-state": state}, children=[
        html.Span(("✕ " if state == "escalated" else "▲ ") + f"#{r['id']} P{r['priority']}", className="task-id"),
        html.Span(name, className="task-agency"),
        html.Span(plain(r["title"], 40), className="task-title"),
        html.Span(t("ops.late_by", lang, age=fmt_age((as_of - r["ack_deadline"]).total_seconds(), lang)),
                  className="task-late"),
    ])


def render(data: dict, lang: str, as_of: datetime):
    s = summarise(data)
    alarm = s["escalated"] > 0
    detail = " · ".join([t("ops.tile_unacknowledged", lang, n=s["unacknowledged"]),
                         t("ops.tile_overdue", lang, n=s["overdue"]),
                         ("▲ " if alarm else "") + t("ops.tile_escalated", lang, n=s["escalated"])])
    return list_tile(
        "ops-tasks", t("ops.tile_title", lang), fmt_number(s["open"], lang), t("ops.tile_unit", lang),
        [item(r, lang, as_of) for r in s["late"][:MAX_SHOWN]], s["data_time"], lang, detail=detail,
        empty=t("ops.tile_none_late", lang), extra_class="tile-ops-tasks" + (" tile-alarm" if alarm else ""),
        attrs={"data-open": str(s["open"]), "data-overdue": str(s["overdue"]), "data-escalated": str(s["escalated"])},
        no_time=t("ops.tile_no_tasks", lang))


OPS_TASKS = Tile(id="ops-tasks", order=5, query=open_tasks, render=render, levels=ACTIVATION, section="ops")
