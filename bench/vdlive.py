"""Realistic TDX VDLive messages for 2,000 detectors, unique per (detector, minute).

The payloads are the simulator's (lanes, vehicle classes, speeds that follow the hour of the
day); only the detectors are many more than the city's 197 CCTV sites: each site gets about ten
detectors a few hundred metres apart. Message k is detector k mod 2,000 at minute k div 2,000
after `base`, so every message is a distinct (vd_id, time) row.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache

from ingest.simulate.places import Site, cctv_sites
from ingest.simulate.traffic import TrafficSimulator

DETECTORS = 2000
TOPIC_PREFIX = "ioc/v1/traffic/vd/"


@cache
def detector_sites(n: int = DETECTORS) -> tuple[Site, ...]:
    base = cctv_sites()
    out = []
    for i in range(n):
        s = base[i % len(base)]
        ring = i // len(base)
        out.append(Site(f"BENCH-{i:04d}", f"{s.name_zh}#{ring}", f"{s.name_en} #{ring}",
                        round(s.lon + 0.003 * ((ring % 4) - 1.5), 6), round(s.lat + 0.003 * ((ring // 4) - 1.2), 6)))
    return tuple(out)


def backlog_base(count: int, *, end: datetime | None = None) -> datetime:
    """A start minute such that `count` messages end a minute before `end` (now)."""
    end = (end or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    minutes = -(-count // DETECTORS)
    return end - timedelta(minutes=minutes + 1)


class Messages:
    """Message k on demand: (topic, payload, vd_id, time)."""

    def __init__(self, base: datetime, seed: int = 11):
        self.sites = detector_sites()
        self.sim = TrafficSimulator(seed=seed, sites=self.sites)
        self.base = base

    def key(self, k: int) -> tuple[str, datetime]:
        site = self.sites[k % DETECTORS]
        return f"VD-{site.id}", self.base + timedelta(minutes=k // DETECTORS)

    def message(self, k: int) -> tuple[str, bytes]:
        site = self.sites[k % DETECTORS]
        topic, payload, _ = self.sim.reading(site, self.base + timedelta(minutes=k // DETECTORS))
        return topic, payload

    def site_list(self) -> tuple[str, bytes]:
        topic, payload, _ = self.sim.site_list()
        return topic, payload
