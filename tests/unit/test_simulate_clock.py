"""The scenario clock: scenario time runs `speed` times faster than real time, published times
are the real moments scenario instants map to, and rhythms fire once per slot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest.simulate.base import Every, ScenarioClock, arrivals, rng

START = datetime(2025, 9, 1, 0, 0, tzinfo=timezone.utc)


def test_scenario_time_runs_faster_and_stamps_are_real_time():
    clock = ScenarioClock(START, speed=60)
    now = clock.at_real(START + timedelta(seconds=90))
    assert now.elapsed == timedelta(minutes=90)
    assert now.hours == 1.5
    assert now.at == START + timedelta(seconds=90)  # what is published is the real moment
    assert now.stamp(1.0) == START + timedelta(seconds=60)
    assert now.local.hour == 9 and now.local.minute == 30  # scenario wall time, Taipei


def test_a_clock_needs_an_aware_start_and_a_positive_speed():
    with pytest.raises(ValueError):
        ScenarioClock(datetime(2025, 9, 1), 1.0)
    with pytest.raises(ValueError):
        ScenarioClock(START, 0)


def test_a_rhythm_fires_once_per_slot_and_does_not_flood_after_a_pause():
    every = Every(timedelta(minutes=10), max_catch_up=3)
    assert every.due(timedelta(minutes=0)) == [timedelta(0)]
    assert every.due(timedelta(minutes=5)) == []
    assert every.due(timedelta(minutes=21)) == [timedelta(minutes=10), timedelta(minutes=20)]
    assert every.due(timedelta(minutes=21)) == []
    # After a long pause only the last few slots come, not hours of stale data.
    assert every.due(timedelta(minutes=200)) == [timedelta(minutes=m) for m in (180, 190, 200)]


def test_arrivals_are_reproducible_and_about_the_rate():
    first = arrivals(rng(7, "calls", 3), 30.0, 3.0)
    assert first == arrivals(rng(7, "calls", 3), 30.0, 3.0)
    assert all(3.0 <= t < 4.0 for t in first)
    counts = [len(arrivals(rng(7, "calls", n), 30.0, float(n))) for n in range(200)]
    assert 27 < sum(counts) / len(counts) < 33
    assert arrivals(rng(7, "x"), 0.0, 0.0) == []
