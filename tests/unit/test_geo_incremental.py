"""Live coverage: incremental updates equal a full recalculation, whatever the sequence."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.incremental import CoverageState
from geo.population import villages_with_population
from geo.stations import StationDataError

# Around 北屯區/北區: villages small and large, so footprints cross many village edges.
CENTRE = np.array([219_500.0, 2_673_500.0])


def _layout(seed: int, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = CENTRE + rng.normal(0, 2500, (n, 2))
    sector = rng.random(n) < 0.3
    return gpd.GeoDataFrame(
        {
            "station_id": [f"t{i}" for i in range(n)],
            "radius_m": rng.uniform(150, 1500, n),
            "azimuth_deg": np.where(sector, rng.uniform(0, 360, n), np.nan),
            "beamwidth_deg": np.where(sector, rng.uniform(30, 180, n), np.nan),
            "status": rng.choice(["up", "down"], n, p=[0.7, 0.3]),
        },
        geometry=shapely.points(xy),
        crs="EPSG:3826",
    )


def _figures(state: CoverageState) -> np.ndarray:
    v = state.result().villages
    return v[["covered_area_m2", "covered_population", "stations_up", "stations_down"]].to_numpy(dtype=float)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 25),
    changes=st.lists(
        st.tuples(st.integers(0, 24), st.sampled_from(["up", "down", "degraded"])), min_size=1, max_size=12
    ),
)
def test_incremental_equals_full_recalculation(seed, n, changes):
    layout = _layout(seed, n)
    state = CoverageState.from_stations(layout)
    final = layout.copy()
    for index, status in changes:
        station = f"t{index % n}"
        state.set_status(station, status)
        final.loc[final["station_id"] == station, "status"] = status
    full = CoverageState(final)
    np.testing.assert_array_equal(_figures(state), _figures(full))
    assert state.summary(include_villages=True) == full.summary(include_villages=True)


def test_set_status_reports_the_villages_that_changed():
    layout = _layout(5, 12).assign(status="up")
    state = CoverageState(layout)
    before = state.result().villages.set_index("code")
    changed = state.set_status("t0", "down")
    after = state.result().villages.set_index("code")
    moved = set(before.index[(before["covered_area_m2"] - after["covered_area_m2"]).abs() > 0.01])
    home = set(before.index[before["stations_up"] != after["stations_up"]])
    assert changed and set(changed) == moved | home
    assert state.stations_frame().set_index("station_id").loc["t0", "status"] == "down"
    assert state.set_status("t0", "down") == []  # no change, nothing to recompute
    assert state.set_status("t0", "up") == changed
    np.testing.assert_allclose(state.result().villages["covered_area_m2"], before["covered_area_m2"], rtol=0, atol=1e-6)


def test_changed_villages_are_only_those_the_footprint_reaches():
    layout = _layout(9, 20).assign(status="up")
    state = CoverageState(layout)
    villages = villages_with_population("2021-03").set_index("code")
    footprint = shapely.buffer(layout.geometry.iloc[3], layout["radius_m"].iloc[3] * 1.01)
    for code in state.set_status("t3", "down"):
        assert villages.geometry[code].intersects(footprint)


def test_bad_changes_are_refused():
    state = CoverageState(_layout(1, 4))
    with pytest.raises(StationDataError, match="unknown station"):
        state.set_status("nope", "down")
    with pytest.raises(StationDataError, match="status must be"):
        state.set_status("t1", "off")


def test_covered_geometry_matches_the_figures():
    state = CoverageState(_layout(2, 15).assign(status="up"))
    villages = state.result().villages.set_index("code")
    touched = villages.index[villages["covered_area_m2"] > 0][:5]
    shapes = state.covered_geometry(touched)
    np.testing.assert_allclose(shapes.area.to_numpy(), villages.loc[touched, "covered_area_m2"].to_numpy(), rtol=1e-9)
