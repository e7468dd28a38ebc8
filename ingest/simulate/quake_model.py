"""How hard the ground shakes where: a simple attenuation law fitted to a real CWA report, and
CWA's 2020 intensity scale.

log10 PGA(gal) = 0.6 M - 1.4 log10(R + 10) + 0.258, R the hypocentral distance in km. The
constant fits report 114136 (M4.5, 國姓: 22.9 gal at 3.8 km; 8.8 gal at 31 km; 1.6 gal at
97 km) within a factor of two; for an M6.8 at 10 km depth it gives ~330 gal at the epicentre.
Intensities 0-4 follow PGA, 5弱 and up PGV (taken as PGA/5 near a strong shallow quake), as in
CWA's scale since 2020.
"""

from __future__ import annotations

import math
from functools import cache

from .geography import district_areas
from .timeline import Quake
from .weather_model import distance_km

LABELS = ("0級", "1級", "2級", "3級", "4級", "5弱", "5強", "6弱", "6強", "7級")
PGA_STEPS = (0.8, 2.5, 8.0, 25.0, 80.0)  # gal: lower bounds of intensities 1..5
PGV_STEPS = (15.0, 30.0, 50.0, 80.0, 140.0)  # cm/s: lower bounds of 5弱, 5強, 6弱, 6強, 7


def pga_gal(q: Quake, lon: float, lat: float, wobble: float = 0.0) -> float:
    epicentral = float(distance_km(q.lon, q.lat, lon, lat))
    r = math.hypot(epicentral, q.depth_km)
    return 10 ** (0.6 * q.magnitude - 1.4 * math.log10(r + 10) + 0.258 + wobble)


def intensity_rank(pga: float) -> int:
    rank = sum(pga >= step for step in PGA_STEPS)
    if rank == 5:
        pgv = pga / 5.0
        rank = 4 + sum(pgv >= step for step in PGV_STEPS)
        rank = max(rank, 5)
    return rank


def intensity(q: Quake, lon: float, lat: float, wobble: float = 0.0) -> tuple[str, int]:
    rank = intensity_rank(pga_gal(q, lon, lat, wobble))
    return LABELS[rank], rank


@cache
def district_intensities(q: Quake) -> dict[str, int]:
    """TOWNCODE -> intensity rank at the district's representative point."""
    return {code: intensity(q, a.lon, a.lat)[1] for code, a in district_areas().items()}
