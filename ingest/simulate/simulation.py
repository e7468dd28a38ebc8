"""One simulated run: the scenario, its clock and every generator, mixed into one stream of
messages. `step(real_now)` returns what became due; the runner publishes it. Tests drive it
with made-up real times, so no broker or sleeping is needed to see a whole scenario."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from . import scenarios
from .base import Generator, Message, ScenarioClock
from .generators.bts import REFRESH_S, BaseStations
from .generators.cap import Alerts
from .generators.detectors import Detectors
from .generators.incidents import Incidents
from .generators.lists import SiteLists
from .generators.quake import QuakeReports
from .generators.rain import RainGauges
from .generators.road_events import RoadEvents
from .generators.shelters import ShelterStatus
from .generators.sta import SensorThings
from .generators.typhoon import TyphoonTrack
from .generators.weather import WeatherStations
from .traffic import TrafficSimulator
from .world import World

DEFAULT_SEED = 7
# Feeds the simulator does not publish, and why (every other feed must have a generator).
NOT_SIMULATED = {"kpi": "monthly KPI measurements from the agencies, not a live operations feed"}


@dataclass(frozen=True)
class Options:
    scenario: str = "normal"
    speed: float | None = None  # scenario seconds per real second; None: the scenario's default
    seed: int = DEFAULT_SEED
    rate: float = 5.0  # detector readings per real second
    bts_refresh_s: float = REFRESH_S


class Simulation:
    def __init__(self, options: Options, start: datetime | None = None, *, stations=None):
        scenario = scenarios.get(options.scenario)
        speed = options.speed or scenario.default_speed
        self.options = options
        self.clock = ScenarioClock(start or datetime.now(timezone.utc), speed)
        self.world = World(scenario, self.clock, options.seed)
        self.traffic = TrafficSimulator(seed=options.seed)
        # Lists first (retained site lists), then the rest; the order is the publishing order.
        self.generators: list[Generator] = [
            SiteLists(self.traffic),
            WeatherStations(self.world),
            RainGauges(self.world),
            SensorThings(self.world),
            TyphoonTrack(self.world),
            QuakeReports(self.world),
            Alerts(self.world),
            ShelterStatus(self.world),
            RoadEvents(self.world),
            Incidents(self.world),
            BaseStations(self.world, stations, refresh_s=options.bts_refresh_s),
            Detectors(self.traffic, scenario, options.rate),
        ]

    @property
    def scenario(self):
        return self.world.scenario

    def step(self, real_now: datetime) -> list[Message]:
        now = self.clock.at_real(real_now)
        return [m for g in self.generators for m in g.tick(now)]

    def drill_seconds(self) -> float:
        """Real seconds the scenario's timeline takes at this speed (0 for the calm baseline)."""
        return self.scenario.length_h * 3600 / self.clock.speed
