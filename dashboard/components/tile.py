"""A tile: one figure, its unit, and the time of its data (every tile shows how fresh it is)."""

from __future__ import annotations

from datetime import datetime

from dash import html

from ..i18n import fmt_time, t


def tile(tile_id: str, title: str, value: str, unit: str, data_time: datetime | None, lang: str,
         *, state: str = "ok", detail: str | None = None) -> html.Div:
    """`state`: ok, stale (data older than its cadence) or none (no data)."""
    return html.Div(
        className=f"tile tile-{state}", id={"type": "tile", "id": tile_id}, **{"data-state": state},
        children=[
            html.Div(title, className="tile-title"),
            html.Div([html.Span(value, className="tile-value"), html.Span(unit, className="tile-unit")]),
            html.Div(detail, className="tile-detail") if detail else None,
            html.Div(f"{t('time.data_at', lang)} {fmt_time(data_time, lang)}" if data_time
                     else t("time.no_data", lang), className="tile-time"),
        ])


def failed_tile(tile_id: str, lang: str) -> html.Div:
    """A tile whose query failed: said plainly, so nobody reads an old number as current."""
    return html.Div(className="tile tile-dead", id={"type": "tile", "id": tile_id}, **{"data-state": "dead"},
                    children=[html.Div(t(f"tile.{tile_id}", lang), className="tile-title"),
                              html.Div(t("tile.failed", lang), className="tile-value tile-error")])
