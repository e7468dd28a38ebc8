"""Geography of Taichung: districts, villages, population, base-station coverage.

29 districts (區), 625 villages (里), MOI population by village, and the population coverage
of 4G base stations, computed in TWD97 / TM2 (EPSG:3826). Method and assumptions: geo/README.md.

Main entry points (imported lazily, so ``import geo`` stays light):
    compute_summary(stations=None, population_period="2021-03", include_villages=False) -> dict
    compute_coverage(stations=None, population_period="2021-03") -> CoverageResult
    CoverageState.from_stations(gdf).set_status(station_id, status) -> changed village codes
    generate_layout(period, technology="4G", seed=0) -> GeoDataFrame
    write_layout_geojson(period, path, technology="4G", seed=0)
    read_stations(path) / load_stations(path_or_frame)
    snapshot_rows(result, time) -> rows of coverage_snapshot
"""

from importlib import import_module
from pathlib import Path

DATA = Path(__file__).parent / "data"


def data_path(*parts: str) -> Path:
    """A file of the shipped reference data, e.g. data_path("poi", "taichung_cctv_2023-11.csv")."""
    return DATA.joinpath(*parts)


_EXPORTS = {
    "boundaries": ("TWD97_TM2", "city", "districts", "villages"),
    "coverage": ("compute_coverage", "compute_summary", "default_stations"),
    "incremental": ("CoverageState",),
    "layout": ("LayoutError", "generate_layout", "latest_period", "ncc_counts", "write_layout_geojson"),
    "population": (
        "PopulationPeriodError", "PopulationSurface", "UniformVillageDensity", "population_periods",
        "village_population", "villages_with_population",
    ),
    "result": ("CoverageResult",),
    "snapshots": ("snapshot_rows",),
    "stations": ("StationDataError", "load_stations", "read_stations"),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = ["DATA", "data_path", *_WHERE]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
