"""The coverage of the stations in `bts_current`, kept in step as their statuses change.

`LiveCoverage.sync(conn)` brings a `geo.CoverageState` up to date with `bts_current`:

* every call reads only the rows reported since the newest report it has seen (minus
  `POLL_MARGIN`, for reports that commit out of order) and applies the status changes among
  them with `CoverageState.set_statuses`: only the villages a changed station's footprint
  reaches are recomputed (a few ms);
* every `RECONCILE_EVERY_S` it reads the whole table and compares, so a report that arrived
  later than the margin is applied within a minute at worst;
* a station that is new, moved, resized or gone changes the station list: the state is
  rebuilt (a full calculation, ~0.2-0.6 s for 14,000 stations).

Only `TECHNOLOGY` (4G) stations count: the figure is indicator I7b, 4G population coverage.
Alongside the live state it keeps the *baseline*, the coverage of the same station list with
every station up, so "people who lost coverage" is baseline minus now (stored with every
snapshot row, schemas/sql/100_coverage_baseline.sql).

Not thread-safe (nor is CoverageState): one caller at a time (the dashboard holds a lock).
"""

from __future__ import annotations

import copy
import logging
import math
import time as monotonic_clock
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import shapely

from geo import snapshots
from geo.incremental import CoverageState
from geo.population import DEFAULT_POPULATION_PERIOD
from geo.result import CoverageResult
from geo.stations import COVERING, STATUS_DOWN

log = logging.getLogger(__name__)

TECHNOLOGY = "4G"
POLL_MARGIN = timedelta(seconds=30)
RECONCILE_EVERY_S = 60.0
SOURCE_BTS = "bts_current"
SOURCE_LAYOUT = "layout"  # the generated layout of the latest NCC period (the dashboard's fallback)

STATION_COLUMNS = ("bts_id", "operator", "technology", "lon", "lat", "radius_m", "azimuth_deg",
                   "beamwidth_deg", "status", "time")
# Positions in a row of STATION_COLUMNS.
_ID, _STATUS, _TIME = 0, 8, 9
_FOOTPRINT = slice(3, 8)  # lon, lat, radius_m, azimuth_deg, beamwidth_deg
_SELECT = ("SELECT bts_id, operator, technology, lon, lat, radius_m, azimuth_deg, beamwidth_deg, status, time "
           "FROM bts_current WHERE technology = %(technology)s")

SNAPSHOT_COLUMNS = (*snapshots.COLUMNS, "baseline_covered_population", "baseline_covered_area_km2")
_INSERT = (f"INSERT INTO {snapshots.TABLE} ({', '.join(SNAPSHOT_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(SNAPSHOT_COLUMNS))}) ON CONFLICT DO NOTHING")


def _fetch(conn, technology: str, since: datetime | None) -> list[tuple]:
    query = _SELECT + (" AND time > %(since)s" if since is not None else "") + " ORDER BY bts_id"
    return conn.execute(query, {"technology": technology, "since": since}).fetchall()


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(STATION_COLUMNS))
    for column in ("azimuth_deg", "beamwidth_deg"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)  # NULL -> NaN
    return frame


def read_current_stations(conn, technology: str = TECHNOLOGY, since: datetime | None = None) -> pd.DataFrame:
    """Rows of `bts_current` (all, or those reported after `since`), columns STATION_COLUMNS."""
    return _frame(_fetch(conn, technology, since))


def store_snapshot(conn, rows: list[tuple]) -> int:
    """Insert rows (SNAPSHOT_COLUMNS order) into coverage_snapshot; a replayed key is kept once."""
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(_INSERT, rows)
    return len(rows)


@dataclass(frozen=True)
class Update:
    rebuilt: bool  # the station list changed: every village was recomputed
    changed: list[str]  # codes of the villages whose figures changed (all of them when rebuilt)
    applied: int  # status changes applied


@dataclass(frozen=True)
class WhatIf:
    stations: int  # stations taken down by the what-if (that were not down already)
    lost_population: float
    villages: pd.DataFrame  # villages losing people: code, name, name_en, district_code, district_name,
    #                         population, lost (sorted by lost, most first)


