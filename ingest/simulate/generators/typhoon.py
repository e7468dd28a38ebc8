"""CWA typhoon track (`cwa-typhoon`): a W-C0034-005 file-API document every scenario hour while
the scenario's cyclone is tracked (analysis fixes every 3 hours up to now, forecast fixes
ahead), then one empty dataset (no cyclone tracked). Forecast fixes keep CWA's forecast hours
(`tau`, real hours ahead); their positions follow the scenario's track."""

from __future__ import annotations

import math
from datetime import timedelta

from ..base import Every, Message, SimTime, dumps, iso_ms, rng
from ..timeline import Typhoon
from ..weather_model import cyclone_at, distance_km
from ..world import World

TOPIC = "ioc/v1/disaster/typhoon"
COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
HISTORY_H = 24.0
ANALYSIS_EVERY_H = 3.0


def _motion(ty: Typhoon, h: float) -> tuple[float, str]:
    a, b = cyclone_at(ty, h - 0.5), cyclone_at(ty, h + 0.5)
    if a is None or b is None:
        return 0.0, "W"
    speed = float(distance_km(a.lon, a.lat, b.lon, b.lat))
    bearing = math.degrees(math.atan2((b.lon - a.lon) * math.cos(math.radians(a.lat)), b.lat - a.lat)) % 360
    return speed, COMPASS[round(bearing / 22.5) % 16]


class TyphoonTrack:
    def __init__(self, world: World):
        self.world = world
        self.typhoon = world.scenario.typhoon
        self.every = Every(timedelta(hours=self.typhoon.issue_every_h)) if self.typhoon else None
        self.cleared = False
        self.issued = 0

    def tick(self, now: SimTime) -> list[Message]:
        if self.typhoon is None:
            return []
        out = []
        for slot in self.every.due(now.elapsed):
            h = slot.total_seconds() / 3600
            if h < self.typhoon.tracked_until_h:
                out.append(self.document(now, h))
            elif not self.cleared:
                self.cleared = True
                out.append(self._envelope(now, h, {}))
        return out

    def _envelope(self, now: SimTime, h: float, dataset: dict) -> Message:
        self.issued += 1
        return Message(TOPIC, dumps({"cwaopendata": {
            "identifier": f"CWA-TropicalCyclone-SIM-{self.world.run_tag}-{self.issued:03d}",
            "sender": "cwa-drill@ioc.simulator", "sent": iso_ms(now.stamp(h)), "status": "Actual",
            "msgType": "Update", "scope": "Public", "dataset": dataset}}))

    def _fix(self, h: float, **extra) -> dict:
        c = cyclone_at(self.typhoon, h)
        speed, direction = _motion(self.typhoon, h)
        fix = {"coordinate": f"{c.lon:.2f},{c.lat:.2f}", "max_wind_speed": f"{c.wind:.0f}",
               "max_gust_speed": f"{c.gust:.0f}", "pressure": f"{c.pressure:.0f}", "moving_speed": f"{speed:.0f}",
               "moving_direction": direction, **extra}
        if c.r15_km > 0:
            fix["circle_of_15ms"] = {"radius": f"{c.r15_km:.0f}"}
        if c.r25_km > 0:
            fix["circle_of_25ms"] = {"radius": f"{c.r25_km:.0f}"}
        return fix

    def document(self, now: SimTime, h: float) -> Message:
        ty = self.typhoon
        first = ty.track[0].h
        times = [t for t in (h - k * ANALYSIS_EVERY_H for k in range(int(HISTORY_H / ANALYSIS_EVERY_H) + 1))
                 if t >= first][::-1]
        analysis = [self._fix(t, fix_time=iso_ms(now.stamp(t))) for t in times]
        init = iso_ms(now.stamp(h))
        forecast = []
        for tau in ty.forecast_taus:
            if cyclone_at(ty, h + tau) is None:
                break
            fix = self._fix(h + tau, init_time=init, tau=str(tau),
                            radius_of_70percent_probability=f"{20 + 3 * tau:.0f}")
            r = rng(self.world.seed, "forecast", round(h, 3), tau)
            lon, lat = (float(v) for v in fix["coordinate"].split(","))
            spread = 0.02 * tau / 6
            fix["coordinate"] = f"{lon + r.gauss(0, spread):.2f},{lat + r.gauss(0, spread):.2f}"
            forecast.append(fix)
        cyclone = {"year": str(now.clock.local(timedelta(hours=h)).year), "typhoon_name": ty.name_en,
                   "cwa_typhoon_name": ty.name_zh, "cwa_td_no": str(ty.td_no), "cwa_ty_no": str(ty.ty_no),
                   "analysis_data": {"fix": analysis}, "forecast_data": {"fix": forecast}}
        return self._envelope(now, h, {"tropicalCyclones": {"tropicalCyclone": [cyclone]}})
