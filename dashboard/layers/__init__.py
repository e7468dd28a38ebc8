"""The registry of map layers: every `Layer` defined at module level in this package."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import ALL_LEVELS, Layer

__all__ = ["ALL_LEVELS", "Layer", "all_layers"]


@cache
def all_layers() -> tuple[Layer, ...]:
    found: dict[str, Layer] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Layer):
                if value.id in found and found[value.id] is not value:
                    raise RuntimeError(f"two layers have the id {value.id!r}")
                found[value.id] = value
    return tuple(sorted(found.values(), key=lambda layer: (layer.order, layer.id)))