class LiveCoverage:
    def __init__(self, population_period: str = DEFAULT_POPULATION_PERIOD, technology: str = TECHNOLOGY,
                 *, fallback_layout: bool = False):
        self.population_period = population_period
        self.technology = technology
        self.fallback_layout = fallback_layout
        self.state: CoverageState | None = None
        self.baseline: CoverageResult | None = None  # the same stations, all up
        self.source: str | None = None
        self.layout_period: str | None = None
        self.version = 0  # +1 on every change of the figures or statuses
        self.stations: pd.DataFrame | None = None  # station_id, operator, lon, lat, district_code (list order)
        self.newest: datetime | None = None  # newest report time seen in bts_current
        self._footprints: dict[str, tuple] | None = None  # by bts_id: to notice a moved or resized station
        self._status: dict[str, str] = {}
        self._reconciled_at = -math.inf

    # -- keeping in step -------------------------------------------------------------------

    def sync(self, conn, now: datetime | None = None) -> Update:
        """Apply what changed in bts_current since the last call (see the module text). The
        frequent path works on plain tuples: with every station reporting every 5 minutes, a
        poll sees a few thousand rows, nearly all of them unchanged."""
        now = now or datetime.now(timezone.utc)
        due = monotonic_clock.monotonic() - self._reconciled_at >= RECONCILE_EVERY_S
        if self.state is None or self.source != SOURCE_BTS or due or self.newest is None:
            return self._reconcile(conn)
        rows = _fetch(conn, self.technology, min(self.newest, now) - POLL_MARGIN)
        if not rows:
            return Update(False, [], 0)
        self._note_newest(rows)
        if self._list_changed(rows, complete=False):
            return self._reconcile(conn)
        return self._apply(rows)

    def _reconcile(self, conn) -> Update:
        rows = _fetch(conn, self.technology, None)
        self._reconciled_at = monotonic_clock.monotonic()
        if not rows:
            if self.fallback_layout:
                if self.source == SOURCE_LAYOUT:
                    return Update(False, [], 0)
                self._build_layout()
                return Update(True, self.village_codes(), 0)
            if self.state is not None:
                log.warning("bts_current has no %s stations any more: live coverage stops", self.technology)
                self._reset()
                return Update(True, [], 0)
            return Update(False, [], 0)
        self._note_newest(rows)
        if self.source != SOURCE_BTS or self._list_changed(rows, complete=True):
            self._build(rows)
            return Update(True, self.village_codes(), 0)
        return self._apply(rows)

    def _note_newest(self, rows: list[tuple]) -> None:
        newest = max(row[_TIME] for row in rows)
        self.newest = newest if self.newest is None else max(self.newest, newest)

    def _list_changed(self, rows: list[tuple], *, complete: bool) -> bool:
        """A station new, gone (complete lists only), moved or resized."""
        known = self._footprints
        if known is None or (complete and len(rows) != len(known)):
            return True
        return any(known.get(row[_ID]) != row[_FOOTPRINT] for row in rows)

    def _apply(self, rows: list[tuple]) -> Update:
        status = self._status
        changes = {row[_ID]: row[_STATUS] for row in rows if status.get(row[_ID]) != row[_STATUS]}
        if not changes:
            return Update(False, [], 0)
        changed = self.state.set_statuses(changes)
        status.update(changes)
        self.version += 1
        return Update(False, changed, len(changes))

    def _build(self, rows: list[tuple]) -> None:
        started = monotonic_clock.monotonic()
        frame = _frame(rows)
        stations = frame.rename(columns={"bts_id": "station_id"}).drop(columns=["time"])
        self._install(CoverageState(stations, self.population_period),
                      frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), SOURCE_BTS)
        self._footprints = {row[_ID]: row[_FOOTPRINT] for row in rows}
        self.layout_period = None
        log.info("live coverage of %d %s stations from bts_current built in %.2f s", len(rows), self.technology,
                 monotonic_clock.monotonic() - started)

    def _build_layout(self) -> None:
        from geo.layout import generate_layout, latest_period

        self.layout_period = latest_period(self.technology)
        layout = generate_layout(self.layout_period, self.technology, population_period=self.population_period)
        self._install(CoverageState(layout, self.population_period), shapely.get_x(layout.geometry.to_numpy()),
                      shapely.get_y(layout.geometry.to_numpy()), SOURCE_LAYOUT)
        self._footprints = None
        log.info("bts_current has no %s stations: showing the generated %s layout", self.technology,
                 self.layout_period)

    def _install(self, state: CoverageState, lon: np.ndarray, lat: np.ndarray, source: str) -> None:
        frame = state.stations_frame()
        self.state = state
        self.source = source
        self._status = dict(zip(frame["station_id"], frame["status"]))
        self.stations = pd.DataFrame({"station_id": frame["station_id"].to_numpy(),
                                      "operator": frame["operator"].to_numpy(),
                                      "lon": lon, "lat": lat, "district_code": _districts_of(frame)})
        down = {sid: "up" for sid, status in self._status.items() if status not in COVERING}
        if down:  # the baseline: the same list with every station up
            everything_up = copy.deepcopy(state)
            everything_up.set_statuses(down)
            self.baseline = everything_up.result()
        else:
            self.baseline = state.result()
        self.version += 1

    def _reset(self) -> None:
        self.state = self.baseline = self.source = self.stations = self._footprints = None
        self._status = {}
        self.version += 1

    # -- reading ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is not None

    def village_codes(self) -> list[str]:
        return self.baseline.villages["code"].tolist() if self.baseline is not None else []

    def statuses(self) -> pd.Series:
        """Current status per station, in list order."""
        return pd.Series(self._status, dtype=object).reindex(self.stations["station_id"]).reset_index(drop=True)

    def result(self) -> CoverageResult:
        return self.state.result()

    def villages(self) -> pd.DataFrame:
        """Per village: the live figures plus `baseline_covered_population` and `lost`
        (people covered with every station up who are not covered now)."""
        frame = self.state.result().villages.copy()
        frame["baseline_covered_population"] = self.baseline.villages["covered_population"].to_numpy()
        frame["lost"] = np.maximum(0.0, frame["baseline_covered_population"] - frame["covered_population"])
        return frame

    def snapshot_rows(self, time: datetime, village_codes=None) -> list[tuple]:
        """coverage_snapshot rows (SNAPSHOT_COLUMNS): city, districts and the villages given (all
        when None), each with the all-up baseline of the same scope."""
        rows = snapshots.snapshot_rows(self.state.result(), time, village_codes=village_codes)
        base = snapshots.snapshot_rows(self.baseline, time, village_codes=village_codes)
        out = []
        for row, b in zip(rows, base, strict=True):
            assert row[1:3] == b[1:3], "live and baseline rows out of step"
            out.append((*row, b[4], b[7]))
        return out

    def fork(self) -> CoverageState:
        """A private copy of the live state, for a what-if (the live state is never touched)."""
        return copy.deepcopy(self.state)

    def station_ids_within(self, *, district: str | None = None, lonlat_polygon=None) -> list[str]:
        """Stations sited in a district (8-digit code) or inside a lon/lat polygon (shapely)."""
        s = self.stations
        if district is not None:
            return s.loc[s["district_code"] == district, "station_id"].tolist()
        if lonlat_polygon is not None:
            inside = shapely.contains_xy(lonlat_polygon, s["lon"].to_numpy(), s["lat"].to_numpy())
            return s.loc[inside, "station_id"].tolist()
        return []


def what_if(fork: CoverageState, station_ids: list[str]) -> WhatIf:
    """Take `station_ids` down on a forked state: who loses coverage (against the state as
    forked, so stations already down change nothing)."""
    before = fork.result().villages
    going = {sid: STATUS_DOWN for sid in station_ids if fork.status(sid) in COVERING}
    if going:
        fork.set_statuses(going)
    after = fork.result().villages
    lost = np.maximum(0.0, before["covered_population"].to_numpy() - after["covered_population"].to_numpy())
    frame = before[["code", "name", "name_en", "district_code", "district_name", "population"]].assign(lost=lost)
    frame = frame[frame["lost"] >= 0.5].sort_values("lost", ascending=False, ignore_index=True)
    return WhatIf(len(going), float(lost.sum()), frame)


def _districts_of(stations) -> np.ndarray:
    """8-digit district code each station (EPSG:3826 points) stands in; None outside the city."""
    from geo.boundaries import districts

    shapes = districts()
    codes = np.full(len(stations), None, dtype=object)
    station, district = shapely.STRtree(shapes.geometry.to_numpy()).query(
        stations.geometry.to_numpy(), predicate="intersects")
    codes[station] = shapes["TOWNCODE"].to_numpy()[district]
    return codes
