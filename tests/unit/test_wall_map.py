"""A screen's map is sent only what changed, and a layer that changes all the time (detectors)
at most every `redraw_every_s` on the live wall: each redraw repaints the whole map."""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go

from dashboard import wall_map
from dashboard.layers.detectors import DETECTORS


def _snap(speed: float, level: str = "normal") -> dict:
    data = {"vd_id": ["VD-1", "VD-2"], "epoch": [1.0, 2.0], "speed": [speed, 40.0], "volume": [3, 4],
            "lon": [120.6, 120.7], "lat": [24.1, 24.2], "name": ["a", "b"]}
    return {"level": {"level": level}, "layers": {"detectors": data}}


def test_detector_changes_reach_a_screen_at_most_every_five_seconds_on_the_live_wall():
    assert DETECTORS.redraw_every_s == 5.0
    fig, level, drawn = wall_map.changes(_snap(30), "zh-TW", "normal", {}, live=True, now=1000.0)
    assert fig is not None and level == "normal" and drawn["@detectors"] == 1000.0
    first = drawn["detectors"]
    fig, _, held = wall_map.changes(_snap(31), "zh-TW", "normal", drawn, live=True, now=1002.0)
    assert fig is None and held == drawn  # drawn two seconds ago: the change waits
    fig, _, drawn = wall_map.changes(_snap(31), "zh-TW", "normal", drawn, live=True, now=1005.1)
    assert fig is not None and drawn["detectors"] != first and drawn["@detectors"] == 1005.1
    fig, _, same = wall_map.changes(_snap(31), "zh-TW", "normal", drawn, live=True, now=1030.0)
    assert fig is None and same == drawn  # nothing changed: nothing sent, no redraw


def test_time_travel_a_new_level_and_urgent_layers_are_drawn_at_once(monkeypatch):
    _, _, drawn = wall_map.changes(_snap(30), "zh-TW", "normal", {}, live=True, now=1000.0)
    fig, _, _ = wall_map.changes(_snap(32), "zh-TW", "normal", drawn, live=False, now=1001.0)
    assert fig is not None  # a moment of the past is shown as it was, whole
    fig, level, redrawn = wall_map.changes(_snap(33, "level2"), "zh-TW", "normal", drawn, live=True, now=1001.0)
    assert isinstance(fig, go.Figure) and level == "level2" and redrawn["@detectors"] == 1001.0
    urgent = dataclasses.replace(DETECTORS, redraw_every_s=0.0)
    monkeypatch.setattr(wall_map, "all_layers", lambda: [urgent])
    fig, _, _ = wall_map.changes(_snap(34), "zh-TW", "normal", drawn, live=True, now=1000.5)
    assert fig is not None
