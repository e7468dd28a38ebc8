"""CWA felt-earthquake reports (`cwa-quake`): an E-A0015-001 document a few scenario minutes
after each quake of the scenario, with the intensity at CWA's real seismic stations (Taichung
and the counties around) by the attenuation law of `quake_model`."""

from __future__ import annotations

from collections import defaultdict

from ingest.feeds._common import TAIPEI

from ..base import Message, SimTime, dumps, rng
from ..places import seismic_stations
from ..quake_model import LABELS, intensity_rank, pga_gal
from ..timeline import Quake
from ..weather_model import distance_km
from ..world import World

TOPIC = "ioc/v1/disaster/quake"
COLORS = ((7, "紅色"), (5, "橙色"), (4, "黃色"), (0, "綠色"))


def report_number(world: World, index: int, year: int) -> int:
    """ROC year + a 99x sequence: far above the year's real report numbers (114001, 114002, ...)."""
    return (year - 1911) * 1000 + 990 + index


class QuakeReports:
    def __init__(self, world: World):
        self.world = world
        self.pending = sorted(enumerate(world.scenario.quakes), key=lambda iq: iq[1].at_h)

    def tick(self, now: SimTime) -> list[Message]:
        out = []
        while self.pending and self.pending[0][1].at_h + self.pending[0][1].report_after_min / 60 <= now.hours:
            index, quake = self.pending.pop(0)
            out.append(self.report(now, index, quake))
        return out

    def report(self, now: SimTime, index: int, quake: Quake) -> Message:
        origin = now.stamp(quake.at_h).astimezone(TAIPEI)
        r = rng(self.world.seed, "quake", index)
        areas: dict[str, list] = defaultdict(list)
        for st in seismic_stations():
            pga = pga_gal(quake, st.lon, st.lat, r.gauss(0, 0.1))
            rank = intensity_rank(pga)
            if rank < 1:
                continue
            areas[st.county].append({
                "pga": {"unit": "gal", "IntScaleValue": round(pga, 2)},
                "pgv": {"unit": "kine", "IntScaleValue": round(pga / 5.0 if rank >= 5 else pga / 30.0, 2)},
                "StationName": st.name, "StationID": st.id, "InfoStatus": "observe",
                "EpicenterDistance": round(float(distance_km(quake.lon, quake.lat, st.lon, st.lat)), 2),
                "SeismicIntensity": LABELS[rank], "StationLatitude": st.lat, "StationLongitude": st.lon,
                "_rank": rank})
        shaking = []
        for county, stations in sorted(areas.items()):
            top = max(s["_rank"] for s in stations)
            for s in stations:
                del s["_rank"]
            shaking.append({"AreaDesc": f"{county}地區", "CountyName": county, "InfoStatus": "observe",
                            "AreaIntensity": LABELS[top], "EqStation": stations})
        top = max((LABELS.index(a["AreaIntensity"]) for a in shaking), default=0)
        color = next(c for rank, c in COLORS if top >= rank)
        where = quake.location.split("(位於")[-1].rstrip(")").strip() if "(位於" in quake.location else quake.location
        content = (f"{origin:%m/%d-%H:%M}{where}發生規模{quake.magnitude:.1f}有感地震，"
                   f"最大震度{LABELS[top]}。（演練模擬）")
        item = {
            "EarthquakeNo": report_number(self.world, index, origin.year), "ReportType": "地震報告",
            "ReportColor": color, "ReportContent": content,
            "ReportRemark": "本報告為 ioc simulate 演練模擬資料，非中央氣象署發布。", "Web": "https://scweb.cwa.gov.tw/",
            "EarthquakeInfo": {
                "OriginTime": f"{origin:%Y-%m-%d %H:%M:%S}", "Source": "中央氣象署（演練模擬）",
                "FocalDepth": quake.depth_km,
                "Epicenter": {"Location": quake.location, "EpicenterLatitude": quake.lat,
                              "EpicenterLongitude": quake.lon},
                "EarthquakeMagnitude": {"MagnitudeType": "芮氏規模", "MagnitudeValue": quake.magnitude},
            },
            "Intensity": {"ShakingArea": shaking},
        }
        return Message(TOPIC, dumps({"success": "true",
                                     "result": {"resource_id": "E-A0015-001", "fields": []},
                                     "records": {"datasetDescription": "地震報告", "Earthquake": [item]}}))
