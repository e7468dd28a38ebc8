"""The registry of wall tiles: every `Tile` defined at module level in this package."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import Tile

__all__ = ["Tile", "all_tiles"]


@cache
def all_tiles() -> tuple[Tile, ...]:
    found: dict[str, Tile] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Tile):
                if value.id in found and found[value.id] is not value:
                    raise RuntimeError(f"two tiles have the id {value.id!r}")
                found[value.id] = value
    return tuple(sorted(found.values(), key=lambda tile: (tile.order, tile.id)))
