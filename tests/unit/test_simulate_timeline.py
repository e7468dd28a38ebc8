"""Every message of the typhoon and earthquake drills parses with its feed's parser, passes the
feed's live check and gives rows. And the drills tell their story: the typhoon's alerts are issued, updated and cancelled through
references, rain and rivers rise past warning levels and fall back, mountain base stations go
down and come back, shelters open and close, 110 calls run their lifecycle; the earthquake is
felt, alerted and answered around its epicentre."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from ingest.feeds import all_feeds
from ingest.feeds._cap_geo import geocode_coverage
from ingest.pipeline import Router
from ingest.simulate import scenarios
from ingest.simulate.places import district_code, shelters
from ingest.simulate.quake_model import district_intensities
from ingest.simulate.generators.bts import default_layout
from ingest.simulate.simulation import NOT_SIMULATED, Options, Simulation
from ingest.simulate.weather_model import distance_km

STEP_MIN = 5.0


class Drill(dict):
    """feed -> [(scenario hour, topic, record)] of a whole scenario, and every failure of a
    message to parse, pass the live check or give rows, as live ingest would meet it."""

    failures: list[str]


def _run(name: str, hours: float) -> Drill:
    speed = scenarios.get(name).default_speed
    start = datetime.now(timezone.utc) - timedelta(hours=hours) / speed - timedelta(seconds=2)
    sim = Simulation(Options(scenario=name, rate=1.0, bts_refresh_s=3600), start)
    router = Router()
    out = Drill()
    out.failures = []
    now = datetime.now(timezone.utc)
    minute = 0.0
    while minute <= hours * 60:
        for msg in sim.step(sim.clock.stamp(timedelta(minutes=minute))):
            feed = router.feed_for(msg.topic)
            if feed is None:
                out.failures.append(f"no feed for {msg.topic}")
                continue
            try:
                if len(msg.payload) > feed.max_bytes:
                    raise ValueError(f"{len(msg.payload)} bytes, over the feed's {feed.max_bytes}")
                parse = feed.parse_message or (lambda _topic, payload: feed.parse(payload))
                records = parse(msg.topic, msg.payload)
                if not records and not feed.empty_ok:
                    raise ValueError("no records")
                for record in records:
                    feed.check(record)
                    assert list(feed.to_rows(record, now))
            except Exception as exc:  # noqa: BLE001 - collect every failure, show them together
                out.failures.append(f"{feed.name} {msg.topic}: {exc}")
                continue
            out.setdefault(feed.name, []).extend((minute / 60, msg.topic, r) for r in records or [None])
        minute += STEP_MIN
    return out


@pytest.fixture(scope="module")
def typhoon():
    return _run("typhoon", 20.0)


@pytest.fixture(scope="module")
def earthquake():
    return _run("earthquake", 8.5)


def test_every_message_of_the_drills_parses_and_passes_the_live_check(typhoon, earthquake):
    for drill, absent in ((typhoon, {"cwa-quake"}), (earthquake, {"cwa-typhoon"})):
        assert not drill.failures, "\n".join(drill.failures[:20])
        assert set(drill) == set(all_feeds()) - set(NOT_SIMULATED) - absent


def _codes(names) -> set[str]:
    return {district_code(n) for n in names}


def test_typhoon_alerts_are_issued_updated_and_cancelled_through_references(typhoon):
    series = defaultdict(list)
    for _, _, rec in typhoon["cap"]:
        series[rec["identifier"].split("-")[1]].append(rec)
    assert set(series) == {"typhoon", "rain", "debris", "flood"}
    for messages in series.values():
        assert [m["msg_type"] for m in messages] == ["Alert"] + ["Update"] * (len(messages) - 2) + ["Cancel"]
        for i, msg in enumerate(messages):
            earlier = {(m["sender"], m["identifier"], m["sent"]) for m in messages[:i]}
            assert {(r["sender"], r["identifier"], r["sent"]) for r in msg["references"]} == earlier
            assert all(datetime.fromisoformat(m["sent"]) < datetime.fromisoformat(msg["sent"]) for m in messages[:i])
        assert messages[-1]["districts"] == []  # a Cancel covers nothing

    rain = series["rain"]
    assert set(rain[0]["districts"]) == _codes(scenarios.MOUNTAIN)
    assert rain[0]["infos"][0]["parameters"][1] == {"name": "severity_level", "value": "大雨"}
    peak = max(rain, key=lambda m: {"Moderate": 1, "Severe": 2, "Extreme": 3}.get(m["severity"] or "", 0))
    assert peak["severity"] == "Extreme"  # 大豪雨 for 和平 and 東勢
    assert len(series["typhoon"][0]["districts"]) == 29
    # Each area's polygon covers its own district only; its geocode says the same district.
    for info in rain[0]["infos"]:
        for area in info["areas"]:
            geocoded, _ = geocode_coverage("Taiwan_Geocode_103", area["geocodes"][0]["value"])
            assert set(area["districts"]) == geocoded and len(geocoded) == 1
    debris = series["debris"][0]
    assert set(debris["districts"]) <= _codes(("和平區", "東勢區", "新社區", "太平區"))
    assert len(debris["villages"]) == 12


def test_rain_and_rivers_rise_past_warning_levels_and_fall_back(typhoon):
    mountain, plain = _codes(scenarios.MOUNTAIN), _codes(scenarios.PLAIN)
    ranks = defaultdict(list)
    for h, _, rec in typhoon["cwa-rain"]:
        zone = "mountain" if rec["district_code"] in mountain else "plain" if rec["district_code"] in plain else "-"
        ranks[zone].append((h, rec["alert_rank"]))
    assert max(r for h, r in ranks["mountain"] if h < 2) == 0
    assert max(r for _, r in ranks["mountain"]) >= 3  # 大豪雨 in the mountains
    assert max(r for _, r in ranks["plain"]) >= 1  # 大雨 on the plain

    levels = {}
    readings = defaultdict(list)
    for _, _, rec in typhoon["sta"]:
        if rec["kind"] == "thing" and "warning_levels_m" in rec["properties"]:
            levels[rec["thing_id"]] = rec["properties"]["warning_levels_m"]
        if rec["kind"] == "observation" and rec["datastream_id"].endswith("-WL"):
            readings[rec["datastream_id"].removesuffix("-WL")].append(rec["result"])
    assert len(levels) == 13 and set(readings) == set(levels)
    past_level2 = [site for site, values in readings.items() if max(values) >= levels[site]["level2"]]
    past_level1 = [site for site, values in readings.items() if max(values) >= levels[site]["level1"]]
    assert len(past_level2) >= 7 and past_level1
    for site, values in readings.items():
        assert values[0] < levels[site]["level3"] and values[-1] < levels[site]["level3"]


def test_mountain_base_stations_go_down_and_come_back(typhoon):
    plan = scenarios.TYPHOON.outages
    layout = default_layout()
    district_of = dict(zip(layout["station_id"], layout["district_code"], strict=True))
    last: dict[str, str] = {}
    down = defaultdict(set)  # district -> stations that went down or degraded
    for h, _, rec in typhoon["bts"]:
        if rec["status"] != "up" and last.get(rec["bts_id"], "up") == "up":  # it goes down now
            down[district_of[rec["bts_id"]]].add(rec["bts_id"])
            assert plan.down_h[0] <= h <= plan.down_h[1] + STEP_MIN / 60
        last[rec["bts_id"]] = rec["status"]
    assert set(down) == _codes(plan.districts)  # the mountain districts, and only they
    heping = district_code("和平區")
    share = len(down[heping]) / sum(1 for d in district_of.values() if d == heping)
    assert 0.4 < share < 0.7  # the plan says 55 %
    assert all(status == "up" for status in last.values())  # every one came back


def test_shelters_open_fill_and_close(typhoon):
    by_shelter = defaultdict(list)
    for h, _, rec in typhoon["shelter-status"]:
        by_shelter[rec["shelter_id"]].append(rec)
    assert len(by_shelter) >= 10
    known = {s.id: s for s in shelters()}
    wanted = _codes(scenarios.TYPHOON.shelters.districts)
    for sid, updates in by_shelter.items():
        shelter = known[sid]
        assert shelter.district in wanted and {"水災", "土石流"} & set(shelter.disaster_types)
        assert updates[0]["status"] == "open" and updates[-1]["status"] == "closed"
        assert max(u["occupancy"] for u in updates) > 0
        assert all(u["occupancy"] <= shelter.capacity for u in updates)


def test_calls_run_their_lifecycle_and_roads_close_and_reopen(typhoon):
    order = ("reported", "dispatched", "on_scene", "closed")
    calls = defaultdict(list)
    for _, _, rec in typhoon["incident"]:
        calls[rec["id"]].append(rec)
    assert len(calls) > 60  # the baseline plus the storm's wave
    for updates in calls.values():
        statuses = [u["status"] for u in updates]
        assert statuses == list(order[:len(statuses)])
        assert [u["updated_at"] for u in updates] == sorted(u["updated_at"] for u in updates)
        assert updates[-1]["district"] is not None  # a real place in Taichung
    assert sum(1 for u in calls.values() if u[-1]["status"] == "closed") > 0.8 * len(calls)
    categories = {u[0]["category"] for u in calls.values()}
    assert {"rescue", "other", "traffic_accident"} <= categories

    events = defaultdict(list)
    for _, _, rec in typhoon["traffic-event"]:
        events[rec["id"]].append(rec)
    landslide = next(v for k, v in events.items() if k.endswith("t8-landslide-baileng"))
    assert landslide[0]["status"] == "active" and landslide[-1]["status"] == "cleared"
    assert landslide[0]["road"] == "台8線"
    closure = next(v for k, v in events.items() if k.endswith("t8-closure-baileng-guguan"))
    assert closure[0]["geometry"]["type"] == "LineString"
    assert sum(1 for v in events.values() if v[0]["kind"] == "flooding") >= 4


def test_the_typhoon_moves_past_and_is_no_longer_tracked(typhoon):
    tracks = [(h, rec) for h, _, rec in typhoon["cwa-typhoon"]]
    fixes = [rec for _, rec in tracks if rec is not None]
    assert len(fixes) == 18
    lons = [rec["position"]["coordinates"][0] for rec in fixes]
    assert lons == sorted(lons, reverse=True)  # westwards, across northern Taiwan
    assert all(f["kind"] in ("analysis", "forecast") for f in fixes[0]["fixes"])
    assert tracks[-1][1] is None  # then an empty dataset: no cyclone tracked


def test_the_earthquake_is_felt_alerted_and_answered_near_its_epicentre(earthquake):
    quake = scenarios.EARTHQUAKE.quakes[0]
    reports = [rec for _, _, rec in earthquake["cwa-quake"]]
    assert len(reports) == 2
    main = reports[0]
    # Observed at CWA's real stations (none right at 東勢): 5強 or more in Taichung.
    assert main["magnitude"] == quake.magnitude and main["taichung_intensity_rank"] >= 6
    assert main["report_color"] in ("橙色", "紅色")
    assert reports[1]["taichung_intensity_rank"] < main["taichung_intensity_rank"]  # the aftershock

    alerts = [rec for _, _, rec in earthquake["cap"] if rec["identifier"].startswith("SIM-quake1-")]
    felt = {code for code, rank in district_intensities(quake).items() if rank >= 4}
    assert [a["msg_type"] for a in alerts] == ["Alert", "Update"]
    assert set(alerts[0]["districts"]) == felt
    assert alerts[0]["severity"] == "Extreme"  # estimated 6弱 around 東勢

    down = [rec for _, _, rec in earthquake["bts"] if rec["status"] != "up"]
    assert len(down) > 100
    assert max(float(distance_km(quake.lon, quake.lat, r["lon"], r["lat"])) for r in down) <= 35.0

    opened = {rec["shelter_id"] for _, _, rec in earthquake["shelter-status"]}
    known = {s.id: s for s in shelters()}
    assert len(opened) >= 10
    assert all("震災" in known[s].disaster_types for s in opened)
    assert all(float(distance_km(quake.lon, quake.lat, known[s].lon, known[s].lat)) <= 25.0 for s in opened)

    calls = [rec for _, _, rec in earthquake["incident"] if rec["status"] == "reported"]
    near = [c for c in calls if float(distance_km(quake.lon, quake.lat, c["lon"], c["lat"])) <= 25.0]
    assert len(near) > len(calls) / 2
