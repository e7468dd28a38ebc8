"""Every feed's wall layer and tile, end to end: real recorded payloads (moved to the present,
because live ingest refuses data older than 14 days) and small generated messages for our own
JSON feeds are published to a real Mosquitto, stored by a real ingest worker in a real
TimescaleDB, and `dashboard.snapshot.build(db, as_of)` must show them; the same build at an
earlier `as_of` shows the older state (time travel), and a cancelled CAP alert disappears."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import orjson
import pytest

from dashboard.data import Database
from dashboard.snapshot import FAILED, build
from ingest.envelope import Envelope
from ingest.feeds import all_feeds
from ingest.feeds.sta import parse_document
from ingest.pipeline import process
from ingest.sink import Sink, all_tables
from ioc.mqtt import Publisher
from tests.support.stack import start_worker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
POI = Path(__file__).resolve().parents[2] / "geo" / "data" / "poi"
TAIPEI_OFFSET = timezone(timedelta(hours=8))
_TIME = re.compile(rb"(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")

# Taichung district codes (MOI TOWNCODE) used below.
BEITUN = "66000080"  # 北屯區
XITUN = "66000060"  # 西屯區
HEPING = "66000290"  # 和平區


# --- payloads ----------------------------------------------------------------------------------

def redate(payload: bytes, anchor: datetime, to: datetime) -> bytes:
    """The recorded payload with every ISO time in it moved by (to - anchor), written as it was
    (same separator, same offset); nothing else changes."""
    delta = timedelta(seconds=round((to - anchor).total_seconds()))

    def shift(m: re.Match) -> bytes:
        y, mo, d, sep, h, mi, s, frac, zone = m.groups()
        if zone is None:
            tz = TAIPEI_OFFSET  # CWA's times without an offset are Taiwan time
        elif zone == b"Z":
            tz = timezone.utc
        else:
            sign = 1 if zone[:1] == b"+" else -1
            digits = zone[1:].replace(b":", b"")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        moved = (datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz) + delta).astimezone(tz)
        return (moved.strftime("%Y-%m-%d").encode() + sep + moved.strftime("%H:%M:%S").encode()
                + (frac or b"") + (zone or b""))

    return _TIME.sub(shift, payload)


def fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def cap_cancel(identifier: str, original_sent: str, sent: datetime, sender: str = "weather@cwa.gov.tw") -> bytes:
    """A CAP 1.2 Cancel of an earlier alert (as the platform sends when a warning is lifted)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}_cancel</identifier>
  <sender>{sender}</sender>
  <sent>{sent.astimezone(TAIPEI_OFFSET).isoformat(timespec="seconds")}</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <references>{sender},{identifier},{original_sent}</references>
</alert>""".encode()


def cap_update(original: bytes, identifier: str, original_sent: datetime, sent: datetime,
               sender: str = "weather@cwa.gov.tw") -> bytes:
    """A CAP Update of a recorded alert: its text with a new identifier, sent time, msgType and
    <references> to the original, and the headline marked as updated."""
    text = original.decode()
    old_sent = re.search(r"<sent>([^<]+)</sent>", text).group(1)
    text = text.replace(f"<sent>{old_sent}</sent>", f"<sent>{sent.astimezone(TAIPEI_OFFSET).isoformat()}</sent>")
    text = re.sub(r"<identifier>[^<]+</identifier>", f"<identifier>{identifier}_update</identifier>", text, count=1)
    text = text.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
    reference = f"{sender},{identifier},{original_sent.astimezone(TAIPEI_OFFSET).isoformat()}"
    text = text.replace("<scope>Public</scope>", f"<scope>Public</scope>\n    <references>{reference}</references>")
    return text.replace("<headline>大雨特報</headline>", "<headline>大雨特報（更新）</headline>").encode()


def rain_message(when: datetime, stations: list[dict]) -> bytes:
    """O-A0002-001 in CWA's current `records.Station[]` shape."""
    def station(s):
        amounts = {"Now": s.get("now", 0), "Past10Min": 0, "Past1hr": s["h1"], "Past3hr": s["h3"], "Past6Hr": s["h3"],
                   "Past12hr": s["h24"], "Past24hr": s["h24"], "Past2days": s["h24"], "Past3days": s["h24"]}
        return {"StationName": s["name"], "StationId": s["id"],
                "ObsTime": {"DateTime": when.astimezone(TAIPEI_OFFSET).isoformat(timespec="seconds")},
                "GeoInfo": {"Coordinates": [{"CoordinateName": "WGS84", "StationLatitude": s["lat"],
                                             "StationLongitude": s["lon"]}],
                            "StationAltitude": "120", "CountyName": "臺中市", "TownName": s["town"]},
                "RainfallElement": {k: {"Precipitation": v} for k, v in amounts.items()}}
    return orjson.dumps({"success": "true", "records": {"Station": [station(s) for s in stations]}})


