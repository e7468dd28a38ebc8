"""Police 110 calls (`incident`): the baseline's few calls an hour (more in the evening) plus
the scenario's waves (fallen trees and rescues in a typhoon; collapses, fires and gas leaks near
the epicentre after a quake), at real places: A1 accident sites for crashes, CCTV intersections
and shelter addresses for the rest. Each call goes reported -> dispatched -> on_scene -> closed,
one message per step, each carrying the times so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..base import Message, SimTime, arrivals, curve_at, dumps, iso_ms, rng
from ..places import Place, accident_sites, district_code, road_sites, shelters
from ..scenarios import BASELINE_CALLS_PER_HOUR, BASELINE_MIX
from ..timeline import CaseType
from ..world import World

TOPIC = "ioc/v1/police/incidents"
STEPS = ("reported", "dispatched", "on_scene", "closed")
# Minutes from the previous step, by priority: (dispatch, arrive, close).
DELAYS = {1: ((0.5, 2), (3, 8), (30, 150)), 2: ((1, 4), (5, 15), (20, 90)), 3: ((2, 8), (8, 25), (15, 60))}


@dataclass
class Call:
    id: str
    case: CaseType
    place: Place
    unit: str
    times: list[float]  # scenario hours of reported, dispatched, on_scene, closed
    sent: int = 0  # how many steps have been published

    def body(self, now: SimTime) -> bytes:
        step = self.sent - 1
        doc = {"id": self.id, "category": self.case.category, "priority": self.case.priority,
               "status": STEPS[step], "reported_at": iso_ms(now.stamp(self.times[0])),
               "updated_at": iso_ms(now.stamp(self.times[step])), "lon": self.place.lon, "lat": self.place.lat,
               "district": self.place.district, "notes": self.case.notes}
        if self.place.address:
            doc["address"] = self.place.address[:200]
        if step >= 1:
            doc["unit"] = self.unit
        for i, key in ((1, "dispatched_at"), (2, "on_scene_at"), (3, "closed_at")):
            if step >= i:
                doc[key] = iso_ms(now.stamp(self.times[i]))
        return dumps(doc)


def _other_places() -> list[Place]:
    return list(road_sites()) + [s.place() for s in shelters() if s.position_ok and s.district]


class Incidents:
    def __init__(self, world: World):
        self.world = world
        self.calls: list[Call] = []
        self.planned_hours = 0
        self.accidents = list(accident_sites())
        self.others = _other_places()

    def _where(self, case: CaseType, r, near_epicentre: bool) -> Place:
        pool = self.accidents if case.at_accident_site else self.others
        if case.districts:
            codes = {district_code(d) for d in case.districts}
            pool = [p for p in pool if p.district in codes] or pool
        quake = self.world.scenario.quakes[0] if self.world.scenario.quakes else None
        if near_epicentre and quake is not None:
            return self.world.pick_near(pool, quake.lon, quake.lat, 12.0, r)
        return r.choice(pool)

    def _plan_hour(self, n: int) -> None:
        r = rng(self.world.seed, "calls", n)
        local = self.world.clock.local(timedelta(hours=n + 0.5))
        baseline = float(curve_at(BASELINE_CALLS_PER_HOUR, local.hour + local.minute / 60, outside=None))
        batches = [(arrivals(r, baseline, n), BASELINE_MIX, False)]
        for wave in self.world.scenario.incidents:
            batches.append((arrivals(r, float(curve_at(wave.per_hour, n + 0.5)), n), wave.mix, wave.near_epicentre))
        seq = 0
        for times, mix, near in batches:
            for t in times:
                case = r.choices(mix, weights=[c.weight for c in mix])[0]
                place = self._where(case, r, near)
                delays = DELAYS[case.priority]
                steps = [t]
                for lo, hi in delays:
                    steps.append(steps[-1] + r.uniform(lo, hi) / 60)
                seq += 1
                self.calls.append(Call(f"110-{self.world.run_tag}-{n:04d}-{seq:03d}", case, place,
                                       self.world.unit_for(place.district, r), steps))

    def tick(self, now: SimTime) -> list[Message]:
        while self.planned_hours <= int(now.hours):
            self._plan_hour(self.planned_hours)
            self.planned_hours += 1
        out = []
        for call in self.calls:
            while call.sent < len(STEPS) and call.times[call.sent] <= now.hours:
                call.sent += 1
                out.append(Message(TOPIC, call.body(now)))
        self.calls = [c for c in self.calls if c.sent < len(STEPS)]
        return out
