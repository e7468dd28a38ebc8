"""Base-station status (`bts`): every station of the generated layout (`geo.coverage.
default_stations()`, the one the coverage calculation uses: same ids), one message per station
on `ioc/v1/telecom/bts/<bts_id>`.

Two kinds of message: a change (a station goes down, degraded or back up, when the scenario's
outage plan says: typhoon, the mountain districts; earthquake, rings around the epicentre), sent
at once; and a refresh, every station in turn, spread evenly so each is sent once per
`refresh_s` real seconds (240 s: inside the feed's 5 minutes; ~60 messages a second for 14,082
stations), whatever the scenario speed."""

from __future__ import annotations

import math

import numpy as np

from ..base import Message, SimTime, dumps, iso_ms
from ..places import district_code
from ..timeline import OutagePlan
from ..weather_model import distance_km
from ..world import World

REFRESH_S = 240.0


def topic(bts_id: str) -> str:
    return f"ioc/v1/telecom/bts/{bts_id}"


def default_layout():
    from geo.coverage import default_stations  # geopandas: loaded only when the simulator runs

    return default_stations()


class BaseStations:
    def __init__(self, world: World, stations=None, refresh_s: float = REFRESH_S):
        stations = default_layout() if stations is None else stations
        self.world = world
        self.refresh_s = refresh_s
        self.ids = stations["station_id"].astype(str).to_numpy()
        self.operators = stations["operator"].astype(str).to_numpy()
        self.technology = stations["technology"].astype(str).to_numpy()
        self.lon = stations.geometry.x.to_numpy()
        self.lat = stations.geometry.y.to_numpy()
        self.radius = stations["radius_m"].to_numpy(dtype=float)
        self.district = stations["district_code"].astype(str).to_numpy()
        n = len(self.ids)
        self.down_at = np.full(n, math.inf)
        self.up_at = np.full(n, math.inf)
        self.degraded = np.zeros(n, dtype=bool)
        if world.scenario.outages is not None:
            self._plan(world.scenario.outages)
        self.refreshed = 0
        self.last_h = 0.0

    def _plan(self, plan: OutagePlan) -> None:
        r = np.random.default_rng([self.world.seed, 4242])
        n = len(self.ids)
        affected = np.zeros(n, dtype=bool)
        for name, share in plan.districts.items():
            here = self.district == district_code(name)
            affected |= here & (r.random(n) < share)
        if plan.rings_km and self.world.scenario.quakes:
            q = self.world.scenario.quakes[0]
            d = distance_km(q.lon, q.lat, self.lon, self.lat)
            done = np.zeros(n, dtype=bool)
            for radius, share in sorted(plan.rings_km):
                ring = (d <= radius) & ~done
                affected |= ring & (r.random(n) < share)
                done |= ring
        k = int(affected.sum())
        self.down_at[affected] = r.uniform(*plan.down_h, size=k)
        self.up_at[affected] = np.maximum(r.uniform(*plan.up_h, size=k), self.down_at[affected] + 0.25)
        self.degraded[affected] = r.random(k) < plan.degraded_share

    def status(self, i: int, h: float) -> str:
        if self.down_at[i] <= h < self.up_at[i]:
            return "degraded" if self.degraded[i] else "down"
        return "up"

    def message(self, i: int, h: float, when) -> Message:
        body = {"bts_id": self.ids[i], "operator": self.operators[i], "technology": self.technology[i],
                "lon": float(self.lon[i]), "lat": float(self.lat[i]),
                "footprint": {"radius_m": float(self.radius[i])}, "status": self.status(i, h),
                "time": iso_ms(when)}
        return Message(topic(self.ids[i]), dumps(body))

    def tick(self, now: SimTime) -> list[Message]:
        h = now.hours
        out = []
        # Changes since the previous tick, each stamped with the moment it happened.
        for times in (self.down_at, self.up_at):
            for i in np.flatnonzero((times > self.last_h) & (times <= h)):
                out.append(self.message(int(i), float(times[i]), now.stamp(float(times[i]))))
        self.last_h = max(self.last_h, h)
        # The steady refresh, in turn.
        n = len(self.ids)
        due = int(now.real_elapsed_s * n / self.refresh_s) - self.refreshed
        for k in range(self.refreshed, self.refreshed + max(due, 0)):
            out.append(self.message(k % n, h, now.at))
        self.refreshed += max(due, 0)
        return out
