"""Road events and closures (`traffic-event`): the scenario's planned events (landslides on 台8線,
flooded roads, bridge closures) and random ones at real accident and CCTV sites (the baseline's
accidents, road works, obstacles and signal faults, plus the scenario's fallen trees or quake
damage), and a few long-running road works that are always there. An active event is re-sent
every 20 scenario minutes (the feed expects 30) and sent once more, cleared, when it ends."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from ..base import Every, Message, SimTime, arrivals, curve_at, dumps, iso_ms, rng
from ..places import Place, accident_sites, road_sites
from ..scenarios import BASELINE_ROAD_EVENTS_PER_HOUR, BASELINE_ROAD_KINDS, BASELINE_ROADWORKS
from ..timeline import RoadEvent
from ..world import World

TOPIC = "ioc/v1/traffic/events"
RESEND = timedelta(minutes=20)
SOURCE = "臺中市政府交通局（演練模擬）"


@dataclass
class Active:
    id: str
    kind: str
    geometry: dict
    start_h: float
    end_h: float
    road: str | None
    description: str
    lanes: int | None
    direction: str | None

    def body(self, now: SimTime, at_h: float, cleared: bool) -> bytes:
        doc = {"id": self.id, "kind": self.kind, "geometry": self.geometry, "start": iso_ms(now.stamp(self.start_h)),
               "status": "cleared" if cleared else "active", "source": SOURCE,
               "updated_at": iso_ms(now.stamp(at_h)), "description": self.description, "direction": self.direction}
        if cleared:
            doc["end"] = iso_ms(now.stamp(self.end_h))
        if self.road:
            doc["road"] = self.road
        if self.lanes is not None:
            doc["lanes_affected"] = self.lanes
        return dumps(doc)


def _point(place: Place) -> dict:
    return {"type": "Point", "coordinates": [place.lon, place.lat]}


class RoadEvents:
    def __init__(self, world: World):
        self.world = world
        self.upcoming: list[Active] = [self._planned(e) for e in world.scenario.road_events] + self._roadworks()
        self.active: list[Active] = []
        self.every = Every(RESEND)
        self.planned_hours = 0

    def _planned(self, e: RoadEvent) -> Active:
        where, description = e.where, e.description
        if isinstance(where, tuple) and len(where) == 2 and isinstance(where[0], str):
            place = self.world.site_in(where[0], where[1], e.key)
            geometry, description = _point(place), f"{place.name}：{description}"
        elif isinstance(where, list):
            geometry = {"type": "LineString", "coordinates": [list(p) for p in where]}
        else:
            geometry = {"type": "Point", "coordinates": list(where)}
        return Active(f"TE-{self.world.run_tag}-{e.key}", e.kind, geometry, e.start_h, e.end_h, e.road,
                      description, e.lanes, e.direction)

    def _roadworks(self) -> list[Active]:
        r = rng(self.world.seed, "roadworks")
        return [Active(f"TE-{self.world.run_tag}-works-{i}", "construction", _point(place), 0.0, math.inf, None,
                       f"{place.name}：道路施工（長期），車道縮減", 1, "both")
                for i, place in enumerate(r.sample(list(road_sites()), BASELINE_ROADWORKS))]

    def _plan_hour(self, n: int) -> None:
        """Random events starting in scenario hour n (drawn once, from the seed and n)."""
        scenario = self.world.scenario
        r = rng(self.world.seed, "road-events", n)
        extra = float(curve_at(scenario.extra_road_events, n + 0.5))
        quake = scenario.quakes[0] if scenario.quakes else None
        sites = list(road_sites()) + list(accident_sites())
        for i, (start, kinds) in enumerate(
                [(t, BASELINE_ROAD_KINDS) for t in arrivals(r, BASELINE_ROAD_EVENTS_PER_HOUR, n)]
                + [(t, scenario.extra_road_kinds) for t in arrivals(r, extra, n)]):
            kind, _, (lo, hi), description = r.choices(kinds, weights=[k[1] for k in kinds])[0]
            if quake is not None and kinds is scenario.extra_road_kinds:
                place = self.world.pick_near(sites, quake.lon, quake.lat, 12.0, r)
            else:
                place = r.choice(sites)
            lanes = r.choice((1, 1, 2)) if kind != "signal_fault" else None
            self.upcoming.append(Active(f"TE-{self.world.run_tag}-{n:04d}-{i:02d}", kind, _point(place), start,
                                        start + r.uniform(lo, hi) / 60, None, f"{place.name}：{description}", lanes,
                                        "both"))

    def tick(self, now: SimTime) -> list[Message]:
        while self.planned_hours <= int(now.hours):
            self._plan_hour(self.planned_hours)
            self.planned_hours += 1
        out = []
        starting = [e for e in self.upcoming if e.start_h <= now.hours]
        self.upcoming = [e for e in self.upcoming if e.start_h > now.hours]
        for e in sorted(starting, key=lambda e: e.start_h):
            self.active.append(e)
            out.append(Message(TOPIC, e.body(now, e.start_h, cleared=False)))
        ended = [e for e in self.active if e.end_h <= now.hours]
        self.active = [e for e in self.active if e.end_h > now.hours]
        for e in ended:
            out.append(Message(TOPIC, e.body(now, e.end_h, cleared=True)))
        for slot in self.every.due(now.elapsed):
            h = slot.total_seconds() / 3600
            out.extend(Message(TOPIC, e.body(now, h, cleared=False)) for e in self.active if e.start_h < h)
        return out
