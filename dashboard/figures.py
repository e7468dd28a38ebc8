"""The wall's map as one Plotly figure composed of the registered layers (pure: no database).

Live updates patch a layer's traces in place (`dash.Patch`): a refresh sends the data that
changed, not the city's shapes.
"""

from __future__ import annotations

from functools import cache

import plotly.graph_objects as go

from .basemap import Y_STRETCH, bounds
from .i18n import t
from .layers import all_layers
from .layers._style import BACKGROUND

LEGEND_FONT = "#c9d6e3"


@cache
def trace_slots() -> dict[str, range]:
    """Which trace indexes belong to each layer (the same in every language)."""
    slots, start = {}, 0
    for layer in all_layers():
        n = len(layer.traces("zh-TW"))
        slots[layer.id] = range(start, start + n)
        start += n
    return slots


def base_map(lang: str, level: str = "normal") -> go.Figure:
    fig = go.Figure()
    for layer in all_layers():
        traces = layer.traces(lang)
        listed = [tr for tr in traces if tr.showlegend is not False]
        for trace in traces:
            if level not in layer.levels:
                trace.visible = "legendonly"  # still listed: an officer can switch it on
            if len(listed) > 1 and trace in listed:
                trace.legendgrouptitle = dict(text=t(layer.title_key, lang))  # a title for a group of entries
            fig.add_trace(trace)
    x0, y0, x1, y1 = bounds()
    fig.update_layout(
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND, margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(visible=False, range=[x0, x1]),
        yaxis=dict(visible=False, range=[y0, y1], scaleanchor="x", scaleratio=Y_STRETCH),
        dragmode="pan", uirevision="map", hoverlabel=dict(bgcolor="#1e2a3a", font=dict(color="#e8eef5")),
        legend=dict(x=0.995, xanchor="right", y=0.995, bgcolor="rgba(11,18,32,0.78)",
                    font=dict(color=LEGEND_FONT, size=15), grouptitlefont=dict(size=15, color=LEGEND_FONT),
                    groupclick="togglegroup", itemsizing="constant"),
        font=dict(family="Noto Sans CJK TC, Noto Sans TC, sans-serif"),
    )
    return fig


def apply_patches(fig, layer_id: str, updates: list[dict]) -> None:
    """Write a layer's updates (one dict per trace, Plotly paths as keys) into a dash.Patch or,
    when the whole figure is being redrawn, into the figure itself."""
    for index, update in zip(trace_slots()[layer_id], updates):
        if isinstance(fig, go.Figure):
            fig.data[index].update({path.replace(".", "_"): value for path, value in update.items()})
            continue
        for path, value in update.items():
            target = fig["data"][index]
            *parents, leaf = path.split(".")
            for part in parents:
                target = target[part]
            target[leaf] = value
