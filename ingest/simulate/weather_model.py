"""The weather the simulator's stations measure: rain over Taichung, river response, and the
air (temperature, humidity, pressure, wind) of the season, the hour and a passing typhoon.

Everything is a deterministic function of (place, scenario time, seed), so every station,
gauge and river reads from one consistent field, any window can be recomputed (a gauge's
past 3 days without keeping state), and a seed reproduces a run.

Rain: each district belongs to a zone (mountain, foothill, plain); the scenario gives each zone
a rain-rate curve; a calm-day baseline adds summer afternoon showers in the mountains and
light frontal drizzle in winter. A place scales its zone's rate by altitude (orographic rain)
and by its own factor, with smooth rain-band fluctuations. Gauges count 0.5 mm tips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import numpy as np

from .base import ScenarioClock, curve_at, rng, unit_hash
from .places import district_code
from .scenarios import FOOTHILL, MOUNTAIN, PLAIN
from .timeline import Scenario, Typhoon

ZONES = ("mountain", "foothill", "plain")
SLOT = timedelta(minutes=10)
SLOTS_PER_HOUR = 6
SLOTS_3_DAYS = 3 * 24 * SLOTS_PER_HOUR
WINDOW_SLOTS = {"past_10min": 1, "past_1h": 6, "past_3h": 18, "past_6h": 36, "past_12h": 72,
                "past_24h": 144, "past_2d": 288, "past_3d": 432}


@dataclass(frozen=True)
class RainPlace:
    key: str
    zones: dict[str, float]  # zone -> weight (sums to 1)
    altitude_m: float = 0.0
    local_factor: bool = True  # a point gauge (own factor, stronger fluctuation) or a basin mean


@cache
def _zone_by_district() -> dict[str, str]:
    return {district_code(name): zone
            for zone, names in (("mountain", MOUNTAIN), ("foothill", FOOTHILL), ("plain", PLAIN)) for name in names}


def zone_of(district: str | None) -> str:
    """The rain zone of a district (TOWNCODE); plain when unknown."""
    return _zone_by_district().get(district, "plain")


class RainField:
    def __init__(self, scenario: Scenario, clock: ScenarioClock, seed: int):
        self.scenario = scenario
        self.clock = clock
        self.seed = seed
        self._params: dict[tuple, np.ndarray] = {}
        self._slots: dict[tuple, dict[int, np.ndarray]] = {}

    # -- zone rates (3 x T) --
    def _zone_rates(self, hours: np.ndarray) -> np.ndarray:
        scenario = np.array([curve_at(self.scenario.rain.get(z, ()), hours) for z in ZONES])
        return scenario + self._baseline(hours)

    def _baseline(self, hours: np.ndarray) -> np.ndarray:
        """Calm weather: summer afternoon showers (mountains most), light winter fronts."""
        local_s = self.clock.start.timestamp() + hours * 3600.0 + 8 * 3600.0
        day = np.floor(local_s / 86400.0).astype(np.int64)
        hod = (local_s % 86400.0) / 3600.0
        month = self.clock.local(timedelta(hours=float(hours.min()))).month
        out = np.zeros((len(ZONES), len(hours)))
        days = {int(d): unit_hash(self.seed, "weather-day", int(d)) for d in np.unique(day)}
        u = np.array([days[int(d)] for d in day])
        if 5 <= month <= 9:
            shower = np.where(u < 0.45, 0.5 + u * 2, 0.0) * np.exp(-(((hod - 15.5) / 1.4) ** 2))
            for i, amp in enumerate((9.0, 3.5, 1.2)):
                out[i] = amp * shower
        elif month in (11, 12, 1, 2, 3):
            front = np.where(u < 0.15, 1.0, 0.0)
            for i, amp in enumerate((1.0, 0.6, 0.5)):
                out[i] = amp * front
        return out

    def _place_params(self, places: list[RainPlace]) -> np.ndarray:
        """Per place: [factor, amplitude 1, amplitude 2, phase 1, phase 2] (fixed by the seed)."""
        key = tuple(p.key for p in places)
        params = self._params.get(key)
        if params is None:
            rows = []
            for place in places:
                r = rng(self.seed, "rain-place", place.key)
                if place.local_factor:
                    factor = (1.0 + 0.5 * min(max(place.altitude_m, 0.0), 2500.0) / 2500.0) * r.uniform(0.8, 1.2)
                    a1, a2 = 0.35, 0.2
                else:  # a basin mean: no orographic factor, smoother
                    factor, a1, a2 = 1.0, 0.12, 0.05
                rows.append((factor, a1, a2, r.uniform(0, 2 * math.pi), r.uniform(0, 2 * math.pi)))
            params = self._params[key] = np.array(rows)
        return params

    def rates(self, places: list[RainPlace], hours: np.ndarray) -> np.ndarray:
        """Rain rate (mm/h) of each place (rows) at scenario hours (columns)."""
        hours = np.asarray(hours, dtype=float)
        weights = np.array([[p.zones.get(z, 0.0) for z in ZONES] for p in places])
        base = weights @ self._zone_rates(hours)
        factor, a1, a2, ph1, ph2 = (c[:, None] for c in self._place_params(places).T)
        noise = 1 + a1 * np.sin(2 * math.pi * hours / 1.3 + ph1) + a2 * np.sin(2 * math.pi * hours / 0.37 + ph2)
        out = base * factor * np.clip(noise, 0.05, None)
        out[out < 0.05] = 0.0
        return out

    def slot_amounts(self, places: list[RainPlace], end: timedelta, slots: int = SLOTS_3_DAYS) -> np.ndarray:
        """Rain (mm) in each of the `slots` 10-minute slots ending at `end`, newest first.
        Slots on the 10-minute grid are computed once per set of places and remembered."""
        k = end / SLOT
        if k != int(k):
            end_h = end.total_seconds() / 3600.0
            mids = end_h - (np.arange(slots) + 0.5) / SLOTS_PER_HOUR
            return self.rates(places, mids) / SLOTS_PER_HOUR
        k = int(k)
        memo = self._slots.setdefault(tuple(p.key for p in places), {})
        wanted = range(k - 1, k - 1 - slots, -1)
        missing = [i for i in wanted if i not in memo]
        if missing:
            columns = self.rates(places, (np.array(missing) + 0.5) / SLOTS_PER_HOUR) / SLOTS_PER_HOUR
            memo.update(zip(missing, columns.T))
            if len(memo) > 2 * SLOTS_3_DAYS:  # keep the last few days only
                for i in [i for i in memo if i < k - SLOTS_3_DAYS - SLOTS_PER_HOUR]:
                    del memo[i]
        return np.stack([memo[i] for i in wanted], axis=1)

    def accumulations(self, places: list[RainPlace], end: timedelta) -> list[dict[str, float]]:
        """Per place: rain in CWA's windows up to `end` and since local midnight ("now"), in
        0.5 mm gauge tips."""
        amounts = self.slot_amounts(places, end)
        cumulative = np.cumsum(amounts, axis=1)
        local = self.clock.local(end)
        since_midnight = int((local.hour * 60 + local.minute) // 10)
        out = []
        for row in cumulative:
            values = {name: _tips(row[n - 1]) for name, n in WINDOW_SLOTS.items()}
            values["now"] = _tips(row[since_midnight - 1]) if since_midnight > 0 else 0.0
            out.append(values)
        return out


def _tips(mm: float) -> float:
    return math.floor(mm * 2 + 1e-9) / 2


def river_rises(field: RainField, places: list[RainPlace], end: timedelta, lags_h, gains) -> np.ndarray:
    """Metres above normal at river points: each basin's rain, delayed and spread by a
    unit-hydrograph-like kernel peaking `lag_h` hours later, times the site's gain."""
    slots = 12 * SLOTS_PER_HOUR
    rates = field.slot_amounts(places, end, slots) * SLOTS_PER_HOUR
    t = (np.arange(slots) + 0.5) / SLOTS_PER_HOUR
    theta = np.maximum(np.asarray(lags_h, dtype=float), 0.25)[:, None] / 2.0
    kernel = t[None, :] ** 2 * np.exp(-t[None, :] / theta)
    kernel /= kernel.sum(axis=1, keepdims=True)
    return np.asarray(gains, dtype=float) * (kernel * rates).sum(axis=1)


