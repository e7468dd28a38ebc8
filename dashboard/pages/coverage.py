"""/coverage: population coverage of 4G base stations, live. The 625 villages shaded by the
share of their people covered, the stations (those down or degraded each shown; those up as a
sample), the outages, and a what-if: take a district's stations, or those in an area selected on
the map, down and see who would lose coverage (on a copy: the live state never changes).

Query: `lang` (zh-TW|en). Method and assumptions: geo/README.md."""

from __future__ import annotations

import math

import dash
import plotly.graph_objects as go
import shapely
from dash import Input, Output, Patch, State, dcc, html, no_update

from dashboard import access, coverage_live
from dashboard.basemap import Y_STRETCH, bounds, districts, joined, villages
from dashboard.i18n import fmt_number, fmt_time, lang_or_default, t
from dashboard.layers._common import inert
from dashboard.layers._style import BACKGROUND, BORDER, LABEL
from dashboard.runtime import database, refresh_ms

# Classes of % of people covered, best first: (lower bound, colour). A sequential scale from
# cividis (readable with every common colour-vision deficiency): the less covered, the lighter
# and yellower, so gaps stand out on the dark map.
CLASSES = ((99.5, "#2a3f66"), (95.0, "#575d6d"), (80.0, "#7f7c76"), (50.0, "#aea071"), (20.0, "#dcc55e"),
           (0.0, "#ffe945"))
NO_PEOPLE = "#1a2433"
MAX_UP_POINTS = 2500  # stations up are drawn as an even sample: 14,000 SVG markers are slow
LOST_LINE = "#ffffff"
WHATIF_LINE = "#4fb3ff"
DOWN_COLOUR, DEGRADED_COLOUR, UP_COLOUR = "#ff4d6d", "#ffb000", "#9fb8d0"
TOP_VILLAGES = 8

# Trace order of the map (patched by index).
N_CLASSES = len(CLASSES) + 1  # + no people
T_DISTRICTS = N_CLASSES
T_LOST = T_DISTRICTS + 1
T_WHATIF = T_LOST + 1
T_VILLAGES = T_WHATIF + 1
T_UP = T_VILLAGES + 1
T_DEGRADED = T_UP + 1
T_DOWN = T_DEGRADED + 1
T_LABELS = T_DOWN + 1


def layout(lang: str | None = None, **_query):
    lang = lang_or_default(lang)
    options = [{"label": a.name if lang == "zh-TW" else a.name_en, "value": a.code} for a in districts()]
    return html.Div(className="coverage-page", children=[
        dcc.Store(id="cov-params", data={"lang": lang}),
        dcc.Store(id="cov-drawn", data=None),
        dcc.Interval(id="cov-tick", interval=max(refresh_ms(), 3000), n_intervals=0),
        html.Header(className="cov-header", children=[
            html.H1(t("coverage.title", lang), className="cov-title"),
            html.Div(id="cov-source", className="cov-source"),
            html.Nav(className="lang-switch", children=[
                html.A(t("coverage.home", lang), href=f"/?lang={lang}", className="lang-link"),
                html.A("中文", href="?lang=zh-TW", className="lang-link"),
                html.A("EN", href="?lang=en", className="lang-link"),
            ]),
        ]),
        html.Main(className="cov-main", children=[
            html.Div(className="cov-map-wrap", children=[
                dcc.Graph(id="cov-map", className="cov-map", figure=_empty_figure(),
                          config={"displaylogo": False, "scrollZoom": True, "responsive": True,
                                  "modeBarButtonsToRemove": ["toImage", "autoScale2d"]}),
                _scale_legend(lang),
            ]),
            html.Aside(className="cov-side", children=[
                html.Section(id="cov-city", className="cov-city"),
                html.Section(className="cov-whatif", children=[
                    html.H2(t("coverage.whatif_title", lang)),
                    html.P(t("coverage.whatif_help", lang), className="cov-note"),
                    dcc.Dropdown(id="cov-district", options=options, placeholder=t("coverage.pick_district", lang),
                                 clearable=True, className="cov-dropdown"),
                    html.Div(className="cov-buttons", children=[
                        html.Button(t("coverage.whatif_district", lang), id="cov-whatif-district", n_clicks=0,
                                    className="cov-button"),
                        html.Button(t("coverage.whatif_selection", lang), id="cov-whatif-selection", n_clicks=0,
                                    className="cov-button"),
                    ]),
                    dcc.Loading(html.Div(id="cov-whatif-result", className="cov-whatif-result"), type="dot"),
                ]),
                html.Section(id="cov-outages", className="cov-outages"),
                html.P(t("coverage.assumptions", lang), className="cov-note"),
            ]),
        ]),
    ])


