"""Simulated vehicle detectors at the city's real traffic CCTV sites, in the TDX VD/VDLive shapes.

Speeds follow a believable day in Taichung: free flow at night, slow at the morning and
evening rush (07:00-09:00, 17:00-19:30 Taipei time), with each site's own free-flow speed and
noise. A scenario can slow the whole city down (typhoon rain, earthquake closures).
"""

from __future__ import annotations

import math
import random
from datetime import datetime

import orjson

from ingest.feeds._common import TAIPEI

from .places import Site, cctv_sites

SITES_TOPIC = "ioc/v1/traffic/vd-sites"


def vd_id(site: Site) -> str:
    return f"VD-{site.id}"


def vd_topic(site: Site) -> str:
    return f"ioc/v1/traffic/vd/{vd_id(site)}"


def congestion(local: datetime) -> float:
    """0 (free flow) .. ~0.7 (rush hour), from the hour of a Taipei day."""
    h = local.hour + local.minute / 60
    morning = math.exp(-((h - 8.0) / 0.9) ** 2)
    evening = math.exp(-((h - 18.0) / 1.1) ** 2)
    daytime = 0.25 if 9.5 <= h <= 16.5 else 0.0
    night = -0.1 if h < 5.5 or h >= 23 else 0.0
    weekend = 0.6 if local.weekday() >= 5 else 1.0
    return max(0.0, weekend * (0.65 * morning + 0.6 * evening + daytime) + night)


class TrafficSimulator:
    def __init__(self, seed: int = 7, sites: tuple[Site, ...] | None = None):
        self.sites = sites or cctv_sites()
        self.rng = random.Random(seed)
        # Each site has its own free-flow speed and lane count, fixed by the seed.
        self.free_flow = {s.id: self.rng.uniform(40, 70) for s in self.sites}
        self.lanes = {s.id: self.rng.choice((2, 2, 3, 3, 4)) for s in self.sites}
        self.slowdown = 0.0  # 0..1, set by scenarios
        self.next_index = 0

    def site_list(self) -> tuple[str, bytes, bool]:
        """The TDX VD site list, published retained so a new subscriber learns the sites."""
        vds = [{
            "VDID": vd_id(s), "SubAuthorityCode": "TXG", "BiDirectional": 0,
            "DetectionLinks": [{"LinkID": s.id, "LaneNum": self.lanes[s.id], "ActualLaneNum": self.lanes[s.id]}],
            "PositionLon": s.lon, "PositionLat": s.lat, "RoadName": s.name_zh.split("/")[0],
            "Name": s.name_zh, "RoadSection": {"Start": s.name_zh, "End": s.name_en},
        } for s in self.sites]
        return SITES_TOPIC, orjson.dumps({"AuthorityCode": "TXG", "VDs": vds}), True

    def reading(self, site: Site, now: datetime) -> tuple[str, bytes, bool]:
        local = now.astimezone(TAIPEI)
        load = min(0.95, congestion(local) + self.slowdown)
        free = self.free_flow[site.id]
        lanes = []
        for lane in range(self.lanes[site.id]):
            speed = max(3.0, free * (1 - load) * self.rng.uniform(0.85, 1.1))
            occupancy = min(95.0, 5 + 70 * load * self.rng.uniform(0.7, 1.2))
            small = max(0, int(self.rng.gauss(12 + 30 * load, 4)))
            large = max(0, int(self.rng.gauss(1 + 3 * load, 1)))
            lanes.append({
                "LaneID": lane, "LaneType": 1, "Speed": round(speed), "Occupancy": round(occupancy),
                "Vehicles": [{"VehicleType": "S", "Volume": small, "Speed": round(speed)},
                             {"VehicleType": "L", "Volume": large, "Speed": round(speed * 0.9)},
                             {"VehicleType": "T", "Volume": 0, "Speed": 0}],
            })
        body = {"VDID": vd_id(site), "SubAuthorityCode": "TXG",
                "LinkFlows": [{"LinkID": site.id, "Lanes": lanes}], "Status": 0,
                "DataCollectTime": local.replace(microsecond=0).isoformat()}
        return vd_topic(site), orjson.dumps(body), False

    def next_readings(self, count: int, now: datetime) -> list[tuple[str, bytes, bool]]:
        """The next `count` detectors in turn, so every site reports at the same rhythm."""
        out = []
        for _ in range(count):
            site = self.sites[self.next_index % len(self.sites)]
            self.next_index += 1
            out.append(self.reading(site, now))
        return out