# --- air -------------------------------------------------------------------------------------------

# Taichung station normals (approximate monthly means, °C; sea-level pressure, hPa).
MONTHLY_MEAN_C = (16.2, 16.9, 19.3, 23.0, 26.0, 27.6, 28.8, 28.5, 27.8, 25.3, 21.9, 17.8)
MONTHLY_SLP_HPA = (1019.0, 1017.0, 1015.0, 1012.0, 1009.0, 1006.0, 1005.0, 1005.0, 1008.0, 1013.0, 1016.0, 1019.0)
AMBIENT_HPA = 1008.0  # pressure outside a typhoon
EYE_RADIUS_KM = 40.0  # radius of maximum wind


@dataclass(frozen=True)
class Cyclone:
    lon: float
    lat: float
    pressure: float
    wind: float
    gust: float
    r15_km: float
    r25_km: float


def cyclone_at(typhoon: Typhoon | None, hours: float) -> Cyclone | None:
    if typhoon is None:
        return None
    hs = [f.h for f in typhoon.track]
    if not hs[0] <= hours <= hs[-1]:
        return None

    def at(attr):
        return float(np.interp(hours, hs, [getattr(f, attr) for f in typhoon.track]))

    return Cyclone(*(at(a) for a in ("lon", "lat", "pressure", "wind", "gust", "r15_km", "r25_km")))