access.register_page(__name__, path="/coverage", roles=access.VIEWERS, layout=layout,
                     title="基地臺人口涵蓋 Coverage")


# -- the live refresh ----------------------------------------------------------------------------
@access.callback(
    Output("cov-map", "figure"), Output("cov-city", "children"), Output("cov-outages", "children"),
    Output("cov-source", "children"), Output("cov-drawn", "data"),
    Input("cov-tick", "n_intervals"), State("cov-params", "data"), State("cov-drawn", "data"),
    roles=access.VIEWERS)
def refresh(_n, params, drawn):
    lang = lang_or_default((params or {}).get("lang"))
    view = coverage_live.current(database())
    if drawn and drawn.get("version") == view.version and drawn.get("lang") == lang:
        return no_update, no_update, no_update, _source(view, lang), no_update  # reports keep coming
    classes = _classes(view.villages)
    if drawn and drawn.get("lang") == lang and drawn.get("classes"):
        fig = Patch()
        drawn_members = _members(drawn["classes"])
        for k, members in enumerate(_members(classes)):
            if members != drawn_members[k]:
                fig["data"][k]["x"], fig["data"][k]["y"] = joined(_areas(members))
        for index, update in _live_traces(view, lang).items():
            for key, value in update.items():
                fig["data"][index][key] = value
    else:
        fig = _figure(view, classes, lang)
    drawn = {"version": view.version, "lang": lang, "classes": classes}
    return fig, _city_panel(view, lang), _outages_panel(view, lang), _source(view, lang), drawn


def _classes(villages_frame) -> dict[str, int]:
    """Colour class of each village (index into CLASSES; N_CLASSES - 1 for no people)."""
    out = {}
    for code, people, covered in zip(villages_frame["code"], villages_frame["population"],
                                     villages_frame["covered_population"]):
        if people <= 0:
            out[code] = N_CLASSES - 1
            continue
        pct = 100.0 * covered / people
        out[code] = next(k for k, (low, _) in enumerate(CLASSES) if pct >= low)
    return out


def _members(classes: dict[str, int]) -> list[list[str]]:
    members: list[list[str]] = [[] for _ in range(N_CLASSES)]
    for code, k in sorted(classes.items()):
        members[k].append(code)
    return members


_AREAS: dict = {}


def _areas(codes) -> list:
    if not _AREAS:
        _AREAS.update({a.code: a for a in villages()})
    return [_AREAS[c] for c in codes if c in _AREAS]


def _class_names(lang: str) -> list[str]:
    names = [t("coverage.class_full", lang)]
    for (low, _), (high, _) in zip(CLASSES[1:], CLASSES[:-1]):
        names.append(t("coverage.class_range", lang, low=f"{low:g}", high=f"{high:g}"))
    return names + [t("coverage.class_none", lang)]


def _scale_legend(lang: str):
    """The colour scale, every class always listed (Plotly's legend drops empty traces)."""
    colours = [c for _, c in CLASSES] + [NO_PEOPLE]
    return html.Div(className="cov-legend", id="cov-legend", children=[
        html.Div(t("coverage.legend_pct", lang), className="cov-legend-title"),
        *[html.Div(className="cov-legend-row", children=[
            html.Span(className="cov-swatch", style={"background": colour}), html.Span(name)])
          for colour, name in zip(colours, _class_names(lang))],
    ])


def _empty_figure() -> go.Figure:
    fig = go.Figure()
    _style(fig)
    return fig