def sta_water_documents(base: str, thing_id: str, datastream_id: str, lon: float, lat: float,
                        readings: list[tuple[datetime, float]]) -> list[tuple[str, bytes]]:
    """A Civil IoT water-level station as SensorThings pages: (URL, body) as a poller fetches them."""
    thing = {"@iot.id": int(thing_id), "@iot.selfLink": f"{base}/Things({thing_id})", "name": "測試水位站",
             "description": "河川水位站", "properties": {"stationID": f"WRA-{thing_id}"},
             "Locations": [{"@iot.id": 1, "location": {"type": "Point", "coordinates": [lon, lat]}}],
             "Datastreams": [{"@iot.id": int(datastream_id), "@iot.selfLink": f"{base}/Datastreams({datastream_id})",
                              "name": "水位", "description": "河川水位",
                              "unitOfMeasurement": {"name": "公尺", "symbol": "m", "definition": "SI"},
                              "ObservedProperty": {"name": "水位"},
                              "observationType": "OM_Measurement"}]}
    observations = {"value": [{"@iot.id": i + 1, "phenomenonTime": when.isoformat(), "result": value}
                              for i, (when, value) in enumerate(readings)]}
    return [(f"{base}/Things?$expand=Locations,Datastreams/ObservedProperty", orjson.dumps({"value": [thing]})),
            (f"{base}/Datastreams({datastream_id})/Observations", orjson.dumps(observations))]


