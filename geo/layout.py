"""A generated, reproducible base-station layout for when no real station list is at hand.

Operators do not publish sites; the NCC publishes only counts per county, operator and
technology (``geo/data/stats/taichung_ncc_base_stations_by_operator.csv``). The layout keeps
those counts exactly and places stations by assumption (documented in geo/README.md):

* Where: each operator's stations are drawn independently over the villages with probability
  (1 - AREA_SHARE) x share of city population + AREA_SHARE x share of city area. The area term
  is the floor that puts some stations in sparse mountain villages (和平區 gets a few hundred
  of the 14,082 4G stations of 2024-04). Inside a village a station is uniform over its area.
* Reach: radius by the village's population density, log-linear between the anchors in
  ``RADIUS_BY_DENSITY``: dense urban small cells 300-800 m, suburban ~2 km, rural 3-5 km.
* Randomness: numpy PCG64 seeded with (seed, YYYYMM of the period, technology), so the same
  arguments always give the same stations, and different periods differ.
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .boundaries import DATA_DIR, TWD97_TM2, WGS84
from .population import DEFAULT_POPULATION_PERIOD, _villages_with_population
from .stations import STATUS_UP

NCC_COUNTS_CSV = DATA_DIR / "stats" / "taichung_ncc_base_stations_by_operator.csv"
AREA_SHARE = 0.03
# (population per km², radius in metres); outside the range the end values hold.
RADIUS_BY_DENSITY = (
    (30.0, 5000.0), (100.0, 3000.0), (300.0, 2000.0), (1000.0, 800.0), (3000.0, 500.0), (10000.0, 300.0),
)  # fmt: skip
COORD_DECIMALS = 7  # ~1 cm; rounding here makes a written GeoJSON read back to the same stations
OPERATOR_EN = {
    "中華電信股份有限公司": "Chunghwa Telecom",
    "台灣大哥大股份有限公司": "Taiwan Mobile",
    "遠傳電信股份有限公司": "Far EasTone",
    "台灣之星電信股份有限公司": "Taiwan Star",
    "亞太電信股份有限公司": "Asia Pacific Telecom",
}


class LayoutError(ValueError):
    """No NCC counts for the requested period/technology."""


@lru_cache(maxsize=1)
def _ncc_table() -> pd.DataFrame:
    table = pd.read_csv(NCC_COUNTS_CSV, dtype={"period_end": str, "roc_period": str, "county_code": str})
    table["period"] = table["period_end"].str[:7]
    return table


def ncc_periods(technology: str = "4G") -> list[str]:
    """Periods (``YYYY-MM``) with NCC counts for ``technology``."""
    table = _ncc_table()
    return sorted(table.loc[table["technology"] == technology, "period"].unique())


def latest_period(technology: str = "4G") -> str:
    periods = ncc_periods(technology)
    if not periods:
        raise LayoutError(f"no NCC counts for technology {technology!r}")
    return periods[-1]


def ncc_counts(period: str, technology: str = "4G") -> dict[str, int]:
    """Base stations in Taichung per operator for ``period`` (``YYYY-MM`` or ``YYYY-MM-DD``)."""
    key = str(period)[:7]
    table = _ncc_table()
    rows = table[(table["period"] == key) & (table["technology"] == technology)]
    if rows.empty:
        available = ncc_periods(technology)
        span = f"{available[0]} … {available[-1]}" if available else "none"
        raise LayoutError(f"no NCC {technology} counts for period {period!r}; available: {span}")
    counts = rows.groupby("operator", sort=True)["base_stations"].sum()
    return {op: int(n) for op, n in counts.items()}


def radius_for_density(people_per_km2: np.ndarray) -> np.ndarray:
    """Footprint radius in metres from population density (log-linear between anchors)."""
    density, radius = np.array(RADIUS_BY_DENSITY).T
    d = np.log10(np.maximum(np.asarray(people_per_km2, dtype=float), 1e-3))
    return np.interp(d, np.log10(density), radius)


def _rng(seed: int, period: str, technology: str) -> np.random.Generator:
    yyyymm = int(period.replace("-", ""))
    return np.random.default_rng([int(seed), yyyymm, zlib.crc32(technology.encode())])


def _points_in(geoms: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uniform random point inside each geometry (rejection sampling on bounding boxes)."""
    bounds = shapely.bounds(geoms)
    x = np.empty(len(geoms))
    y = np.empty(len(geoms))
    todo = np.arange(len(geoms))
    while len(todo):
        b = bounds[todo]
        cx = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(geoms[todo], cx, cy)
        x[todo[inside]], y[todo[inside]] = cx[inside], cy[inside]
        todo = todo[~inside]
    return x, y


