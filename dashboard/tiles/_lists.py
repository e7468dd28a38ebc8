"""A tile with a list under its figure (the alert ticker, the incident list): the same frame,
title, figure and data time as every tile. Feed text goes in as Dash children, which React
renders as text: nothing from a feed can become markup or a link."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_time, t

MAX_TEXT = 120


def plain(value, limit: int = MAX_TEXT) -> str:
    """Feed text for a tile: one line, no control characters, at most `limit` characters."""
    if value is None:
        return ""
    text = " ".join("".join(c for c in str(value) if c >= " " or c == "\t").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def list_tile(tile_id: str, title: str, value: str, unit: str, items: list, data_time: datetime | None, lang: str,
              *, state: str = "ok", detail: str | None = None, empty: str | None = None,
              extra_class: str = "", attrs: dict | None = None, no_time: str | None = None) -> html.Div:
    """`no_time`: what the time line says when there is no data time (default: no data yet)."""
    body = html.Ul(items, className="tile-list") if items else html.Div(empty, className="tile-list-empty")
    return html.Div(
        className=f"tile tile-{state} tile-with-list {extra_class}".strip(), id={"type": "tile", "id": tile_id},
        **{"data-state": state, **(attrs or {})},
        children=[
            html.Div(title, className="tile-title"),
            html.Div([html.Span(value, className="tile-value"), html.Span(unit, className="tile-unit")]),
            html.Div(detail, className="tile-detail") if detail else None,
            body,
            html.Div(f"{t('time.data_at', lang)} {fmt_time(data_time, lang)}" if data_time
                     else (no_time or t("time.no_data", lang)), className="tile-time"),
        ])