def store_polled_sta(db_url: str, documents: list[tuple[str, bytes]]) -> None:
    """SensorThings pages as the `sta` poller stores them: parsed with the URL they came from
    (which names the Datastream of an Observations page), then the same pipeline and sink as
    the worker."""
    feed = all_feeds()["sta"]
    sink = Sink(db_url, all_tables())
    try:
        items = []
        for url, body in documents:
            env = Envelope("http", url, body, datetime.now(timezone.utc))
            items.append((env, process(env, replace(feed, parse=partial(parse_document, url=url)))))
        report = sink.write(items)
        assert report.rejected == 0, items
    finally:
        sink.close()


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def worker(db, broker, tmp_path):
    proc = start_worker(db, broker, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture
def publisher(broker):
    pub = Publisher(broker.url("simulator"), "wall-layers-test")
    yield pub
    pub.close()


@pytest.fixture
def app_db(db):
    database = Database(db.url, max_size=3)
    yield database
    database.close()


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def snapshot_at(app_db, as_of: datetime) -> dict:
    snap = build(app_db, as_of)
    failed = [k for k, v in {**snap["layers"], **snap["tiles"]}.items() if v is FAILED]
    assert not failed, f"queries failed: {failed}"
    return snap


def stored(db, sql: str, n: int = 1, timeout: float = 15):
    return wait_until(lambda: (db.scalar(sql) or 0) >= n, timeout, message=sql)


# --- CAP ---------------------------------------------------------------------------------------

RAIN_CAP = "cap/tw_fifows_extremely-rain_202404230229.cap"  # Moderate 大雨特報, geocodes incl. Taichung
STORM_CAP = "cap/tw_cwa.gov.tw_thunderstorm_20240424044654_000.cap"  # Severe 雷雨即時訊息, Taichung townships
RAIN_SENT = datetime(2024, 4, 23, 2, 29, 35, tzinfo=TAIPEI_OFFSET)
STORM_SENT = datetime(2024, 4, 24, 4, 46, 54, tzinfo=TAIPEI_OFFSET)


def same_as_sql_function(db, alerts: dict, as_of: datetime) -> None:
    """The layer's bounded query agrees with cap_alerts_in_force(as_of), the CAP feed's rule."""
    expected = {r[0:3] for r in db.query(
        "SELECT DISTINCT sender, identifier, sent FROM cap_alerts_in_force(%s) WHERE districts <> '{}'", (as_of,))}
    assert {(a["sender"], a["identifier"], a["sent"]) for a in alerts["alerts"]} == expected


def test_cap_alerts_shade_districts_feed_the_ticker_and_travel_in_time(db, worker, publisher, app_db):
    t0 = now()
    rain_sent, storm_sent = t0 - timedelta(minutes=50), t0 - timedelta(minutes=20)
    rain_xml = redate(fixture(RAIN_CAP), RAIN_SENT, rain_sent)
    publisher.publish("ioc/v1/disaster/cap", rain_xml, wait=True)
    publisher.publish("ioc/v1/disaster/cap", redate(fixture(STORM_CAP), STORM_SENT, storm_sent), wait=True)
    stored(db, "SELECT count(*) FROM cap_alert", 2)

    snap = snapshot_at(app_db, t0)
    alerts = snap["layers"]["alerts"]
    assert [a["severity"] for a in alerts["alerts"]] == ["Severe", "Moderate"]  # most severe first
    storm, rain = alerts["alerts"]
    assert storm["identifier"] == "cwa.gov.tw_thunderstorm_20240424044654_000"
    assert {BEITUN, XITUN} <= set(storm["districts"]) and len(rain["districts"]) == 29
    assert alerts["districts"][BEITUN]["severity"] == "Severe"  # the worst alert covering it
    assert set(alerts["districts"][BEITUN]["alerts"]) == {storm["id"], rain["id"]}
    assert alerts["districts"]["66000220"]["severity"] == "Moderate"  # 大安區: the rain warning only
    assert alerts["data_time"] == storm_sent
    assert snap["tiles"]["alerts"] is alerts  # one query for the layer and the ticker
    same_as_sql_function(db, alerts, t0)

    # The map layer: Severe districts in the Severe trace, with hover naming the event.
    from dashboard.layers.alerts import CLASSES, patch
    updates = patch(alerts, "zh-TW")
    severe = updates[CLASSES.index("Severe")]
    assert severe["x"] and None in severe["x"]
    assert any("雷雨" in h and "雷雨即時訊息" in h for h in updates[-1]["text"])

    # Time travel: before either alert nothing; between them only the rain warning.
    assert snapshot_at(app_db, rain_sent - timedelta(minutes=1))["layers"]["alerts"]["alerts"] == []
    between = snapshot_at(app_db, storm_sent - timedelta(minutes=1))["layers"]["alerts"]
    assert [a["severity"] for a in between["alerts"]] == ["Moderate"]

    # An Update supersedes the rain warning: the update is in force, the original is not.
    updated_at = now() - timedelta(seconds=30)
    publisher.publish("ioc/v1/disaster/cap", cap_update(rain_xml, rain["identifier"], rain_sent, updated_at),
                      wait=True)
    # A Cancel lifts the storm alert: gone live, still there when looking back before it.
    cancelled_at = now()
    publisher.publish("ioc/v1/disaster/cap", cap_cancel(storm["identifier"], storm["sent"].astimezone(
        TAIPEI_OFFSET).isoformat(timespec="seconds"), cancelled_at), wait=True)
    stored(db, "SELECT count(*) FROM cap_alert", 4)
    after = snapshot_at(app_db, cancelled_at + timedelta(seconds=1))["layers"]["alerts"]
    assert [(a["identifier"], a["infos"][0]["headline"]) for a in after["alerts"]] == [
        (rain["identifier"] + "_update", "大雨特報（更新）")]
    assert {d["severity"] for d in after["districts"].values()} == {"Moderate"}
    same_as_sql_function(db, after, cancelled_at + timedelta(seconds=1))
    before = snapshot_at(app_db, cancelled_at - timedelta(seconds=1))["layers"]["alerts"]
    assert [a["identifier"] for a in before["alerts"]] == [storm["identifier"], rain["identifier"] + "_update"]
    same_as_sql_function(db, before, cancelled_at - timedelta(seconds=1))
    earlier = snapshot_at(app_db, updated_at - timedelta(seconds=1))["layers"]["alerts"]
    assert [a["identifier"] for a in earlier["alerts"]] == [storm["identifier"], rain["identifier"]]
    same_as_sql_function(db, earlier, updated_at - timedelta(seconds=1))


# --- weather: rain, stations, water, typhoon, quake ---------------------------------------------

LEGACY_RAIN = "cwa/O-A0002-001_legacy_cwbopendata_taichung_2022-03-10.json"
LEGACY_RAIN_TIME = datetime(2022, 3, 10, 23, 10, tzinfo=TAIPEI_OFFSET)
STATIONS = "cwa/O-A0001-001_taichung_2025-03-09.json"
STATIONS_TIME = datetime(2025, 3, 9, 9, 0, tzinfo=TAIPEI_OFFSET)
TYPHOON = "cwa/W-C0034-005_typhoon_RAGASA_2025-09-24.json"
TYPHOON_SENT = datetime(2025, 9, 24, 15, 40, 13, tzinfo=TAIPEI_OFFSET)
QUAKES = "cwa/E-A0015-001_3reports_2025-09_11.json"
LATEST_QUAKE = datetime(2025, 11, 12, 4, 26, 38, tzinfo=TAIPEI_OFFSET)


def test_weather_layers_and_the_rain_tile(db, worker, publisher, app_db):
    t0 = now()
    # Real gauges (legacy file) 30 minutes ago; two generated gauges in the current shape, first
    # dry, then (10 minutes ago) over CWA's levels: 豪雨 by 3 h, 大雨 by 1 h.
    publisher.publish("ioc/v1/weather/rain", redate(fixture(LEGACY_RAIN), LEGACY_RAIN_TIME, t0 - timedelta(minutes=30)),
                      wait=True)
    gauges = [dict(id="TST001", name="測試甲", lon=120.70, lat=24.20, town="北屯區", h1=0.0, h3=0.0, h24=1.0),
              dict(id="TST002", name="測試乙", lon=121.10, lat=24.25, town="和平區", h1=0.0, h3=0.0, h24=2.0)]
    earlier = t0 - timedelta(minutes=40)
    publisher.publish("ioc/v1/weather/rain", rain_message(earlier, gauges), wait=True)
    gauges[0].update(h1=45.5, h3=60.0, h24=70.0)
    gauges[1].update(h1=35.0, h3=120.0, h24=150.0)
    publisher.publish("ioc/v1/weather/rain", rain_message(t0 - timedelta(minutes=10), gauges), wait=True)
    publisher.publish("ioc/v1/weather/stations", redate(fixture(STATIONS), STATIONS_TIME, t0 - timedelta(minutes=5)),
                      wait=True)
    typhoon_sent = t0 - timedelta(hours=1)
    publisher.publish("ioc/v1/disaster/typhoon", redate(fixture(TYPHOON), TYPHOON_SENT, typhoon_sent), wait=True)
    quake_time = t0 - timedelta(hours=2)
    publisher.publish("ioc/v1/disaster/quake", redate(fixture(QUAKES), LATEST_QUAKE, quake_time), wait=True)
    stored(db, "SELECT count(*) FROM cwa_rain_reading WHERE station_id LIKE 'TST%'", 4)
    stored(db, "SELECT count(*) FROM cwa_station_reading")
    stored(db, "SELECT count(*) FROM cwa_typhoon")
    stored(db, "SELECT count(*) FROM cwa_quake_report", 3)

    # Water levels come from the SensorThings poller (pages fetched over HTTP).
    base = "https://sta.ci.taiwan.gov.tw/STA_WaterResource_v2/v1.0"
    readings = [(t0 - timedelta(minutes=m), level) for m, level in ((150, 3.0), (70, 3.1), (5, 3.9))]
    store_polled_sta(db.url, sta_water_documents(base, "901", "9011", 120.68, 24.15, readings))

    snap = snapshot_at(app_db, t0)
    rain = {r["station_id"]: r for r in snap["layers"]["rain"]["rows"]}
    assert len(rain) > 20  # the legacy file's Taichung gauges and ours
    assert rain["TST001"]["past_1h_mm"] == pytest.approx(45.5) and rain["TST001"]["level_zh"] == "大雨"
    assert rain["TST002"]["level_zh"] == "豪雨" and rain["TST002"]["district_code"] == HEPING
    weather = snap["tiles"]["weather"]
    assert weather["max_1h"]["station_id"] == "TST001"
    over = {o["id"]: o["stations"] for o in weather["over"]}
    assert over["heavy_rain"] >= 1 and over["extremely_heavy_rain"] >= 1
    # Back in time: the same gauges dry.
    past = {r["station_id"]: r for r in snapshot_at(app_db, t0 - timedelta(minutes=20))["layers"]["rain"]["rows"]}
    assert past["TST001"]["past_24h_mm"] == pytest.approx(1.0) and past["TST001"]["rank"] == 0
    assert "TST001" not in {r["station_id"] for r in
                            snapshot_at(app_db, t0 - timedelta(hours=2))["layers"]["rain"]["rows"]}

    stations = snap["layers"]["stations"]
    assert stations["rows"] and all(r["district_code"].startswith("66000") for r in stations["rows"])
    assert any(r["temperature_c"] is not None for r in stations["rows"])
    assert snapshot_at(app_db, t0 - timedelta(hours=2))["layers"]["stations"]["rows"] == []

    water = snap["layers"]["water"]["rows"]
    assert [(r["thing_id"], r["trend"]) for r in water] == [("901", "rising_fast")]
    assert water[0]["rate_m_h"] == pytest.approx((3.9 - 3.1) / (65 / 60), rel=0.01)
    assert snapshot_at(app_db, t0 - timedelta(minutes=30))["layers"]["water"]["rows"][0]["result"] == 3.1

    typhoon = snap["layers"]["typhoon"]
    ragasa = next(c for c in typhoon["cyclones"] if (c["name_en"] or "").upper() == "RAGASA")
    assert not ragasa["on_map"] and ragasa["distance_km"] > 200  # off the map: an arrow at its edge
    assert len(ragasa["track"]) >= 5 and len(ragasa["forecast"]) >= 2
    from dashboard.layers.typhoon import patch as typhoon_patch
    edge = typhoon_patch(typhoon, "zh-TW")[5]
    assert any("樺加沙" in text and "公里" in text for text in edge["text"])
    assert snapshot_at(app_db, typhoon_sent - timedelta(minutes=5))["layers"]["typhoon"]["cyclones"] == []

    quakes = snap["layers"]["quake"]["reports"]
    assert [q["time"] for q in quakes] == [quake_time]  # the other two reports are weeks older
    assert quakes[0]["taichung_rank"] == 3 and quakes[0]["stations"]
    assert snapshot_at(app_db, quake_time - timedelta(minutes=1))["layers"]["quake"]["reports"] == []


# --- shelters, cameras, road events, incidents, base stations -----------------------------------

def incident(id_: str, status: str, when: datetime, reported: datetime, priority: int = 1, **extra) -> bytes:
    times = {"reported": {}, "dispatched": {"dispatched_at": when},
             "on_scene": {"dispatched_at": reported + timedelta(minutes=1), "on_scene_at": when},
             "closed": {"dispatched_at": reported + timedelta(minutes=1), "on_scene_at": reported + timedelta(minutes=2),
                        "closed_at": when}}[status]
    return orjson.dumps({"id": id_, "category": "traffic_accident", "priority": priority, "status": status,
                         "reported_at": reported.isoformat(), "updated_at": when.isoformat(),
                         "lon": 120.68, "lat": 24.18, "unit": "第五分局", "notes": "<a href='x'>x</a>",
                         **{k: v.isoformat() for k, v in times.items()}, **extra})


def road_event(id_: str, kind: str, geometry: dict, start: datetime, updated: datetime, status: str = "active") -> bytes:
    return orjson.dumps({"id": id_, "kind": kind, "geometry": geometry, "road": "臺灣大道", "direction": "both",
                         "lanes_affected": 2, "start": start.isoformat(), "end": None, "status": status,
                         "description": "<b>測試</b>", "source": "臺中市政府交通局", "updated_at": updated.isoformat()})


def bts(id_: str, status: str, when: datetime) -> bytes:
    return orjson.dumps({"bts_id": id_, "operator": "中華電信", "technology": "4G", "lon": 120.66, "lat": 24.16,
                         "footprint": {"radius_m": 800}, "status": status, "time": when.isoformat()})


def test_operational_layers_and_the_incident_list(db, worker, publisher, app_db):
    t0 = now()
    publisher.publish("ioc/v1/disaster/shelter-list", (POI / "taichung_shelters_nfa_v9.csv").read_bytes(), wait=True)
    publisher.publish("ioc/v1/traffic/cctv-sites", (POI / "taichung_cctv_2023-11.csv").read_bytes(), wait=True)
    stored(db, "SELECT count(*) FROM shelter", 400)
    shelter_id = db.scalar("SELECT shelter_id FROM shelter WHERE district IS NOT NULL ORDER BY shelter_id LIMIT 1")
    capacity = db.scalar(f"SELECT capacity FROM shelter WHERE shelter_id = '{shelter_id}'")
    for minutes, occupancy, status in ((60, 10, "open"), (10, capacity, "full")):
        publisher.publish(f"ioc/v1/disaster/shelters/{shelter_id}", orjson.dumps({
            "shelter_id": shelter_id, "time": (t0 - timedelta(minutes=minutes)).isoformat(), "occupancy": occupancy,
            "status": status}), wait=True)

    line = {"type": "LineString", "coordinates": [[120.64, 24.16], [120.65, 24.165], [120.66, 24.17]]}
    publisher.publish("ioc/v1/traffic/events", road_event("EV-1", "closure", line, t0 - timedelta(hours=2),
                                                          t0 - timedelta(hours=2)), wait=True)
    publisher.publish("ioc/v1/traffic/events", road_event("EV-2", "accident", {"type": "Point", "coordinates": [
        120.70, 24.15]}, t0 - timedelta(minutes=50), t0 - timedelta(minutes=50)), wait=True)
    publisher.publish("ioc/v1/traffic/events", road_event("EV-2", "accident", {"type": "Point", "coordinates": [
        120.70, 24.15]}, t0 - timedelta(minutes=50), t0 - timedelta(minutes=15), status="cleared"), wait=True)

    reported = t0 - timedelta(minutes=40)
    for status, minutes in (("reported", 40), ("dispatched", 35), ("on_scene", 25)):
        publisher.publish("ioc/v1/police/incidents", incident("INC-1", status, t0 - timedelta(minutes=minutes),
                                                              reported), wait=True)
    publisher.publish("ioc/v1/police/incidents", incident("INC-OLD", "reported", t0 - timedelta(hours=30),
                                                          t0 - timedelta(hours=30), priority=3), wait=True)
    publisher.publish("ioc/v1/police/incidents", incident("INC-2", "closed", t0 - timedelta(minutes=5),
                                                          t0 - timedelta(minutes=20), priority=2), wait=True)

    publisher.publish("ioc/v1/telecom/bts/B1", bts("B1", "up", t0 - timedelta(minutes=12)), wait=True)
    publisher.publish("ioc/v1/telecom/bts/B1", bts("B1", "down", t0 - timedelta(minutes=7)), wait=True)
    publisher.publish("ioc/v1/telecom/bts/B2", bts("B2", "degraded", t0 - timedelta(minutes=9)), wait=True)
    publisher.publish("ioc/v1/telecom/bts/B2", bts("B2", "up", t0 - timedelta(minutes=2)), wait=True)
    publisher.publish("ioc/v1/telecom/bts/B3", bts("B3", "up", t0 - timedelta(minutes=1)), wait=True)
    stored(db, "SELECT count(*) FROM bts_status", 5)
    stored(db, "SELECT count(*) FROM incident_history", 5)
    stored(db, "SELECT count(*) FROM traffic_event_history", 3)
    stored(db, "SELECT count(*) FROM shelter_status", 2)
    stored(db, "SELECT count(*) FROM cctv_site", 100)

    snap = snapshot_at(app_db, t0)
    shelters = {r["shelter_id"]: r for r in snap["layers"]["shelters"]["rows"]}
    assert len(shelters) > 400
    assert shelters[shelter_id]["status"] == "full" and snap["layers"]["shelters"]["counts"]["full"] == 1
    assert snapshot_at(app_db, t0 - timedelta(minutes=30))["layers"]["shelters"]["counts"] == {
        "open": 1, "full": 0, "closed": 0}
    assert len(snap["layers"]["cctv"]["rows"]) > 100

    events = {r["id"]: r for r in snap["layers"]["events"]["rows"]}
    assert set(events) == {"EV-1"} and orjson.loads(events["EV-1"]["line"]) == line["coordinates"]
    back = {r["id"] for r in snapshot_at(app_db, t0 - timedelta(minutes=30))["layers"]["events"]["rows"]}
    assert back == {"EV-1", "EV-2"}  # the accident was cleared 15 minutes ago
    assert snapshot_at(app_db, t0 - timedelta(hours=3))["layers"]["events"]["rows"] == []

    incidents = snap["layers"]["incidents"]
    states = {r["id"]: r["status"] for r in incidents["rows"]}
    assert states == {"INC-1": "on_scene", "INC-2": "closed"}  # INC-OLD is older than 24 h
    assert incidents["open"] == 1 and incidents["by_priority"][1] == 1
    assert snap["tiles"]["incidents"] is incidents
    assert {r["id"]: r["status"] for r in
            snapshot_at(app_db, t0 - timedelta(minutes=30))["layers"]["incidents"]["rows"]} == {"INC-1": "dispatched"}

    down = {r["bts_id"]: r["status"] for r in snap["layers"]["bts"]["rows"]}
    assert down == {"B1": "down"}  # B2 recovered, B3 was never out
    assert {r["bts_id"]: r["status"] for r in snapshot_at(app_db, t0 - timedelta(minutes=5))["layers"]["bts"]["rows"]
            } == {"B1": "down", "B2": "degraded"}
    assert snapshot_at(app_db, t0 - timedelta(minutes=10))["layers"]["bts"]["rows"] == []  # B1 still up


# --- detectors ----------------------------------------------------------------------------------

def test_a_detector_registered_meanwhile_shows_at_its_first_reading(db, app_db):
    """Detector sites are kept between refreshes (they change rarely), but a site added or
    changed is read again at once: a new detector must not wait a minute to appear."""
    def add(vd_id: str, lon: float) -> None:
        t = now()
        db.query("INSERT INTO vd_site (vd_id, name, lon, lat, lanes, time) VALUES (%s, %s, %s, 24.15, 2, %s) "
                 "RETURNING vd_id", (vd_id, vd_id, lon, t))
        db.query("INSERT INTO vd_reading (time, vd_id, speed_kmh, volume, occupancy_pct, status) "
                 "VALUES (%s, %s, 42, 10, 5, 0) RETURNING vd_id", (t - timedelta(seconds=30), vd_id))

    def shown() -> list[str]:
        return snapshot_at(app_db, now())["layers"]["detectors"]["vd_id"]

    add("VD-KEPT-1", 120.68)
    assert shown() == ["VD-KEPT-1"]
    add("VD-KEPT-2", 120.69)
    assert shown() == ["VD-KEPT-1", "VD-KEPT-2"]  # not a minute later: at the next snapshot
