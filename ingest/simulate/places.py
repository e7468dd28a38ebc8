"""Real places the simulator publishes from (shipped with the project, see geo/data/PROVENANCE.md
and ingest/simulate/data/PROVENANCE.md)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geo
from ingest.feeds._geo_lookup import district_code_at, district_code_by_name, district_name

SIM_DATA = Path(__file__).resolve().parent / "data"


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


@dataclass(frozen=True)
class Place:
    """A located place with its district (TOWNCODE), e.g. an accident site or a shelter."""

    id: str
    name: str
    lon: float
    lat: float
    district: str
    address: str | None = None


@dataclass(frozen=True)
class Shelter:
    id: str
    name: str
    address: str | None
    district: str | None
    lon: float
    lat: float
    capacity: int
    disaster_types: tuple[str, ...]
    position_ok: bool  # the published coordinates fall in the shelter's own district

    def place(self) -> Place:
        return Place(f"shelter-{self.id}", self.name, self.lon, self.lat, self.district or "",
                     self.address)


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def file_bytes(*parts: str) -> bytes:
    return data_path(*parts).read_bytes()


@cache
def shelters() -> tuple[Shelter, ...]:
    """The 492 NFA shelters of Taichung (capacity, disaster types 水災/震災/土石流/海嘯)."""
    out = []
    for row in _rows(data_path("poi", "taichung_shelters_nfa_v9.csv")):
        types = tuple(t.strip() for t in row["適用災害類別"].replace("、", ",").split(",") if t.strip())
        out.append(Shelter(
            id=row["序號"].strip(), name=row["避難收容處所名稱"].strip(),
            address=row["避難收容處所地址"].strip() or None,
            district=district_code_by_name(row["縣市及鄉鎮市區"]),
            lon=float(row["經度"]), lat=float(row["緯度"]),
            capacity=int(row["預計收容人數"].replace(",", "") or 0), disaster_types=types,
            position_ok=row.get("coord_check", "ok").strip() == "ok"))
    return tuple(out)


@cache
def accident_sites() -> tuple[Place, ...]:
    """The 169 sites of Taichung's 2023 A1 (fatal) accidents: real spots on real roads."""
    seen: dict[tuple, Place] = {}
    for row in _rows(data_path("poi", "taichung_traffic_accidents_A1_2023.csv")):
        lon, lat = float(row["經度"]), float(row["緯度"])
        address = row["發生地點"].split(" / ")[0].strip()
        key = (round(lon, 5), round(lat, 5))
        if key in seen:
            continue
        district = district_code_at(lon, lat)
        if district is None:
            continue
        seen[key] = Place(f"A1-{row['發生日期']}-{row['發生時間']}", address, lon, lat, district, address)
    return tuple(seen.values())


@cache
def road_sites() -> tuple[Place, ...]:
    """CCTV intersections as places (with district), for incidents and road events."""
    out = []
    for s in cctv_sites():
        district = district_code_at(s.lon, s.lat)
        if district:
            out.append(Place(s.id, s.name_zh, s.lon, s.lat, district, f"臺中市{district_name(district)}{s.name_zh}"))
    return tuple(out)


@dataclass(frozen=True)
class Station:
    """A measuring station: CWA weather station, rain gauge or seismic station."""

    id: str
    name: str
    lon: float
    lat: float
    altitude_m: float
    county: str
    town: str
    district: str | None
    dataset: str | None = None
    maintainer: str | None = None


def _station(row: dict, **extra) -> Station:
    lon, lat = float(row["lon"]), float(row["lat"])
    town = row.get("town", "")
    district = district_code_by_name(town) if town else None
    if district is None and row.get("county", "").replace("台", "臺") == "臺中市":
        district = district_code_at(lon, lat)
    return Station(row["station_id"], row["name"], lon, lat, float(row.get("altitude_m") or 0.0),
                   row.get("county", ""), town, district, **extra)


@cache
def weather_stations() -> tuple[Station, ...]:
    """30 CWA weather stations in Taichung (O-A0001-001 automatic, O-A0003-001 manned)."""
    return tuple(_station(r, dataset=r["dataset"]) for r in _rows(SIM_DATA / "cwa_weather_stations.csv"))


@cache
def rain_gauges() -> tuple[Station, ...]:
    """74 rain gauges in Taichung (O-A0002-001)."""
    return tuple(_station(r, maintainer=r["maintainer"]) for r in _rows(SIM_DATA / "cwa_rain_gauges.csv"))


@cache
def seismic_stations() -> tuple[Station, ...]:
    """77 CWA seismic intensity stations in Taichung and the counties around."""
    return tuple(_station(r) for r in _rows(SIM_DATA / "cwa_seismic_stations.csv"))


@dataclass(frozen=True)
class SensorSite:
    """A simulated Civil IoT water-level or rain datastream (see data/PROVENANCE.md)."""

    id: str
    kind: str  # "water_level" or "rain"
    river: str
    name: str
    district: str
    lon: float
    lat: float
    catchment: dict[str, float]
    datum_m: float | None = None
    warnings_m: tuple[float, float, float] | None = None  # levels 3, 2, 1
    lag_h: float = 0.0
    gain_m_per_mmh: float = 0.0


@cache
def sensor_sites() -> tuple[SensorSite, ...]:
    out = []
    for r in _rows(SIM_DATA / "sta_sites.csv"):
        catchment = {k: float(v) for k, v in (p.split(":") for p in r["catchment"].split(";"))}
        water = r["kind"] == "water_level"
        out.append(SensorSite(
            id=r["site_id"], kind=r["kind"], river=r["river"], name=r["name"],
            district=district_code_by_name(r["district"]), lon=float(r["lon"]), lat=float(r["lat"]),
            catchment=catchment,
            datum_m=float(r["datum_m"]) if water else None,
            warnings_m=(float(r["warn3_m"]), float(r["warn2_m"]), float(r["warn1_m"])) if water else None,
            lag_h=float(r["lag_h"] or 0), gain_m_per_mmh=float(r["gain_m_per_mmh"] or 0)))
    return tuple(out)


def district_code(name: str) -> str:
    """TOWNCODE of a district name (和平區); KeyError for a name that is not in Taichung."""
    code = district_code_by_name(name)
    if code is None:
        raise KeyError(f"not a Taichung district: {name!r}")
    return code
