"""The dashboard's own live coverage: one `LiveCoverage` per process (ioc/coverage/live.py),
kept in step with bts_current at most every `SYNC_EVERY_S` however many pages ask, and read
through immutable views. A full calculation (~0.2-0.6 s) happens only when the station list
changes; a status change costs a few ms. `CoverageState` is not thread-safe: every touch of
it holds `_lock`; a what-if works on a private copy and never changes the live state.

Without 4G stations in bts_current it shows the generated layout of the latest NCC period
(all up) and says so (`View.source`)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from ioc.coverage.live import LiveCoverage, WhatIf, what_if as run_what_if

log = logging.getLogger(__name__)
SYNC_EVERY_S = 2.0


@dataclass(frozen=True)
class View:
    version: str  # this process and the live state's version: what a browser last drew
    source: str  # "bts_current" or "layout"
    layout_period: str | None
    newest: datetime | None  # newest station report applied (bts_current)
    villages: pd.DataFrame  # live figures per village + baseline_covered_population, lost
    city: dict  # population, covered_population, area_m2, covered_area_m2, baseline_covered_population, lost
    stations: pd.DataFrame  # station_id, operator, lon, lat, district_code, status


_lock = threading.Lock()
_PROCESS = uuid.uuid4().hex[:8]  # a restarted dashboard's versions are new to every browser
_live = LiveCoverage(fallback_layout=True)
_memo: dict = {"synced_at": -float("inf"), "view": None}


def current(db) -> View:
    """The live coverage now (synced with bts_current if the last sync is older than 2 s)."""
    with _lock:
        if time.monotonic() - _memo["synced_at"] >= SYNC_EVERY_S:
            try:
                with db.pool.connection() as conn:
                    _live.sync(conn)
            except Exception:
                if _memo["view"] is None:
                    raise
                log.warning("coverage: bts_current not readable; showing the last known state", exc_info=True)
            _memo["synced_at"] = time.monotonic()
        view = _memo["view"]
        if view is None or view.version != f"{_PROCESS}:{_live.version}":
            view = _memo["view"] = _view()
        return view


def _view() -> View:
    villages = _live.villages()
    city = _live.result().city()
    city["baseline_covered_population"] = float(villages["baseline_covered_population"].sum())
    city["lost"] = float(villages["lost"].sum())
    stations = _live.stations.assign(status=_live.statuses().to_numpy())
    return View(f"{_PROCESS}:{_live.version}", _live.source, _live.layout_period, _live.newest, villages, city,
                stations)


def what_if(db, choose: Callable[[LiveCoverage], list[str]]) -> WhatIf:
    """Take down the stations `choose(live)` names, on a copy of the live state."""
    current(db)
    with _lock:
        station_ids = choose(_live)
        fork = _live.fork()
    return run_what_if(fork, station_ids)
