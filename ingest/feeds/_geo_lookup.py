"""Which Taichung district (區) a point or a place name belongs to.

Uses the MOI district boundaries shipped in `geo/data/boundaries/taichung_districts.geojson`
(29 districts, TOWNCODE `66000010`..`66000290`). Names are matched with 台 and 臺 treated as
the same character, because publishers spell 臺中市 both ways (the boundary file says 台中市,
the NFA shelter list says 臺中市).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import shapely
from shapely.geometry import shape

DISTRICTS_FILE = (Path(__file__).resolve().parents[2]
                  / "geo" / "data" / "boundaries" / "taichung_districts.geojson")
CITY_NAMES = ("臺中市", "臺中縣")  # after normalising 台 -> 臺; 臺中縣 merged into the city in 2010


def normalise_name(name: str) -> str:
    return name.strip().replace("台", "臺")


@cache
def _districts() -> tuple[tuple[str, str, object], ...]:
    """(TOWNCODE, normalised TOWNNAME, prepared polygon) for each district."""
    doc = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))
    out = []
    for feature in doc["features"]:
        props = feature["properties"]
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        out.append((props["TOWNCODE"], normalise_name(props["TOWNNAME"]), geom))
    return tuple(out)


@cache
def _codes_by_name() -> dict[str, str]:
    return {name: code for code, name, _ in _districts()}


def district_codes() -> frozenset[str]:
    return frozenset(code for code, _, _ in _districts())


def district_name(code: str) -> str | None:
    for c, name, _ in _districts():
        if c == code:
            return name
    return None


def district_code_by_name(name: str) -> str | None:
    """Code of a district written as `南區`, `臺中市南區` or `台中市南區`; None if not Taichung."""
    if not isinstance(name, str):
        return None
    text = normalise_name(name)
    for city in CITY_NAMES:
        if text.startswith(city):
            text = text[len(city):]
            break
    # Another county's name ("新竹市東區") is left in place and so matches nothing.
    return _codes_by_name().get(text.strip())


def district_code_at(lon: float, lat: float) -> str | None:
    """Code of the district containing (lon, lat), boundary included; None outside Taichung."""
    if not (isinstance(lon, (int, float)) and isinstance(lat, (int, float))):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    point = shapely.Point(lon, lat)
    for code, _, geom in _districts():
        if geom.covers(point):
            return code
    return None
