"""The registry of feeds: every `Feed` defined at module level in this package.

Adding a feed is adding a module here (its parser, topic, cadence and rows), its JSON Schema
under `schemas/messages/`, its tables in a migration and its layer on the wall.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import Feed, FeedError, Table

__all__ = ["Feed", "FeedError", "Table", "all_feeds", "get"]


@cache
def all_feeds() -> dict[str, Feed]:
    found: dict[str, Feed] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Feed):
                if value.name in found and found[value.name] is not value:
                    raise RuntimeError(f"two feeds are named {value.name!r}")
                found[value.name] = value
    return dict(sorted(found.items()))


def get(name: str) -> Feed:
    try:
        return all_feeds()[name]
    except KeyError:
        raise KeyError(f"unknown feed {name!r}; known: {', '.join(all_feeds())}") from None
