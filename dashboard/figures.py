"""Pure figure builders for the wall's map: no database, no Dash state, tested on their own.

The map is one Plotly figure with a fixed list of layers (traces). Live updates patch a
layer's data in place (`dash.Patch`), so a refresh sends a few kilobytes, not the city.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .basemap import Y_STRETCH, bounds, districts, joined
from .i18n import fmt_number, t

# Layer order is the trace order; callbacks patch by index.
LAYERS = ("districts", "district_labels", "detectors")
LAYER_INDEX = {name: i for i, name in enumerate(LAYERS)}

BACKGROUND = "#0b1220"
LAND = "#15202e"
BORDER = "#3b5675"
LABEL = "#8aa4c0"

# ColorBrewer RdYlBu: readable by colour-blind viewers (no red/green pair); slow is red/orange.
SPEED_SCALE = [[0.0, "#d7191c"], [0.25, "#fdae61"], [0.5, "#ffffbf"], [0.75, "#abd9e9"], [1.0, "#2c7bb6"]]
SPEED_MAX = 80


def base_map(lang: str) -> go.Figure:
    fig = go.Figure()
    xs, ys = joined(districts())
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=LAND,
                             line=dict(color=BORDER, width=1.2), hoverinfo="skip", showlegend=False,
                             name=t("layer.districts", lang)))
    fig.add_trace(go.Scatter(
        x=[a.label_lon for a in districts()], y=[a.label_lat for a in districts()], mode="text",
        text=[a.name if lang == "zh-TW" else a.name_en.replace(" District", "") for a in districts()],
        textfont=dict(color=LABEL, size=12), hoverinfo="skip", showlegend=False,
        name=t("layer.district_labels", lang)))
    fig.add_trace(go.Scatter(
        x=[], y=[], mode="markers", name=t("layer.detectors", lang), showlegend=True,
        marker=dict(size=9, color=[], colorscale=SPEED_SCALE, cmin=0, cmax=SPEED_MAX,
                    line=dict(color="#0b1220", width=0.8),
                    colorbar=dict(title=dict(text=t("legend.speed", lang), font=dict(color=LABEL)),
                                  tickfont=dict(color=LABEL), thickness=10, len=0.35, x=0.01, xanchor="left",
                                  y=0.02, yanchor="bottom", bgcolor="rgba(11,18,32,0.7)")),
        hovertemplate="%{text}<extra></extra>", text=[]))
    x0, y0, x1, y1 = bounds()
    fig.update_layout(
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND, margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(visible=False, range=[x0, x1], fixedrange=False),
        yaxis=dict(visible=False, range=[y0, y1], scaleanchor="x", scaleratio=Y_STRETCH),
        dragmode="pan", uirevision="map", hoverlabel=dict(bgcolor="#1e2a3a", font=dict(color="#e8eef5")),
        legend=dict(x=0.99, xanchor="right", y=0.99, bgcolor="rgba(11,18,32,0.7)", font=dict(color="#c9d6e3")),
        font=dict(family="Noto Sans CJK TC, Noto Sans TC, sans-serif"),
    )
    return fig


def detector_layer(rows: list[dict], lang: str) -> dict:
    """x, y, colours and hover text of the detector layer, from the latest readings."""
    text = [
        f"{r['name'] or r['vd_id']}<br>{t('tile.mean_speed', lang)}: {fmt_number(r['speed_kmh'], lang, 0)} km/h"
        f"<br>{t('unit.volume', lang)}: {fmt_number(r['volume'], lang)}"
        for r in rows
    ]
    return {
        "x": [r["lon"] for r in rows],
        "y": [r["lat"] for r in rows],
        "marker.color": [r["speed_kmh"] if r["speed_kmh"] is not None else 0 for r in rows],
        "text": text,
    }
