"""/wall: the video wall. A dark full-screen map of Taichung with its layers, the tiles with the
time of their data, and the feed-health strip. Query: `lang` (zh-TW|en), `as_of` (ISO time;
absent = live)."""

from __future__ import annotations

import time
from datetime import datetime

from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import access, wall_map, wire
from dashboard.components import health
from dashboard.components.level_banner import banner
from dashboard.components.tile import failed_tile
from dashboard.figures import base_map
from dashboard.i18n import TAIPEI, fmt_date, fmt_time, lang_or_default, t
from dashboard.runtime import database, refresh_ms
from dashboard.snapshot import FAILED, parse_as_of, snapshot
from dashboard.tiles import all_tiles


SCREENS = ("all", "map", "side")  # a wall split over several screens: one URL per screen


def layout(lang: str | None = None, as_of: str | None = None, screen: str | None = None, **_query):
    lang = lang_or_default(lang)
    moment = parse_as_of(as_of)
    screen = screen if screen in SCREENS else "all"
    return html.Div(className=f"wall screen-{screen}", children=[
        dcc.Store(id="wall-params", data={"lang": lang, "as_of": moment.isoformat() if moment else None}),
        dcc.Store(id="wall-level", data="normal"),  # the level the map was last drawn for
        dcc.Store(id="wall-drawn", data={}),  # layer -> digest of the data this screen's map shows
        dcc.Store(id="wall-panels-drawn", data=None),  # digest of the tiles this screen shows
        dcc.Store(id="wall-moment", data=None),  # set by each panel refresh: the map's turn
        dcc.Interval(id="wall-tick", interval=refresh_ms(), n_intervals=0),
        html.Header(className="wall-header", children=[
            html.H1(t("app.title", lang), className="wall-title"),
            html.Div(id="wall-banner", className="wall-banner"),
            html.Div(id="wall-mode", className="wall-mode"),
            html.Div(className="time-travel", children=[
                html.Label(t("wall.as_of", lang), htmlFor="tt-input"),
                dcc.Input(id="tt-input", type="text", debounce=True, placeholder=t("wall.as_of_format", lang), size="20",
                          value=moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if moment else None),
                html.Button(t("wall.back_to_live", lang), id="tt-live", n_clicks=0, className="tt-live"),
            ]),
            html.Div(id="wall-clock", className="wall-clock"),
            html.Nav(className="lang-switch", children=[
                html.A(t("lang.zh", lang), href="?lang=zh-TW", className="lang-link"),
                html.A(t("lang.en", lang), href="?lang=en", className="lang-link"),
            ]),
        ]),
        html.Main(className="wall-main", children=[
            dcc.Graph(id="wall-map", className="wall-map", figure=base_map(lang),
                      config={"displayModeBar": False, "scrollZoom": True, "responsive": True, "showTips": False}),
            html.Aside(id="wall-tiles", className="wall-tiles"),
        ]),
        html.Footer(id="wall-health", className="wall-health"),
    ])


access.register_page(__name__, path="/wall", roles=access.VIEWERS, layout=layout, title="臺中市智慧營運中心")


# A refresh comes in two steps, each its own request: first the panels (tiles, health strip,
# clock, level banner), then the map. Plotly redrawing the map is the slowest thing the browser
# does (200-600 ms of script without a GPU); in one response it held back the tiles with it.
@access.callback(
    Output("wall-tiles", "children"), Output("wall-health", "children"), Output("wall-clock", "children"),
    Output("wall-mode", "children"), Output("wall-banner", "children"), Output("wall-panels-drawn", "data"),
    Output("wall-moment", "data"),
    Input("wall-tick", "n_intervals"), State("wall-params", "data"), State("wall-panels-drawn", "data"),
    roles=access.VIEWERS)
def refresh(n, params, drawn_tiles):
    lang = lang_or_default((params or {}).get("lang"))
    as_of = parse_as_of((params or {}).get("as_of"))
    snap = snapshot(database(), as_of)
    tiles, strip, clock, mode, level_banner, tiles_digest = panels(snap, lang, live=as_of is None)
    if drawn_tiles == tiles_digest:
        tiles = no_update  # this screen shows these tiles already
    # The map draws this very snapshot: a live one is named by its key (moment, level switch).
    key = snap.get("key")
    shown = [t.isoformat() if t else None for t in key] if key else None
    return tiles, strip, clock, mode, level_banner, tiles_digest, {"n": n, "params": params, "live_key": shown}


@access.callback(
    Output("wall-map", "figure"), Output("wall-level", "data"), Output("wall-drawn", "data"),
    Input("wall-moment", "data"), State("wall-level", "data"), State("wall-drawn", "data"),
    roles=access.VIEWERS, prevent_initial_call=True)
def refresh_map(moment, drawn_level, drawn):
    params = (moment or {}).get("params") or {}
    lang = lang_or_default(params.get("lang"))
    shown = (moment or {}).get("live_key")
    live_key = tuple(datetime.fromisoformat(t) if t else None for t in shown) if shown else None
    snap = snapshot(database(), parse_as_of(params.get("as_of")), live_key=live_key)
    fig, level, drawn = wall_map.changes(snap, lang, drawn_level, drawn, live=not params.get("as_of"), now=time.time())
    if fig is None:
        return no_update, no_update, no_update  # nothing new for this screen's map: no redraw at all
    return fig, level, drawn


def panels(snap: dict, lang: str, *, live: bool) -> tuple:
    """The tiles, health strip, clock, mode badge and level banner of a snapshot, drawn and
    encoded once per language however many screens show it."""
    memo = snap.setdefault("_panels", {})
    key = (lang, live)
    if key not in memo:
        moment, level = snap["as_of"], snap["level"]["level"]
        tiles = []
        for spec in all_tiles():
            if level not in spec.levels:
                continue
            data = snap["tiles"].get(spec.id)
            tiles.append(failed_tile(spec.id, lang) if data is FAILED else spec.render(data, lang, moment))
        clock = [html.Span(fmt_date(moment, lang), className="clock-date"),
                 html.Span(fmt_time(moment, lang), className="clock-time")]
        mode = (html.Span(t("mode.live", lang), className="badge badge-live") if live
                else html.Span(t("mode.as_of", lang, time=fmt_time(moment, lang)), className="badge badge-past"))
        tiles_json = wire.encoded(tiles)
        parts = (health.strip(snap["feeds"], lang), clock, mode, banner(snap["level"], lang, moment))
        memo[key] = (wire.shared(tiles_json), *(wire.shared(wire.encoded(p)) for p in parts), wire.digest(tiles_json))
    return memo[key]


@access.callback(
    Output("wall-params", "data"),
    Input("tt-input", "value"), Input("tt-live", "n_clicks"), State("wall-params", "data"),
    roles=access.VIEWERS, prevent_initial_call=True)
def travel(moment_text, _live_clicks, params):
    """One control moves the whole wall (map, tiles, alerts, tasks) to a past moment, and back."""
    params = dict(params or {})
    if ctx.triggered_id == "tt-live" or not moment_text:
        params["as_of"] = None
        return params
    try:
        moment = datetime.fromisoformat(moment_text.strip().replace("/", "-")).replace(tzinfo=TAIPEI)
    except ValueError:
        raise PreventUpdate
    params["as_of"] = moment.isoformat()
    return params


@access.callback(Output("tt-input", "value"), Input("tt-live", "n_clicks"), roles=access.VIEWERS,
                 prevent_initial_call=True)
def clear_travel(_clicks):
    return None
