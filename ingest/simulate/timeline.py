"""The building blocks of a scenario's timeline: alerts, road events, 110 call waves, shelter
openings, base-station outages, a typhoon's track, quakes. Times are scenario hours from the
start; places are named (districts, villages, roads) and resolved to real sites by the
generators. The scenarios themselves are in `scenarios.py`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Curve


@dataclass(frozen=True)
class AlertInfo:
    """One CAP <info>: an event at one level for a set of districts and/or villages."""

    event: str
    event_code: str  # profile:CAP-TWP:Event:1.0
    category: str
    severity: str
    urgency: str
    certainty: str
    response: str
    level: str | None = None  # `severity_level` parameter (大雨, 豪雨, 紅色警戒 ...)
    color: str | None = None  # `alert_color` parameter
    districts: tuple[str, ...] = ()
    villages: tuple[tuple[str, str], ...] = ()  # (district, village)


@dataclass(frozen=True)
class AlertStep:
    at_h: float
    msg_type: str  # Alert | Update | Cancel
    headline: str
    description: str
    infos: tuple[AlertInfo, ...] = ()
    valid_h: float = 4.0  # expires this many scenario hours after it is sent


@dataclass(frozen=True)
class AlertSeries:
    """One alert and its updates: each Update and the Cancel reference every earlier message."""

    key: str
    sender: str
    sender_name: str
    web: str
    steps: tuple[AlertStep, ...]


@dataclass(frozen=True)
class HeatAdvisory:
    """The normal day's alert: CWA's 高溫資訊 on summer days, for the plain districts."""

    districts: tuple[str, ...]
    months: tuple[int, ...] = (6, 7, 8, 9)
    issue_hour: float = 10.5  # local time
    until_hour: float = 17.0
    share_of_days: float = 0.6


@dataclass(frozen=True)
class RoadEvent:
    """A planned road event. `where`: a (lon, lat) point, a list of them (a line), or
    ("a1"|"cctv", district name) for a real accident or CCTV site in that district."""

    key: str
    kind: str
    start_h: float
    end_h: float
    where: object
    road: str | None
    description: str
    lanes: int | None = None
    direction: str | None = "both"


@dataclass(frozen=True)
class CaseType:
    """A kind of 110 call in a mix: category, priority 1-3, weight, the notes it comes with,
    and where it happens (districts; empty: anywhere)."""

    category: str
    priority: int
    weight: float
    notes: str
    districts: tuple[str, ...] = ()
    at_accident_site: bool = False


@dataclass(frozen=True)
class IncidentWave:
    per_hour: Curve  # calls per scenario hour
    mix: tuple[CaseType, ...]
    near_epicentre: bool = False  # place calls by distance to the quake's epicentre


@dataclass(frozen=True)
class ShelterPlan:
    open_h: float
    open_spread_h: float
    peak_h: float
    close_h: float
    disaster_types: tuple[str, ...]
    districts: tuple[str, ...] = ()
    radius_km: float | None = None  # around the epicentre, instead of districts
    per_district: int = 3
    fill: tuple[float, float] = (0.15, 0.6)  # peak occupancy as a share of capacity


@dataclass(frozen=True)
class OutagePlan:
    down_h: tuple[float, float]  # each station goes down at a time drawn in this window
    up_h: tuple[float, float]  # ... and comes back in this one
    districts: dict[str, float] = field(default_factory=dict)  # district -> share of stations
    rings_km: tuple[tuple[float, float], ...] = ()  # (radius, share) around the epicentre
    degraded_share: float = 0.2  # of the affected: degraded rather than down


@dataclass(frozen=True)
class TrackFix:
    h: float
    lon: float
    lat: float
    pressure: float
    wind: float  # max sustained, m/s
    gust: float
    r15_km: float
    r25_km: float


@dataclass(frozen=True)
class Typhoon:
    td_no: int
    ty_no: int
    name_en: str
    name_zh: str
    track: tuple[TrackFix, ...]  # the truth, before and after the drill window
    tracked_until_h: float  # after this the dataset is empty (no cyclone tracked)
    issue_every_h: float = 1.0
    forecast_taus: tuple[int, ...] = (6, 12, 18, 24, 36, 48, 72)


@dataclass(frozen=True)
class Quake:
    at_h: float
    lon: float
    lat: float
    depth_km: float
    magnitude: float
    location: str
    report_after_min: float = 4.0  # CWA's report comes a few minutes after the origin


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    length_h: float  # the timeline's span; afterwards the baseline goes on
    default_speed: float
    rain: dict[str, Curve] = field(default_factory=dict)  # zone -> mm/h
    slowdown: Curve = ()
    alerts: tuple[AlertSeries, ...] = ()
    heat: HeatAdvisory | None = None
    road_events: tuple[RoadEvent, ...] = ()
    extra_road_events: Curve = ()  # random events per hour (fallen trees, signal faults)
    extra_road_kinds: tuple = ()  # their kinds, as BASELINE_ROAD_KINDS
    incidents: tuple[IncidentWave, ...] = ()
    shelters: ShelterPlan | None = None
    outages: OutagePlan | None = None
    typhoon: Typhoon | None = None
    quakes: tuple[Quake, ...] = ()