def distance_km(lon1, lat1, lon2, lat2):
    """Great-circle distance (km); arrays allowed."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def cyclone_wind(c: Cyclone, lon: float, lat: float, altitude_m: float) -> tuple[float, float, float]:
    """(sea-level pressure hPa, wind m/s, direction the wind comes from °) of a cyclone at a
    point: Holland-style pressure, wind decaying outside the eye, counter-clockwise with inflow,
    weakened over land (less on exposed heights)."""
    r = max(float(distance_km(c.lon, c.lat, lon, lat)), 5.0)
    pressure = c.pressure + (AMBIENT_HPA - c.pressure) * math.exp(-((EYE_RADIUS_KM / r) ** 1.5))
    speed = c.wind * (math.sqrt(EYE_RADIUS_KM / r) if r > EYE_RADIUS_KM else r / EYE_RADIUS_KM)
    speed *= 0.7 if altitude_m > 1500 else 0.45
    # Local east/north offsets from the centre, km.
    dx = (lon - c.lon) * 111.32 * math.cos(math.radians(lat))
    dy = (lat - c.lat) * 110.57
    norm = math.hypot(dx, dy) or 1.0
    tx, ty = -dy / norm, dx / norm  # counter-clockwise tangent
    inflow = math.tan(math.radians(20))
    u, v = tx - inflow * dx / norm, ty - inflow * dy / norm
    towards = math.degrees(math.atan2(u, v)) % 360
    return pressure, speed, (towards + 180) % 360


@dataclass(frozen=True)
class Air:
    temperature_c: float
    humidity_pct: float
    pressure_hpa: float  # at the station's altitude
    wind_ms: float
    wind_dir_deg: float
    gust_ms: float
    weather: str
    uv_index: float
    visibility: str


def air_at(station_key: str, altitude_m: float, lon: float, lat: float, clock: ScenarioClock,
           elapsed: timedelta, rain_mm_h: float, cyclone: Cyclone | None, seed: int) -> Air:
    local = clock.local(elapsed)
    hod = local.hour + local.minute / 60
    r = rng(seed, "air", station_key, int(elapsed.total_seconds() // 600))
    month = local.month - 1
    diurnal = math.cos(2 * math.pi * (hod - 14.0) / 24.0)
    wet = min(rain_mm_h, 40.0) / 40.0
    temperature = (MONTHLY_MEAN_C[month] + 3.8 * diurnal * (1 - 0.7 * wet) - 6.5 * altitude_m / 1000.0
                   - 3.0 * wet + r.gauss(0, 0.3))
    humidity = 72 - 14 * diurnal + 25 * wet + min(altitude_m / 100.0, 10.0) + r.gauss(0, 2)
    slp = MONTHLY_SLP_HPA[month] + 1.2 * math.cos(2 * math.pi * (hod - 10) / 12) + r.gauss(0, 0.3)
    wind = max(0.3, 1.8 + 1.6 * max(diurnal, 0) + altitude_m / 1500.0 + r.gauss(0, 0.5))
    direction = (300 + 40 * diurnal + r.gauss(0, 25)) % 360  # afternoon sea breeze from the WNW
    gust = wind * r.uniform(1.4, 1.9)
    if cyclone is not None:
        slp_c, wind_c, dir_c = cyclone_wind(cyclone, lon, lat, altitude_m)
        slp = min(slp, slp_c + r.gauss(0, 0.3))
        if wind_c > wind:
            wind, direction = wind_c * r.uniform(0.85, 1.1), (dir_c + r.gauss(0, 10)) % 360
            gust = wind * r.uniform(1.5, 1.9)
    pressure = slp * math.exp(-altitude_m / 8434.0)
    daylight = max(0.0, math.sin(math.pi * (hod - 6) / 12)) if 6 <= hod <= 18 else 0.0
    weather = ("陰有大雨" if rain_mm_h >= 15 else "陰有雨" if rain_mm_h >= 2 else "陰有陣雨" if rain_mm_h > 0
               else "晴" if daylight > 0.3 and r.random() < 0.6 else "多雲")
    visibility = "<1" if rain_mm_h >= 20 else "1-2" if rain_mm_h >= 8 else "2-10" if rain_mm_h > 0 else ">30"
    return Air(round(temperature, 1), round(min(max(humidity, 20.0), 100.0)), round(pressure, 1), round(wind, 1),
               round(direction), round(gust, 1), weather, round(10 * daylight * (1 - 0.8 * wet), 1), visibility)
