"""Live coverage: a station's status changes, only the villages its footprint reaches are
recomputed.

``CoverageState`` keeps, per village, its covered area and covered population, and the
candidate pairs (village, station) whose bounding boxes meet, for every station whatever its
status. A status change recomputes the villages paired with that station from the stations
then covering them (``geo.covered_area``); a village's answer depends only on its own
candidates, so after any sequence of changes the state equals a full calculation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .covered_area import covered_areas
from .footprints import build_footprints
from .population import DEFAULT_POPULATION_PERIOD, PopulationSurface, UniformVillageDensity, _villages_with_population
from .result import VILLAGE_COLUMNS, CoverageResult
from .stations import COVERING, StationDataError, load_stations, normalise_status

CHANGE_TOLERANCE_M2 = 0.01  # a village whose covered area moved less than this did not change


class CoverageState:
    """Coverage of a fixed station list whose statuses change. A station that joins or leaves
    the list needs a new state (a full calculation, ~0.2 s for 14,000 stations). Not
    thread-safe: one writer.

    >>> state = CoverageState.from_stations(stations)          # doctest: +SKIP
    >>> state.set_status("gen-4G-2024-04-00001", "down")       # doctest: +SKIP
    ['66000010001']
    """

    def __init__(
        self,
        stations: gpd.GeoDataFrame | pd.DataFrame | str,
        population_period: str = DEFAULT_POPULATION_PERIOD,
        surface: PopulationSurface | None = None,
    ):
        self._stations = load_stations(stations)  # EPSG:3826, validated; statuses as loaded
        self.population_period = str(population_period)
        self.surface = surface if surface is not None else UniformVillageDensity(self.population_period)
        villages = _villages_with_population(self.population_period)
        self._villages = villages
        self._village_geoms = villages.geometry.to_numpy()
        self._codes = villages["code"].to_numpy()
        self._village_area = villages["area_m2"].to_numpy(dtype=float)
        self._footprints = build_footprints(self._stations)
        self._ids = self._stations["station_id"].to_numpy()
        self._position = {sid: i for i, sid in enumerate(self._ids)}
        self._status = self._stations["status"].to_numpy(dtype=object).copy()
        self._up = np.isin(self._status, list(COVERING))

        # Candidate pairs by bounding box (cheap, a superset of the footprints that touch).
        pair_village, pair_station = shapely.STRtree(self._footprints.boxes()).query(self._village_geoms)
        by_village = np.lexsort((pair_station, pair_village))
        self._v_start = np.searchsorted(pair_village[by_village], np.arange(len(villages) + 1))
        self._v_station = pair_station[by_village]
        by_station = np.lexsort((pair_village, pair_station))
        self._s_start = np.searchsorted(pair_station[by_station], np.arange(len(self._ids) + 1))
        self._s_village = pair_village[by_station]

        self._home = self._home_villages()
        self._covered_area = np.zeros(len(villages))
        self._covered_population = np.zeros(len(villages))
        self._recompute(np.arange(len(villages)))

    @classmethod
    def from_stations(
        cls, stations: gpd.GeoDataFrame | pd.DataFrame | str, population_period: str = DEFAULT_POPULATION_PERIOD
    ) -> CoverageState:
        """State for a station list (GeoDataFrame, DataFrame with lon/lat such as bts_current
        rows, or a GeoJSON/CSV path) with the statuses it carries."""
        return cls(stations, population_period)

    # -- queries ---------------------------------------------------------------------------

    @property
    def station_ids(self) -> list[str]:
        return list(self._ids)

    def stations_frame(self) -> gpd.GeoDataFrame:
        """The validated station list (EPSG:3826) with the current statuses."""
        return self._stations.assign(status=self._status.copy())

    def status(self, station_id: str) -> str:
        return self._status[self._index(station_id)]

    @property
    def stations_up(self) -> int:
        return int(self._up.sum())

    @property
    def stations_down(self) -> int:
        return int((~self._up).sum())

    def result(self) -> CoverageResult:
        sited = self._home >= 0
        village_up = np.bincount(self._home[sited], weights=self._up[sited], minlength=len(self._codes))
        village_all = np.bincount(self._home[sited], minlength=len(self._codes))
        v = self._villages
        frame = pd.DataFrame(
            {
                "code": self._codes,
                "name": v["name"].to_numpy(),
                "name_en": v["name_en"].to_numpy(),
                "district_code": v["district_code"].to_numpy(),
                "district_name": v["district_name"].to_numpy(),
                "population": self.surface.population(),
                "covered_population": self._covered_population.copy(),
                "area_m2": v["area_m2"].to_numpy(),
                "covered_area_m2": self._covered_area.copy(),
                "stations_up": village_up.astype(np.int64),
                "stations_down": (village_all - village_up).astype(np.int64),
            },
            columns=VILLAGE_COLUMNS,
        )
        return CoverageResult(self.population_period, frame, self.stations_up, self.stations_down)

    def summary(self, include_villages: bool = False) -> dict:
        """The ``ioc coverage compute --json`` object for the current statuses."""
        return self.result().summary(include_villages)

    def covered_geometry(self, village_codes: Iterable[str] | None = None) -> gpd.GeoSeries:
        """The covered part of each village (all, or those given), EPSG:3826, indexed by code.
        Built on demand (a union per village): for the map, not for the figures."""
        if village_codes is None:
            rows = np.arange(len(self._codes))
        else:
            where = {c: i for i, c in enumerate(self._codes)}
            try:
                rows = np.array([where[c] for c in village_codes], dtype=np.intp)
            except KeyError as exc:
                raise ValueError(f"unknown village code {exc.args[0]!r}") from None
        return gpd.GeoSeries(self._covered_geometry(rows), index=self._codes[rows], crs=self._villages.crs)

    def snapshot_rows(self, time: datetime, village_codes: Iterable[str] | None = None) -> list[tuple]:
        """Rows for ``coverage_snapshot`` (see ``geo.snapshots``) for the current statuses."""
        from .snapshots import snapshot_rows

        return snapshot_rows(self.result(), time, village_codes=village_codes)

    # -- changes ---------------------------------------------------------------------------

    def set_status(self, station_id: str, status: str) -> list[str]:
        """Set one station's status; returns the codes of the villages whose figures changed
        (covered area, or the up/down count of the village it stands in), sorted."""
        return self.set_statuses({station_id: status})

    def set_statuses(self, changes: Mapping[str, str]) -> list[str]:
        """Several status changes at once, recomputing each touched village once."""
        flips, homes = [], []
        for station_id, status in changes.items():
            i = self._index(station_id)
            status = normalise_status(status, where=f"station {station_id}")
            was_up, now_up = bool(self._up[i]), status in COVERING
            self._status[i] = status
            if was_up != now_up:
                self._up[i] = now_up
                flips.append(i)
                homes.append(self._home[i])
        if not flips:
            return []
        touched = np.unique(np.concatenate([self._s_village[self._s_start[i] : self._s_start[i + 1]] for i in flips]))
        before = self._covered_area[touched].copy()
        self._recompute(touched)
        moved = touched[np.abs(self._covered_area[touched] - before) > CHANGE_TOLERANCE_M2]
        changed = set(self._codes[moved]) | {self._codes[h] for h in homes if h >= 0}
        return sorted(changed)

    # -- internals -------------------------------------------------------------------------

    def _index(self, station_id: str) -> int:
        try:
            return self._position[station_id]
        except (KeyError, TypeError):
            raise StationDataError(f"unknown station {station_id!r}") from None

    def _recompute(self, villages: np.ndarray) -> None:
        villages = np.asarray(villages, dtype=np.intp)
        starts, ends = self._v_start[villages], self._v_start[villages + 1]
        counts = ends - starts
        local = np.repeat(np.arange(len(villages)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        stations = self._v_station[np.repeat(starts, counts) + offset]
        up = self._up[stations]
        area = covered_areas(self._village_geoms[villages], self._footprints, local[up], stations[up])
        area = np.minimum(area, self._village_area[villages])  # the cells' sum may pass it by 1e-9
        self._covered_area[villages] = area
        shapes = self._covered_geometry(villages) if self.surface.needs_geometry else None
        self._covered_population[villages] = self.surface.covered_population(villages, area, shapes)

    def _covered_geometry(self, villages: np.ndarray) -> np.ndarray:
        rows = []
        for v in villages:  # one union per village, for the map or a finer population surface
            stations = self._v_station[self._v_start[v] : self._v_start[v + 1]]
            rows.append(shapely.union_all(self._footprints.polygons(stations[self._up[stations]])))
        return shapely.intersection(np.array(rows, dtype=object), self._village_geoms[villages])

    def _home_villages(self) -> np.ndarray:
        """Village each station stands in (-1 outside the city; the lowest code on a border)."""
        points = self._stations.geometry.to_numpy()
        # Villages as the query side: GEOS prepares each polygon once for all its points.
        village, station = shapely.STRtree(points).query(self._village_geoms, predicate="intersects")
        home = np.full(len(points), -1, dtype=np.intp)
        order = np.lexsort((-village, station))  # last write wins: the lowest village index
        home[station[order]] = village[order]
        return home