def _generate(period: str, technology: str, seed: int, population_period: str) -> gpd.GeoDataFrame:
    counts = ncc_counts(period, technology)
    period = str(period)[:7]
    villages = _villages_with_population(population_period)
    population = villages["population"].to_numpy(dtype=float)
    area = villages["area_m2"].to_numpy(dtype=float)
    weight = (1 - AREA_SHARE) * population / population.sum() + AREA_SHARE * area / area.sum()
    weight /= weight.sum()
    density = population / (area / 1e6)
    rng = _rng(seed, period, technology)

    rows = []
    for operator, n in counts.items():  # sorted by name: the draw order is fixed
        per_village = rng.multinomial(n, weight)
        rows.append(pd.DataFrame({"operator": operator, "village": np.repeat(np.arange(len(villages)), per_village)}))
    table = pd.concat(rows, ignore_index=True)
    village_rows = table["village"].to_numpy()
    x, y = _points_in(villages.geometry.to_numpy()[village_rows], rng)
    lonlat = gpd.GeoSeries(shapely.points(x, y), crs=TWD97_TM2).to_crs(WGS84)
    lon = np.round(lonlat.x.to_numpy(), COORD_DECIMALS)
    lat = np.round(lonlat.y.to_numpy(), COORD_DECIMALS)
    return gpd.GeoDataFrame(
        {
            "station_id": [f"gen-{technology}-{period}-{i + 1:05d}" for i in range(len(table))],
            "operator": table["operator"].to_numpy(),
            "operator_en": table["operator"].map(OPERATOR_EN).to_numpy(),
            "technology": technology,
            "status": STATUS_UP,
            "radius_m": np.round(radius_for_density(density[village_rows]), 1),
            "village_code": villages["code"].to_numpy()[village_rows],
            "district_code": villages["district_code"].to_numpy()[village_rows],
            "layout": f"generated seed={int(seed)}",
        },
        geometry=shapely.points(lon, lat),
        crs=WGS84,
    )


@lru_cache(maxsize=8)
def _generate_cached(period: str, technology: str, seed: int, population_period: str) -> gpd.GeoDataFrame:
    return _generate(period, technology, seed, population_period)


def generate_layout(
    period: str, technology: str = "4G", seed: int = 0, *, population_period: str = DEFAULT_POPULATION_PERIOD
) -> gpd.GeoDataFrame:
    """A generated station layout (EPSG:4326 points) with exactly the NCC count per operator for
    ``period`` and ``technology``. Columns: station_id, operator, operator_en, technology,
    status ('up'), radius_m, village_code, district_code, layout, geometry."""
    return _generate_cached(str(period)[:7], str(technology), int(seed), str(population_period)).copy()


def layout_geojson(stations: gpd.GeoDataFrame) -> dict:
    """A GeoJSON FeatureCollection (lon/lat) of a generated or imported station layout."""
    lonlat = stations.to_crs(WGS84) if stations.crs is not None and not stations.crs.equals(WGS84) else stations
    props = pd.DataFrame(lonlat.drop(columns=lonlat.geometry.name))
    props = props.astype(object).where(props.notna(), None)
    features = [
        {
            "type": "Feature",
            "properties": record,
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(px), COORD_DECIMALS), round(float(py), COORD_DECIMALS)],
            },
        }
        for record, px, py in zip(props.to_dict("records"), lonlat.geometry.x, lonlat.geometry.y)
    ]
    return {"type": "FeatureCollection", "features": features}


def write_layout_geojson(period: str, path: str | PathLike, technology: str = "4G", seed: int = 0) -> Path:
    """Write ``generate_layout(period, technology, seed)`` as GeoJSON to ``path``; returns the path."""
    doc = layout_geojson(generate_layout(period, technology, seed))
    doc["properties"] = {
        "source": "generated layout (not real sites): geo/layout.py, see geo/README.md",
        "period": str(period)[:7],
        "technology": technology,
        "seed": int(seed),
        "counts": ncc_counts(period, technology),
    }
    path = Path(path)
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path
