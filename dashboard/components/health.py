"""The feed-health strip: every feed, how long since it last spoke, against its cadence.

State is shown by colour *and* by a symbol and a word, so it reads without colour vision.
"""

from __future__ import annotations

from dash import html

from ..i18n import fmt_age, t

SYMBOL = {"ok": "●", "stale": "▲", "dead": "✖", "none": "○", "quiet": "◌"}


def strip(feeds: list[dict], lang: str) -> list:
    chips = []
    for f in feeds:
        chips.append(html.Div(
            className=f"feed feed-{f['state']}", **{"data-feed": f["feed"], "data-state": f["state"]},
            title=t(f"feed_desc.{f['feed']}", lang),
            children=[
                html.Span(SYMBOL[f["state"]], className="feed-symbol"),
                html.Span(t(f"feed.{f['feed']}", lang), className="feed-name"),
                html.Span(fmt_age(f["age_s"], lang), className="feed-age"),
                html.Span(t(f"health.{f['state']}", lang), className="feed-state"),
            ]))
    return chips
