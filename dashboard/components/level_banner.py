"""The level banner: which activation level the center runs at, since when, drill or not."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_age, fmt_time, t


def banner(level: dict, lang: str, as_of: datetime) -> html.Div:
    name = level["level"]
    parts = [html.Span(t(f"level.{name}", lang), className="level-name")]
    if level.get("drill"):
        parts.append(html.Span(t("level.drill", lang), className="level-drill"))
    if level.get("since") and name != "normal":
        elapsed = (as_of - level["since"]).total_seconds()
        parts.append(html.Span(t("level.since", lang, time=fmt_time(level["since"], lang, seconds=False),
                                 age=fmt_age(elapsed, lang)), className="level-since"))
    return html.Div(parts, className=f"level-banner level-{name}", **{"data-level": name,
                                                                      "data-drill": "1" if level.get("drill") else "0"})