def _style(fig: go.Figure) -> None:
    x0, y0, x1, y1 = bounds()
    fig.update_layout(
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND, margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(visible=False, range=[x0, x1]),
        yaxis=dict(visible=False, range=[y0, y1], scaleanchor="x", scaleratio=Y_STRETCH),
        dragmode="pan", uirevision="coverage", hoverlabel=dict(bgcolor="#1e2a3a", font=dict(color="#e8eef5")),
        legend=dict(x=0.005, xanchor="left", y=0.995, bgcolor="rgba(11,18,32,0.8)", font=dict(color="#c9d6e3"),
                    itemsizing="constant"),
        font=dict(family="Noto Sans CJK TC, Noto Sans TC, sans-serif"),
    )


def _figure(view, classes: dict[str, int], lang: str) -> go.Figure:
    fig = go.Figure()
    colours = [c for _, c in CLASSES] + [NO_PEOPLE]
    for k, (members, name) in enumerate(zip(_members(classes), _class_names(lang))):
        xs, ys = joined(_areas(members))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colours[k],
                                 line=dict(color=BACKGROUND, width=0.5), hoverinfo="skip", name=name,
                                 showlegend=False))  # the scale is the HTML legend under the map
    xs, ys = joined(districts())
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=BORDER, width=1.4), hoverinfo="skip",
                             showlegend=False, name=t("layer.districts", lang)))
    fig.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color=LOST_LINE, width=2.2), hoverinfo="skip",
                             name=t("coverage.legend_lost", lang)))
    fig.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color=WHATIF_LINE, width=2.4, dash="dash"),
                             hoverinfo="skip", name=t("coverage.legend_whatif", lang)))
    areas = _areas(view.villages["code"])
    fig.add_trace(go.Scatter(x=[a.label_lon for a in areas], y=[a.label_lat for a in areas], mode="markers",
                             marker=dict(size=7, opacity=0), hovertemplate="%{text}<extra></extra>", text=[],
                             showlegend=False, name=t("coverage.villages", lang),
                             selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name=t("coverage.legend_up", lang), hoverinfo="skip",
                             marker=dict(size=3, color=UP_COLOUR, opacity=0.4), **_keep(0.4)))
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name=t("coverage.legend_degraded", lang),
                             marker=dict(size=9, color=DEGRADED_COLOUR, symbol="triangle-up",
                                         line=dict(color=BACKGROUND, width=1)),
                             hovertemplate="%{text}<extra></extra>", text=[], **_keep(1.0)))
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name=t("coverage.legend_down", lang),
                             marker=dict(size=10, color=DOWN_COLOUR, symbol="x", line=dict(color=BACKGROUND, width=1)),
                             hovertemplate="%{text}<extra></extra>", text=[], **_keep(1.0)))
    names = [a.name if lang == "zh-TW" else a.name_en.replace(" District", "") for a in districts()]
    fig.add_trace(go.Scatter(x=[a.label_lon for a in districts()], y=[a.label_lat for a in districts()],
                             mode="text", text=names, textfont=dict(color=LABEL, size=12), hoverinfo="skip",
                             showlegend=False, name=t("layer.district_labels", lang),
                             selected=dict(textfont=dict(color=LABEL)), unselected=dict(textfont=dict(color=LABEL))))
    for index, update in _live_traces(view, lang).items():
        fig.data[index].update(update)
    _style(fig)
    return fig


def _keep(opacity: float) -> dict:
    """Selecting an area must not dim the stations."""
    return dict(selected=dict(marker=dict(opacity=opacity)), unselected=dict(marker=dict(opacity=opacity)))


def _live_traces(view, lang: str) -> dict[int, dict]:
    """What moves with the statuses: villages' hover text, lost outline, stations."""
    v = view.villages
    hover = [_village_hover(row, lang) for row in v.itertuples(index=False)]
    lost_codes = [row.code for row in v.itertuples(index=False)
                  if row.lost >= 1 and row.lost >= 0.01 * max(1, row.population)]
    lost_x, lost_y = joined(_areas(lost_codes))
    s = view.stations
    up = s[s["status"] == "up"]
    step = max(1, math.ceil(len(up) / MAX_UP_POINTS))
    sample = up.iloc[::step]
    degraded = s[s["status"] == "degraded"]
    down = s[s["status"] == "down"]
    return {
        T_VILLAGES: {"text": hover},
        T_LOST: {"x": lost_x, "y": lost_y},
        T_UP: {"x": sample["lon"].round(5).tolist(), "y": sample["lat"].round(5).tolist(),
               "name": t("coverage.legend_up_sample", lang, shown=fmt_number(len(sample), lang),
                         total=fmt_number(len(up), lang)) if step > 1 else t("coverage.legend_up", lang)},
        T_DEGRADED: _station_points(degraded, "degraded", lang),
        T_DOWN: _station_points(down, "down", lang),
    }


