"""Periodic jobs of the operations center (`ioc jobs run`): escalations, live coverage,
retention, disk checks... One module per job defines a module-level `Job`; the runner finds
them all and runs each on its own interval, so a slow job never delays another."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Job:
    name: str
    interval_s: float
    # (context) -> None; context has .db_url, .owner_url, .mqtt_url (for notifications), .stop (Event)
    run: Callable[["JobContext"], None]
    description: str = ""


@dataclass
class JobContext:
    db_url: str
    owner_url: str
    mqtt_url: str | None
    stop: object  # threading.Event
    state: dict  # the job's own memory between runs


@cache
def all_jobs() -> tuple[Job, ...]:
    found: dict[str, Job] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Job):
                found[value.name] = value
    return tuple(sorted(found.values(), key=lambda j: j.name))
