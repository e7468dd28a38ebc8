"""Real places the simulator publishes from (shipped with the project, see geo/data/PROVENANCE.md)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from pathlib import Path

import geo


def data_path(*parts: str) -> Path:
    return Path(geo.__file__).parent.joinpath("data", *parts)


@dataclass(frozen=True)
class Site:
    id: str
    name_zh: str
    name_en: str
    lon: float
    lat: float


@cache
def cctv_sites() -> tuple[Site, ...]:
    """The city's 197 traffic CCTV sites: the simulator's vehicle detectors stand there."""
    sites = []
    with open(data_path("poi", "taichung_cctv_2023-11.csv"), encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            zh, _, en = row["roadsection"].partition(",")
            sites.append(Site(row["cctvid"], zh.strip(), en.strip(), float(row["px"]), float(row["py"])))
    return tuple(sites)
