"""A map layer of the wall: its traces, the data it shows at a moment, and how that data
becomes trace updates. Layers are discovered (one module each under `dashboard/layers/`);
the wall draws them in `order` and patches only their data on each refresh."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ALL_LEVELS = frozenset({"normal", "level3", "level2", "level1"})


@dataclass(frozen=True)
class Layer:
    id: str
    title_key: str  # i18n key of its name (legend group title)
    order: int  # drawing order: lower first (underneath)
    # lang -> the layer's traces, empty or static; each with legendgroup=id
    traces: Callable[[str], list]
    # (database, as_of) -> data; None for a static layer
    query: Callable[[Any, datetime], Any] | None = None
    # (data, lang) -> one dict per trace of updates, keys as Plotly paths ("marker.color")
    patch: Callable[[Any, str], list[dict]] | None = None
    feeds: tuple[str, ...] = ()  # where its data comes from (freshness)
    levels: frozenset[str] = ALL_LEVELS  # operational levels at which it is on by default
    # A layer whose data changes all the time (thousands of detectors' speeds) is redrawn on a
    # screen at most this often: any redraw repaints the whole map, 100-600 ms of the browser's
    # time, and every tile waits behind it. 0: at every change (incidents, alerts, tasks).
    redraw_every_s: float = 0.0
