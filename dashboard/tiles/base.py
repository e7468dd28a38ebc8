"""A tile of the wall's side panel: a query at a moment and how to render it (with its data
time). Tiles are discovered (modules under `dashboard/tiles/`) and shown in `order`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..layers.base import ALL_LEVELS


@dataclass(frozen=True)
class Tile:
    id: str
    order: int
    query: Callable[[Any, datetime], Any]  # (database, as_of) -> data
    render: Callable[[Any, str, datetime], Any]  # (data, lang, as_of) -> a Dash component
    levels: frozenset[str] = ALL_LEVELS  # operational levels at which it is shown
    section: str = "live"  # side-panel section: live, ops or kpi
