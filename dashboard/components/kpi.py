"""Pieces every KPI view shares (the wall's strip, /kpi, the entry form, the printed report):
status shown by colour AND symbol AND word, figures in their unit, short dates, staleness
against the plan's rhythms, and a sparkline made of plain divs (no graph per cell: nine small
Plotly figures would cost the wall more than the whole map).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import yaml
from dash import html

from dashboard.i18n import catalogue, lang_or_default, t
from ioc.kpi.definitions import DEFAULT_PATH
from ioc.kpi.rocdate import TAIPEI

# Status by shape as well as colour (colour-blind safe); the word is always shown too.
SYMBOL = {"met": "✓", "on_pace": "→", "behind": "▼", "no_data": "○", "no_target": "◇"}
SPARK_POINTS = 12


def symbol(status: str) -> str:
    return SYMBOL.get(status, "?")


def status_word(status: str, lang: str) -> str:
    return t(f"kpi.status.{status}", lang)


def label(kind: str, item_id: str, fallback: str, lang: str) -> str:
    """A short name from the catalogue (kpi.short.I3, kpi.goal_short.G7, kpi.project_short.x),
    else the definition's own name: a new indicator shows up before anyone names it shorter."""
    return catalogue(lang_or_default(lang)).get(f"kpi.{kind}.{item_id}", fallback)


def name_of(item: dict, lang: str) -> str:
    return item["name_en"] if lang_or_default(lang) == "en" else item["name_zh"]


def unit_of(item: dict, lang: str) -> str:
    if item.get("unit") == "%":
        return "%"
    unit = item.get("unit") if lang_or_default(lang) == "en" else item.get("unit_zh") or item.get("unit")
    return unit or ""


def number(value, digits: int = 2) -> str:
    """At most `digits` decimals, no trailing zeros: 80, 91.99, 97.17, 61.5; thousands separated."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def figure(value, item: dict, lang: str, digits: int = 2) -> str:
    """A value in its unit: 80%, 2 次, 500 km."""
    if value is None:
        return "—"
    unit = unit_of(item, lang)
    if unit == "%":
        return f"{number(value, digits)}%"
    return f"{number(value, digits)} {unit}".strip()


def short_date(day: str | date | None, lang: str) -> str:
    """104/6/30 in Chinese (ROC calendar), 2015-06-30 in English."""
    if day is None:
        return "—"
    d = date.fromisoformat(day) if isinstance(day, str) else day
    if lang_or_default(lang) == "zh-TW":
        return f"{d.year - 1911}/{d.month}/{d.day}"
    return d.isoformat()


def recorded_text(moment: datetime | None, lang: str) -> str:
    """When a figure was recorded, in Taipei time, with its date (a history spans years)."""
    if moment is None:
        return "—"
    local = moment.astimezone(TAIPEI)
    return f"{short_date(local.date(), lang)} {local:%H:%M}"


def year_title(year: int, lang: str) -> str:
    """民國104年度 in Chinese, Plan year 2015 in English."""
    return t("kpi.year", lang, n=year - 1911 if lang_or_default(lang) == "zh-TW" else year)


@cache
def _freshness() -> dict:
    with open(DEFAULT_PATH, encoding="utf-8") as f:
        return (yaml.safe_load(f) or {}).get("freshness") or {}


def stale_after_days(item_id: str, *, project: bool = False) -> int:
    """How many days a figure stays current (schemas/kpis.yaml `freshness`)."""
    fresh = _freshness()
    default = int(fresh.get("default_days", 100))
    if project:
        return int(fresh.get("projects", default))
    return int((fresh.get("indicators") or {}).get(item_id, default))


def is_stale(measured_as_of: str | None, day: date, item_id: str, *, project: bool = False) -> bool:
    """No figure, or one older than its rhythm allows on `day`."""
    if measured_as_of is None:
        return True
    return (day - date.fromisoformat(measured_as_of)).days > stale_after_days(item_id, project=project)


def source_word(source: str | None, lang: str) -> str:
    return t(f"kpi.source.{source}", lang) if source else "—"


def sparkline(history: list[dict], target, *, class_name: str = "kpi-spark") -> html.Div:
    """The last values as bars against the target line, scaled to the larger of the two."""
    points = [p for p in history if p.get("value") is not None][-SPARK_POINTS:]
    top = max([p["value"] for p in points] + [target or 0]) or 1
    bars = [html.Div(className="kpi-spark-bar", title=f"{p['as_of']}: {number(p['value'])}",
                     style={"height": f"{max(4.0, 100 * p['value'] / top):.1f}%"}) for p in points]
    children = [html.Div(bars, className="kpi-spark-bars")]
    if target:
        children.append(html.Div(className="kpi-spark-target", style={"bottom": f"{100 * target / top:.1f}%"}))
    return html.Div(children, className=class_name, **{"data-points": str(len(points))})


def pace_text(tile: dict, lang: str, *, compact: bool = False) -> str:
    """What the schedule expects by now against what is done: counts in their unit, parts as
    percent (`compact`: the numbers only, for the wall's small cells); ratios carry no pace."""
    if tile["expected"] is None:
        return t("kpi.no_pace", lang)

    def shown(value):
        if value is None:
            return "—"
        return number(value, 1) if compact and tile.get("unit") != "%" else figure(value, tile, lang, 1)

    return f"{t('kpi.expected', lang)} {shown(tile['expected'])} · {t('kpi.actual', lang)} {shown(tile['value'])}"


def status_badge(status: str, lang: str, *, class_name: str = "kpi-badge") -> html.Span:
    return html.Span([html.Span(symbol(status), className="kpi-symbol", **{"aria-hidden": "true"}),
                      html.Span(status_word(status, lang), className="kpi-status-word")],
                     className=f"{class_name} kpi-{status}", **{"data-status": status})