def _station_points(frame, status: str, lang: str) -> dict:
    label = t(f"coverage.status_{status}", lang)
    return {"x": frame["lon"].round(5).tolist(), "y": frame["lat"].round(5).tolist(),
            "text": [f"{inert(sid, 64)}<br>{inert(op, 40)}<br>{label}"  # feed text: inert
                     for sid, op in zip(frame["station_id"], frame["operator"])]}


def _village_hover(row, lang: str) -> str:
    name = row.name if lang == "zh-TW" or not row.name_en else row.name_en
    pct = fmt_number(100 * row.covered_population / row.population, lang, 1) if row.population > 0 else "—"
    text = t("coverage.village_hover", lang, village=name, district=row.district_name, pct=pct,
             covered=fmt_number(row.covered_population, lang), people=fmt_number(row.population, lang))
    if row.lost >= 0.5:
        text += "<br>" + t("coverage.village_lost", lang, people=fmt_number(row.lost, lang))
    return text


# -- side panel ----------------------------------------------------------------------------------
def _pct(part: float, whole: float) -> float | None:
    return min(100.0, 100.0 * part / whole) if whole > 0 else None


def _city_panel(view, lang: str):
    c = view.city
    s = view.stations["status"]
    return [
        html.H2(t("coverage.city", lang)),
        html.Div(className="cov-figure", id="cov-city-pct", children=[
            html.Span(fmt_number(_pct(c["covered_population"], c["population"]), lang, 2), className="cov-big"),
            html.Span("%", className="cov-unit"),
            html.Span(t("coverage.of_people", lang), className="cov-caption"),
        ]),
        html.Dl(className="cov-facts", children=[
            html.Dt(t("coverage.covered_people", lang)),
            html.Dd(t("coverage.n_of_m", lang, n=fmt_number(c["covered_population"], lang),
                      m=fmt_number(c["population"], lang))),
            html.Dt(t("coverage.area", lang)),
            html.Dd(f"{fmt_number(_pct(c['covered_area_m2'], c['area_m2']), lang, 2)} %"),
            html.Dt(t("coverage.lost_now", lang)),
            html.Dd(fmt_number(c["lost"], lang), id="cov-lost-now",
                    className="cov-alert" if c["lost"] >= 1 else None),
            html.Dt(t("coverage.stations", lang)),
            html.Dd(t("coverage.station_counts", lang, up=fmt_number(int((s == "up").sum()), lang),
                      degraded=fmt_number(int((s == "degraded").sum()), lang),
                      down=fmt_number(int((s == "down").sum()), lang))),
        ]),
    ]


def _outages_panel(view, lang: str):
    v = view.villages
    lost = v[v["lost"] >= 0.5].sort_values("lost", ascending=False)
    s = view.stations
    down = s[s["status"] == "down"]
    children = [html.H2(t("coverage.outages", lang))]
    if lost.empty and down.empty:
        children.append(html.P(t("coverage.no_outages", lang), className="cov-note"))
        return children
    by_district = down.groupby("district_code").size().sort_values(ascending=False)
    names = {a.code: (a.name if lang == "zh-TW" else a.name_en) for a in districts()}
    separator = "、" if lang == "zh-TW" else ", "
    children.append(html.P(t("coverage.down_by_district", lang) + " " + separator.join(
        f"{names.get(code, code)} {n}" for code, n in by_district.head(6).items()) if len(by_district) else ""))
    children.append(_village_table(lost.head(TOP_VILLAGES), "lost", lang))
    return children


