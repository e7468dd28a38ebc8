"""/wall: the video wall. A dark full-screen map of Taichung with its layers, the tiles with the
time of their data, and the feed-health strip. Query: `lang` (zh-TW|en), `as_of` (ISO time;
absent = live)."""

from __future__ import annotations

from dash import Input, Output, Patch, State, dcc, html

from dashboard import access
from dashboard.components import health
from dashboard.components.level_banner import banner
from dashboard.components.tile import failed_tile
from dashboard.figures import apply_patches, base_map
from dashboard.i18n import fmt_date, fmt_time, lang_or_default, t
from dashboard.layers import all_layers
from dashboard.runtime import database, refresh_ms
from dashboard.snapshot import FAILED, parse_as_of, snapshot
from dashboard.tiles import all_tiles


def layout(lang: str | None = None, as_of: str | None = None, **_query):
    lang = lang_or_default(lang)
    moment = parse_as_of(as_of)
    return html.Div(className="wall", children=[
        dcc.Store(id="wall-params", data={"lang": lang, "as_of": moment.isoformat() if moment else None}),
        dcc.Store(id="wall-level", data="normal"),  # the level the map was last drawn for
        dcc.Interval(id="wall-tick", interval=refresh_ms(), n_intervals=0),
        html.Header(className="wall-header", children=[
            html.H1(t("app.title", lang), className="wall-title"),
            html.Div(id="wall-banner", className="wall-banner"),
            html.Div(id="wall-mode", className="wall-mode"),
            html.Div(id="wall-clock", className="wall-clock"),
            html.Nav(className="lang-switch", children=[
                html.A("中文", href="?lang=zh-TW", className="lang-link"),
                html.A("EN", href="?lang=en", className="lang-link"),
            ]),
        ]),
        html.Main(className="wall-main", children=[
            dcc.Graph(id="wall-map", className="wall-map", figure=base_map(lang),
                      config={"displayModeBar": False, "scrollZoom": True, "responsive": True}),
            html.Aside(id="wall-tiles", className="wall-tiles"),
        ]),
        html.Footer(id="wall-health", className="wall-health"),
    ])


access.register_page(__name__, path="/wall", roles=access.VIEWERS, layout=layout, title="臺中市智慧營運中心")


@access.callback(
    Output("wall-map", "figure"), Output("wall-tiles", "children"), Output("wall-health", "children"),
    Output("wall-clock", "children"), Output("wall-mode", "children"), Output("wall-banner", "children"),
    Output("wall-level", "data"),
    Input("wall-tick", "n_intervals"), State("wall-params", "data"), State("wall-level", "data"),
    roles=access.VIEWERS)
def refresh(_n, params, drawn_level):
    lang = lang_or_default((params or {}).get("lang"))
    as_of = parse_as_of((params or {}).get("as_of"))
    snap = snapshot(database(), as_of)
    moment = snap["as_of"]
    level = snap["level"]["level"]

    # A new level reconfigures the map (its layers for that level); otherwise only data moves.
    fig = base_map(lang, level) if level != drawn_level else Patch()
    for layer in all_layers():
        data = snap["layers"].get(layer.id)
        if layer.patch is not None and data is not None and data is not FAILED:
            apply_patches(fig, layer.id, layer.patch(data, lang))

    tiles = []
    for spec in all_tiles():
        if level not in spec.levels:
            continue
        data = snap["tiles"].get(spec.id)
        tiles.append(failed_tile(spec.id, lang) if data is FAILED else spec.render(data, lang, moment))
    clock = [html.Span(fmt_date(moment, lang), className="clock-date"),
             html.Span(fmt_time(moment, lang), className="clock-time")]
    mode = (html.Span(t("mode.live", lang), className="badge badge-live") if as_of is None
            else html.Span(t("mode.as_of", lang, time=fmt_time(moment, lang)), className="badge badge-past"))
    return (fig, tiles, health.strip(snap["feeds"], lang), clock, mode, banner(snap["level"], lang, moment),
            level)
