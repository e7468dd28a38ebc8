"""The wall's map without a tile server: Taichung's districts and villages drawn from the
shipped boundaries as plain vector shapes, so the map works on a closed network.

Shapes are simplified in EPSG:3826 (metres) for drawing only; area figures always come from
the full geometry in `geo`. Coordinates stay lon/lat so markers and hover read naturally;
the y axis is stretched by 1/cos(latitude) to keep the map's proportions true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely

from geo import boundaries

CENTRE_LAT = 24.23
Y_STRETCH = 1 / math.cos(math.radians(CENTRE_LAT))  # plotly scaleratio for a true-shape map


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_en: str
    xs: tuple  # lon with None between rings
    ys: tuple
    label_lon: float
    label_lat: float


def _rings_xy(geom) -> tuple[list, list]:
    xs: list = []
    ys: list = []
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            coords = np.asarray(ring.coords)
            xs.extend(np.round(coords[:, 0], 5).tolist())
            ys.extend(np.round(coords[:, 1], 5).tolist())
            xs.append(None)
            ys.append(None)
    return xs, ys


def _areas(frame, code_col: str, name_col: str, en_col: str, tolerance_m: float) -> tuple[Area, ...]:
    simplified = frame.copy()
    simplified["geometry"] = shapely.simplify(frame.geometry.values, tolerance_m, preserve_topology=True)
    labels = frame.geometry.representative_point().to_crs("EPSG:4326")
    simplified = simplified.to_crs("EPSG:4326")
    out = []
    for (_, row), label in zip(simplified.iterrows(), labels):
        xs, ys = _rings_xy(row.geometry)
        out.append(Area(str(row[code_col]), str(row[name_col]), str(row.get(en_col, "")), tuple(xs), tuple(ys),
                        round(label.x, 5), round(label.y, 5)))
    return tuple(out)


@cache
def districts() -> tuple[Area, ...]:
    return _areas(boundaries.districts(), "TOWNCODE", "TOWNNAME", "TOWNENG", 40.0)


@cache
def villages() -> tuple[Area, ...]:
    return _areas(boundaries.villages(), "VILLCODE", "VILLNAME", "VILLENG", 25.0)


@cache
def bounds() -> tuple[float, float, float, float]:
    """lon/lat box of the city, with a small margin."""
    xs = [x for a in districts() for x in a.xs if x is not None]
    ys = [y for a in districts() for y in a.ys if y is not None]
    return min(xs) - 0.01, min(ys) - 0.01, max(xs) + 0.01, max(ys) + 0.01


def joined(areas) -> tuple[list, list]:
    """Many areas as one trace's x/y (None between shapes): one SVG path for the lot."""
    xs: list = []
    ys: list = []
    for area in areas:
        xs.extend(area.xs)
        ys.extend(area.ys)
    return xs, ys