def _village_table(frame, column: str, lang: str):
    header = html.Tr([html.Th(t("coverage.col_village", lang)), html.Th(t("coverage.col_district", lang)),
                      html.Th(t("coverage.col_lost", lang)), html.Th("%")])
    district_names = {a.code: a.name if lang == "zh-TW" else a.name_en for a in districts()}
    rows = [html.Tr([html.Td(r["name"] if lang == "zh-TW" or not r.get("name_en") else r["name_en"]),
                     html.Td(district_names.get(r["district_code"], r["district_name"])),
                     html.Td(fmt_number(r[column], lang)),
                     html.Td(fmt_number(_pct(r[column], r["population"]), lang, 1))])
            for r in frame.to_dict("records")]
    return html.Table(className="cov-table", children=[html.Thead(header), html.Tbody(rows)])


def _source(view, lang: str):
    if view.source == "layout":
        return html.Span(t("coverage.source_layout", lang, period=view.layout_period), className="badge badge-past")
    return html.Span(t("coverage.source_live", lang, n=fmt_number(len(view.stations), lang),
                       time=fmt_time(view.newest, lang)), className="badge badge-live")


# -- what-if -------------------------------------------------------------------------------------
@access.callback(
    Output("cov-whatif-result", "children"), Output("cov-map", "figure", allow_duplicate=True),
    Input("cov-whatif-district", "n_clicks"), Input("cov-whatif-selection", "n_clicks"),
    State("cov-district", "value"), State("cov-map", "selectedData"), State("cov-params", "data"),
    roles=access.VIEWERS, changes_state=False, prevent_initial_call=True)
def what_if(_district_clicks, _selection_clicks, district_code, selected, params):
    lang = lang_or_default((params or {}).get("lang"))
    if dash.ctx.triggered_id == "cov-whatif-district":
        if not district_code:
            return html.P(t("coverage.pick_district_first", lang), className="cov-note"), no_update
        result = coverage_live.what_if(database(), lambda live: live.station_ids_within(district=district_code))
    else:
        area = _selected_area(selected)
        if area is None:
            return html.P(t("coverage.select_first", lang), className="cov-note"), no_update
        result = coverage_live.what_if(database(), lambda live: live.station_ids_within(lonlat_polygon=area))
    fig = Patch()
    fig["data"][T_WHATIF]["x"], fig["data"][T_WHATIF]["y"] = joined(_areas(result.villages["code"]))
    return _what_if_panel(result, lang), fig


def _selected_area(selected):
    """The box or lasso drawn on the map, as a lon/lat polygon (None when nothing is drawn)."""
    if not isinstance(selected, dict):
        return None
    box = selected.get("range")
    lasso = selected.get("lassoPoints")
    try:
        if isinstance(box, dict) and box.get("x") and box.get("y"):
            (x0, x1), (y0, y1) = box["x"][:2], box["y"][:2]
            return shapely.box(float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1)))
        if isinstance(lasso, dict) and len(lasso.get("x") or []) >= 3:
            polygon = shapely.Polygon([(float(x), float(y)) for x, y in zip(lasso["x"], lasso["y"])])
            return polygon if polygon.is_valid else shapely.make_valid(polygon)
    except (TypeError, ValueError):
        return None
    return None


def _what_if_panel(result, lang: str):
    view_city = coverage_live.current(database()).city
    share = _pct(result.lost_population, view_city["population"])
    return [
        html.Dl(className="cov-facts", children=[
            html.Dt(t("coverage.whatif_stations", lang)),
            html.Dd(fmt_number(result.stations, lang)),
            html.Dt(t("coverage.whatif_people", lang)),
            html.Dd(t("coverage.people_share", lang, people=fmt_number(result.lost_population, lang),
                      pct=fmt_number(share, lang, 2)), id="cov-whatif-people", className="cov-alert"
                    if result.lost_population >= 1 else None, **{"data-value": f"{result.lost_population:.1f}"}),
            html.Dt(t("coverage.whatif_villages", lang)),
            html.Dd(fmt_number(len(result.villages), lang), id="cov-whatif-villages"),
        ]),
        _village_table(result.villages.head(TOP_VILLAGES), "lost", lang) if len(result.villages) else None,
    ]
