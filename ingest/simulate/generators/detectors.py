"""Vehicle detector readings (`tdx-vdlive`) from `TrafficSimulator`, at `rate` readings per real
second, slowed down by the scenario (typhoon rain, earthquake closures)."""

from __future__ import annotations

from ..base import Message, SimTime, curve_at
from ..timeline import Scenario
from ..traffic import TrafficSimulator


class Detectors:
    def __init__(self, traffic: TrafficSimulator, scenario: Scenario, rate: float):
        self.traffic = traffic
        self.scenario = scenario
        self.rate = rate
        self.sent = 0

    def tick(self, now: SimTime) -> list[Message]:
        self.traffic.slowdown = curve_at(self.scenario.slowdown, now.hours)
        due = int(now.real_elapsed_s * self.rate) - self.sent
        if due <= 0:
            return []
        self.sent += due
        return [Message(*m) for m in self.traffic.next_readings(due, now.at)]
