"""Shelter occupancy (`shelter-status`): real shelters open when the scenario says, fill up as
people arrive, empty and close. Typhoon: shelters for floods and debris flows in the named
districts; earthquake: shelters for earthquakes within a radius of the epicentre. Each open
shelter reports every 10 scenario minutes (the feed expects at least hourly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..base import Every, Message, SimTime, dumps, iso_ms, rng
from ..places import Shelter, district_code, shelters
from ..timeline import ShelterPlan
from ..weather_model import distance_km
from ..world import World

PERIOD = timedelta(minutes=10)


def topic(shelter_id: str) -> str:
    return f"ioc/v1/disaster/shelters/{shelter_id}"


@dataclass(frozen=True)
class Opening:
    shelter: Shelter
    open_h: float
    peak_h: float
    close_h: float
    peak: int

    def occupancy(self, h: float) -> int:
        if h < self.open_h or h >= self.close_h:
            return 0
        if h <= self.peak_h:
            share = (h - self.open_h) / max(self.peak_h - self.open_h, 0.1)
        else:
            share = max(0.0, 1 - (h - self.peak_h) / max(self.close_h - 0.25 - self.peak_h, 0.1))
        return int(round(self.peak * share ** 0.7))


def choose(plan: ShelterPlan, world: World) -> list[Opening]:
    r = rng(world.seed, "shelters")
    if plan.radius_km is not None and world.scenario.quakes:
        q = world.scenario.quakes[0]
        pool = [s for s in shelters() if s.position_ok and s.district
                and float(distance_km(q.lon, q.lat, s.lon, s.lat)) <= plan.radius_km]
    else:
        wanted = {district_code(d) for d in plan.districts}
        pool = [s for s in shelters() if s.district in wanted]
    pool = [s for s in pool if s.capacity > 0 and set(s.disaster_types) & set(plan.disaster_types)]
    by_district: dict[str, list[Shelter]] = {}
    for s in sorted(pool, key=lambda s: int(s.id) if s.id.isdigit() else 0):
        by_district.setdefault(s.district, []).append(s)
    out = []
    for district in sorted(by_district):
        picks = r.sample(by_district[district], min(plan.per_district, len(by_district[district])))
        for s in picks:
            open_h = plan.open_h + r.uniform(0, plan.open_spread_h)
            peak_h = max(open_h + 0.5, plan.peak_h + r.uniform(-0.5, 0.5))
            close_h = max(peak_h + 0.5, plan.close_h + r.uniform(0, 0.5))
            out.append(Opening(s, open_h, peak_h, close_h, max(1, int(s.capacity * r.uniform(*plan.fill)))))
    return out


class ShelterStatus:
    def __init__(self, world: World):
        self.world = world
        plan = world.scenario.shelters
        self.openings = choose(plan, world) if plan else []
        self.every = Every(PERIOD)
        self.closed: set[str] = set()

    def tick(self, now: SimTime) -> list[Message]:
        out = []
        for slot in self.every.due(now.elapsed):
            h = slot.total_seconds() / 3600
            for o in self.openings:
                sid = o.shelter.id
                if h < o.open_h or sid in self.closed:
                    continue
                if h >= o.close_h:
                    self.closed.add(sid)
                    status, occupancy = "closed", 0
                else:
                    occupancy = min(o.occupancy(h), o.shelter.capacity)
                    status = "full" if occupancy >= o.shelter.capacity else "open"
                body = {"shelter_id": sid, "time": iso_ms(now.stamp(slot)), "occupancy": occupancy, "status": status}
                out.append(Message(topic(sid), dumps(body)))
        return out
