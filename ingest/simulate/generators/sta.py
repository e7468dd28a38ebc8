"""Civil IoT water level and rain (`sta`): SensorThings observations over MQTT, one message per
datastream every 10 scenario minutes on `v1.0/Datastreams('<id>')/Observations`, for the river
and rain sites of `data/sta_sites.csv`. The first message of a datastream, and one every
scenario hour, expands its Datastream and Thing (with Location and warning levels), so the
station list reaches the database the way an STA `$expand` would bring it."""

from __future__ import annotations

from datetime import timedelta

from ..base import Every, Message, SimTime, dumps, iso_ms, rng
from ..places import SensorSite, sensor_sites
from ..weather_model import RainPlace, river_rises
from ..world import World

PERIOD = timedelta(minutes=10)
METADATA_EVERY = timedelta(hours=1)
AUTHORITY = "經濟部水利署第三河川分署（模擬）"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
UNITS = {
    "water_level": ({"name": "metre", "symbol": "m",
                     "definition": "http://unitsofmeasure.org/ucum.html#para-30"}, "水位", "WaterLevel"),
    "rain": ({"name": "millimetre", "symbol": "mm",
              "definition": "http://unitsofmeasure.org/ucum.html#para-30"}, "10分鐘雨量", "Rainfall"),
}


def datastream_id(site: SensorSite) -> str:
    return f"{site.id}-{'WL' if site.kind == 'water_level' else 'RN10M'}"


def topic(site: SensorSite) -> str:
    return f"v1.0/Datastreams('{datastream_id(site)}')/Observations"


def _thing(site: SensorSite) -> dict:
    properties = {"authority": AUTHORITY, "stationCode": site.id, "river": site.river, "TOWNCODE": site.district,
                  "stationType": "水位站" if site.kind == "water_level" else "雨量站", "simulated": True}
    if site.warnings_m:
        level3, level2, level1 = site.warnings_m
        properties["warning_levels_m"] = {"level3": level3, "level2": level2, "level1": level1}
        properties["datum"] = "TWVD2001"
    return {"@iot.id": site.id, "name": site.name, "description": f"{site.river} {site.name}（演練模擬測站）",
            "properties": properties,
            "Locations": [{"@iot.id": f"{site.id}-loc", "name": site.name, "description": site.name,
                           "encodingType": "application/vnd.geo+json",
                           "location": {"type": "Point", "coordinates": [site.lon, site.lat]}}]}


def _datastream(site: SensorSite) -> dict:
    unit, name, prop = UNITS[site.kind]
    return {"@iot.id": datastream_id(site), "name": name, "description": f"{site.name} {name}",
            "unitOfMeasurement": unit, "observationType": MEASUREMENT,
            "ObservedProperty": {"name": prop, "description": name}, "Thing": _thing(site)}


class SensorThings:
    def __init__(self, world: World, sites: tuple[SensorSite, ...] | None = None):
        self.world = world
        self.sites = sites or sensor_sites()
        self.places = {s.id: RainPlace(f"sta-{s.id}", s.catchment, 0.0, local_factor=s.kind == "rain")
                       for s in self.sites}
        self.every = Every(PERIOD)
        self.metadata_sent: dict[str, timedelta] = {}

    def tick(self, now: SimTime) -> list[Message]:
        return [m for slot in self.every.due(now.elapsed) for m in self.observations(now, slot)]

    def values(self, slot: timedelta) -> list[float]:
        """Each site's reading at a slot: 10-minute rain (mm) or water level (m)."""
        places = [self.places[s.id] for s in self.sites]
        rain = self.world.rain.slot_amounts(places, slot, 1)[:, 0]
        rise = river_rises(self.world.rain, places, slot, [s.lag_h for s in self.sites],
                           [s.gain_m_per_mmh for s in self.sites])
        out = []
        for site, mm, metres in zip(self.sites, rain, rise, strict=True):
            if site.kind == "rain":
                out.append(round(float(mm), 1))
            else:
                ripple = rng(self.world.seed, "stage", site.id, int(slot.total_seconds() // 600)).gauss(0, 0.01)
                out.append(round(site.datum_m + float(metres) + ripple, 2))
        return out

    def observations(self, now: SimTime, slot: timedelta) -> list[Message]:
        when = iso_ms(now.stamp(slot))
        out = []
        for site, value in zip(self.sites, self.values(slot), strict=True):
            body = {"@iot.id": f"{datastream_id(site)}-{int(slot.total_seconds() // 600)}",
                    "phenomenonTime": when, "resultTime": when, "result": value}
            last = self.metadata_sent.get(site.id)
            if last is None or slot - last >= METADATA_EVERY:
                body["Datastream"] = _datastream(site)
                self.metadata_sent[site.id] = slot
            out.append(Message(topic(site), dumps(body)))
        return out
