"""The base map: Taichung's 29 districts and their names, drawn from the shipped boundaries."""

from __future__ import annotations

import plotly.graph_objects as go

from ..basemap import districts, joined
from ..i18n import t
from ._style import BORDER, LABEL, LAND
from .base import Layer


def _traces(lang: str) -> list:
    xs, ys = joined(districts())
    names = [a.name if lang == "zh-TW" else a.name_en.replace(" District", "") for a in districts()]
    return [
        go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=LAND, line=dict(color=BORDER, width=1.2),
                   hoverinfo="skip", showlegend=False, name=t("layer.districts", lang), legendgroup="districts"),
        go.Scatter(x=[a.label_lon for a in districts()], y=[a.label_lat for a in districts()], mode="text",
                   text=names, textfont=dict(color=LABEL, size=12), hoverinfo="skip", showlegend=False,
                   name=t("layer.district_labels", lang), legendgroup="districts"),
    ]


DISTRICTS = Layer(id="districts", title_key="layer.districts", order=0, traces=_traces)
