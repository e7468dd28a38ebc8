"""CWA rain gauges (`cwa-rain`): one O-A0002-001 document every 10 scenario minutes in the
current shape (`records.Station[].RainfallElement.<window>.Precipitation`), for Taichung's 74
real gauges. Every window is recomputed from the rain field (see weather_model)."""

from __future__ import annotations

from datetime import timedelta

from ..base import Every, Message, SimTime, dumps, iso_ms
from ..places import Station, rain_gauges
from ..weather_model import RainPlace, zone_of
from ..world import World

TOPIC = "ioc/v1/weather/rain"
PERIOD = timedelta(minutes=10)
ELEMENTS = (("Now", "now"), ("Past10Min", "past_10min"), ("Past1hr", "past_1h"), ("Past3hr", "past_3h"),
            ("Past6hr", "past_6h"), ("Past12hr", "past_12h"), ("Past24hr", "past_24h"),
            ("Past2days", "past_2d"), ("Past3days", "past_3d"))


class RainGauges:
    def __init__(self, world: World, gauges: tuple[Station, ...] | None = None):
        self.world = world
        self.gauges = gauges or rain_gauges()
        self.places = [RainPlace(f"gauge-{g.id}", {zone_of(g.district): 1.0}, g.altitude_m) for g in self.gauges]
        self.every = Every(PERIOD)

    def tick(self, now: SimTime) -> list[Message]:
        return [self.document(now, slot) for slot in self.every.due(now.elapsed)]

    def document(self, now: SimTime, slot: timedelta) -> Message:
        when = iso_ms(now.stamp(slot))
        stations = []
        for g, acc in zip(self.gauges, self.world.rain.accumulations(self.places, slot), strict=True):
            stations.append({
                "StationName": g.name, "StationId": g.id, "ObsTime": {"DateTime": when},
                "GeoInfo": {"Coordinates": [{"CoordinateName": "WGS84", "CoordinateFormat": "decimal degrees",
                                             "StationLatitude": g.lat, "StationLongitude": g.lon}],
                            "StationAltitude": f"{g.altitude_m:.1f}", "CountyName": g.county,
                            "TownName": g.town, "CountyCode": "66000", "TownCode": g.district},
                "Maintainer": g.maintainer,
                "RainfallElement": {name: {"Precipitation": acc[key]} for name, key in ELEMENTS},
            })
        return Message(TOPIC, dumps({"success": "true", "result": {"resource_id": "O-A0002-001", "fields": []},
                                     "records": {"Station": stations}}))
