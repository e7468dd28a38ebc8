"""What every generator of one run shares: the scenario, the clock, the seed, the rain field,
and how to turn a named place of the scenario into a real site."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.feeds._common import TAIPEI

from .base import ScenarioClock, rng
from .places import Place, accident_sites, district_code, road_sites, shelters
from .timeline import Scenario
from .weather_model import RainField, distance_km

# 臺中市政府警察局: which precinct (分局) answers calls in which district.
PRECINCT = {
    "中區": "第一分局", "西區": "第一分局", "北區": "第二分局", "東區": "第三分局", "南區": "第三分局",
    "南屯區": "第四分局", "北屯區": "第五分局", "西屯區": "第六分局", "大甲區": "大甲分局", "大安區": "大甲分局",
    "外埔區": "大甲分局", "清水區": "清水分局", "梧棲區": "清水分局", "沙鹿區": "清水分局", "烏日區": "烏日分局",
    "大肚區": "烏日分局", "龍井區": "烏日分局", "大雅區": "大雅分局", "神岡區": "大雅分局", "豐原區": "豐原分局",
    "后里區": "豐原分局", "潭子區": "豐原分局", "東勢區": "東勢分局", "石岡區": "東勢分局", "新社區": "東勢分局",
    "和平區": "和平分局", "太平區": "太平分局", "大里區": "霧峰分局", "霧峰區": "霧峰分局",
}


@dataclass
class World:
    scenario: Scenario
    clock: ScenarioClock
    seed: int
    rain: RainField = field(init=False)

    def __post_init__(self):
        self.rain = RainField(self.scenario, self.clock, self.seed)
        self.precinct_by_code = {district_code(name): unit for name, unit in PRECINCT.items()}
        self._near_weights: dict[tuple, list[float]] = {}

    @property
    def run_tag(self) -> str:
        """Part of every id this run invents (cases, events, alerts), so runs never collide."""
        return self.clock.start.astimezone(TAIPEI).strftime("%Y%m%d%H%M%S") + self.scenario.name[0].upper()

    def site_in(self, kind: str, district_name: str, key: str) -> Place:
        """A real accident ("a1") or CCTV ("cctv") site in a district, chosen by the seed; where
        the district has none, the other kind, else a shelter's address there."""
        code = district_code(district_name)
        sources = (accident_sites, road_sites) if kind == "a1" else (road_sites, accident_sites)
        for source in (*sources, lambda: [s.place() for s in shelters() if s.position_ok]):
            pool = [p for p in source() if p.district == code]
            if pool:
                return rng(self.seed, "site", key).choice(pool)
        raise LookupError(f"no site in {district_name}")

    def pick_near(self, places: list[Place], lon: float, lat: float, scale_km: float, r) -> Place:
        """A place drawn with weight falling off with distance from a point."""
        key = (tuple(p.id for p in places), lon, lat, scale_km)
        weights = self._near_weights.get(key)
        if weights is None:
            d = distance_km(lon, lat, np.array([p.lon for p in places]), np.array([p.lat for p in places]))
            weights = self._near_weights[key] = np.exp(-d / scale_km).tolist()
        return r.choices(places, weights=weights)[0]

    def unit_for(self, district: str | None, r) -> str:
        precinct = self.precinct_by_code.get(district or "", "勤務指揮中心")
        return f"{precinct} 巡邏車{r.randint(1, 12):02d}"
