"""Every message of a calm hour parses with its feed's parser and passes the feed's live check, as
live ingest would run them (the typhoon and earthquake drills: test_simulate_timeline.py); a
calm summer day brings its heat advisory; the same seed gives the same messages; every place a
scenario names is real."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from ingest.feeds import all_feeds
from ingest.pipeline import Router
from ingest.simulate import scenarios
from ingest.simulate.base import ScenarioClock
from ingest.simulate.generators.cap import Alerts
from ingest.simulate.simulation import NOT_SIMULATED, Options, Simulation
from ingest.simulate.world import World

# What a calm day does not publish: no alert (but a summer heat advisory), no quake, no typhoon,
# no shelter open.
CALM_ABSENT = {"cap", "cwa-quake", "cwa-typhoon", "shelter-status"}


def run(scenario: str, hours: float, *, step_min: float = 2.0, seed: int = 7, start: datetime | None = None,
        speed: float | None = None) -> list:
    """(scenario hours, message) pairs for `hours` of a scenario, stepped every `step_min`
    scenario minutes; the run ends just before the real now, so no time is in the future."""
    if start is None:
        speed_used = speed or scenarios.get(scenario).default_speed
        start = datetime.now(timezone.utc) - timedelta(hours=hours) / speed_used - timedelta(seconds=2)
    sim = Simulation(Options(scenario=scenario, speed=speed, seed=seed, rate=2.0, bts_refresh_s=3600), start)
    out = []
    minute = 0.0
    while minute <= hours * 60:
        now = sim.clock.stamp(timedelta(minutes=minute))
        out.extend((minute / 60, m) for m in sim.step(now))
        minute += step_min
    return out


def parse_and_check(messages) -> tuple[Counter, list[str]]:
    """Per feed, how many records passed; and every failure, as live ingest would see it."""
    router = Router()
    passed: Counter = Counter()
    failures = []
    now = datetime.now(timezone.utc)
    for _, msg in messages:
        feed = router.feed_for(msg.topic)
        if feed is None:
            failures.append(f"no feed for topic {msg.topic}")
            continue
        if len(msg.payload) > feed.max_bytes:
            failures.append(f"{feed.name}: {len(msg.payload)} bytes, over {feed.max_bytes}")
        try:
            records = feed.parse_message(msg.topic, msg.payload) if feed.parse_message else feed.parse(msg.payload)
            if not records and not feed.empty_ok:
                failures.append(f"{feed.name}: no records in {msg.topic}")
            for record in records:
                feed.check(record)
                assert list(feed.to_rows(record, now))
                passed[feed.name] += 1
        except Exception as exc:  # noqa: BLE001 - collect every failure, show them together
            failures.append(f"{feed.name} {msg.topic}: {exc}")
    return passed, failures


def test_every_message_of_a_calm_hour_parses_and_passes_the_live_check():
    messages = run("normal", 1.0, speed=6.0)  # an hour in 10 real minutes, ending now
    passed, failures = parse_and_check(messages)
    assert not failures, "\n".join(failures[:20])
    expected = set(all_feeds()) - set(NOT_SIMULATED) - CALM_ABSENT
    assert expected <= set(passed) <= expected | {"cap"}  # a summer day may bring a heat advisory


def test_calm_summer_days_bring_heat_advisories():
    start = datetime(2025, 7, 15, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    world = World(scenarios.get("normal"), ScenarioClock(start, 3600.0), 7)
    alerts = Alerts(world)
    issued = [(minute / 60, m) for minute in range(0, 72 * 60, 10)
              for m in alerts.tick(world.clock.at_elapsed(timedelta(minutes=minute)))]
    assert 1 <= len(issued) <= 3  # at most one a day, on most summer days
    feed = Router().feed_for("ioc/v1/disaster/cap")
    for h, msg in issued:
        record = feed.parse(msg.payload)[0]
        assert record["event"] == "高溫" and record["msg_type"] == "Alert"
        assert 10.5 <= (8 + h) % 24 <= 11.0  # issued at 10:30 local
        # In force until 17:00 scenario time: 6.5 scenario hours, 6.5 real seconds at this speed.
        valid = datetime.fromisoformat(record["infos"][0]["expires"]) - datetime.fromisoformat(record["sent"])
        assert timedelta(seconds=5) <= valid <= timedelta(seconds=7)
        assert len(record["districts"]) == 24  # the plain and foothill districts


def test_a_seed_reproduces_a_run_and_another_seed_does_not():
    start = datetime.now(timezone.utc) - timedelta(minutes=10)
    first = [m.payload for _, m in run("typhoon", 6.0, step_min=10, start=start)
             if not m.topic.startswith(("ioc/v1/telecom", "ioc/v1/traffic/vd/"))]
    again = [m.payload for _, m in run("typhoon", 6.0, step_min=10, start=start)
             if not m.topic.startswith(("ioc/v1/telecom", "ioc/v1/traffic/vd/"))]
    other = [m.payload for _, m in run("typhoon", 6.0, step_min=10, start=start, seed=8)
             if not m.topic.startswith(("ioc/v1/telecom", "ioc/v1/traffic/vd/"))]
    assert first == again
    assert first != other


def test_every_place_a_scenario_names_is_real():
    from ingest.simulate.geography import village_area
    from ingest.simulate.places import district_code

    for scenario in scenarios.SCENARIOS.values():
        named = set()
        for series in scenario.alerts:
            for step in series.steps:
                for info in step.infos:
                    named |= set(info.districts)
                    for district, village in info.villages:
                        assert village_area(district, village).code.startswith(district_code(district))
        for wave in scenario.incidents:
            for case in wave.mix:
                named |= set(case.districts)
        if scenario.shelters:
            named |= set(scenario.shelters.districts)
        if scenario.outages:
            named |= set(scenario.outages.districts)
        for event in scenario.road_events:
            if isinstance(event.where, tuple) and isinstance(event.where[0], str):
                named.add(event.where[1])
        for name in named:
            district_code(name)  # KeyError for a name that is not a Taichung district
    assert len(set(scenarios.ALL_DISTRICTS)) == 29
