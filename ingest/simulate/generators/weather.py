"""CWA weather stations (`cwa-stations`): an O-A0001-001 document (automatic stations) and an
O-A0003-001 document (manned stations) every 10 scenario minutes, in the current
`records.Station[]` shape, for Taichung's real stations."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from ..base import Every, Message, SimTime, dumps, iso_ms
from ..places import Station, weather_stations
from ..weather_model import RainPlace, air_at, cyclone_at, zone_of
from ..world import World

TOPIC = "ioc/v1/weather/stations"
PERIOD = timedelta(minutes=10)


def rain_place(st: Station) -> RainPlace:
    return RainPlace(f"station-{st.id}", {zone_of(st.district): 1.0}, st.altitude_m)


class WeatherStations:
    def __init__(self, world: World, stations: tuple[Station, ...] | None = None):
        self.world = world
        self.stations = stations or weather_stations()
        self.places = [rain_place(s) for s in self.stations]
        self.every = Every(PERIOD)

    def tick(self, now: SimTime) -> list[Message]:
        return [m for slot in self.every.due(now.elapsed) for m in self.documents(now, slot)]

    def documents(self, now: SimTime, slot: timedelta) -> list[Message]:
        rain = self.world.rain
        amounts = rain.accumulations(self.places, slot)
        rates = rain.rates(self.places, np.array([slot.total_seconds() / 3600]))[:, 0]
        cyclone = cyclone_at(self.world.scenario.typhoon, slot.total_seconds() / 3600)
        when = iso_ms(now.stamp(slot))
        by_dataset: dict[str, list] = {}
        for st, acc, rate in zip(self.stations, amounts, rates, strict=True):
            air = air_at(st.id, st.altitude_m, st.lon, st.lat, self.world.clock, slot, float(rate), cyclone,
                         self.world.seed)
            by_dataset.setdefault(st.dataset or "O-A0001-001", []).append(self._station(st, when, acc["now"], air))
        return [Message(TOPIC, dumps({"success": "true", "result": {"resource_id": dataset, "fields": []},
                                      "records": {"Station": items}}))
                for dataset, items in sorted(by_dataset.items())]

    @staticmethod
    def _station(st: Station, when: str, today_mm: float, air) -> dict:
        element = {
            "Weather": air.weather,
            "Now": {"Precipitation": today_mm},
            "WindDirection": air.wind_dir_deg,
            "WindSpeed": air.wind_ms,
            "AirTemperature": air.temperature_c,
            "RelativeHumidity": air.humidity_pct,
            "AirPressure": air.pressure_hpa,
            "GustInfo": {"PeakGustSpeed": air.gust_ms,
                         "Occurred_at": {"WindDirection": air.wind_dir_deg, "DateTime": when}},
        }
        if st.dataset == "O-A0003-001":
            element.update({"VisibilityDescription": air.visibility, "UVIndex": air.uv_index})
        return {
            "StationName": st.name,
            "StationId": st.id,
            "ObsTime": {"DateTime": when},
            "GeoInfo": {
                "Coordinates": [{"CoordinateName": "WGS84", "CoordinateFormat": "decimal degrees",
                                 "StationLatitude": st.lat, "StationLongitude": st.lon}],
                "StationAltitude": f"{st.altitude_m:.1f}",
                "CountyName": st.county, "TownName": st.town, "CountyCode": "66000",
                "TownCode": st.district,
            },
            "WeatherElement": element,
        }
