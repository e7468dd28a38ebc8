"""Screens share the live snapshot of their second, but only while it is fresh: a reading
committed after it was built must not wait a whole refresh on a screen that asks later."""

from __future__ import annotations

from datetime import datetime, timezone

from dashboard import snapshot as snapshots
from dashboard.data import TTLCache


def test_a_kept_value_refused_by_the_asker_is_computed_again_for_everyone():
    cache = TTLCache(ttl=60)
    made = []

    def make():
        made.append(len(made))
        return {"n": len(made)}

    first = cache.get("k", make)
    assert cache.get("k", make) is first  # kept
    second = cache.get("k", make, usable=lambda v: v is not first)
    assert second == {"n": 2} and made == [0, 1]
    assert cache.get("k", make) is second  # the new value replaced the old one
    assert cache.get("k", make, usable=lambda v: v is not first) is second


def test_requests_share_a_live_snapshot_only_while_it_is_fresh(monkeypatch):
    moment = (datetime(2026, 11, 27, 10, 0, 1, tzinfo=timezone.utc), None)
    clock = [1000.0]
    builds = []
    monkeypatch.setattr(snapshots, "_cache", TTLCache(ttl=60))
    monkeypatch.setattr(snapshots, "_live_key", lambda db: moment)
    monkeypatch.setattr(snapshots.time, "time", lambda: clock[0])
    monkeypatch.setattr(snapshots, "build", lambda db, as_of, live=False: builds.append(as_of) or {"as_of": as_of})
    a = snapshots.snapshot(None, None)
    clock[0] += snapshots.LIVE_SHARE_S / 2
    assert snapshots.snapshot(None, None) is a and len(builds) == 1  # another screen, moments later: shared
    clock[0] += snapshots.LIVE_SHARE_S  # later in the same second: what was committed meanwhile must show
    b = snapshots.snapshot(None, None)
    assert b is not a and b["key"] == a["key"] and len(builds) == 2
    clock[0] += snapshots.LIVE_SHARE_S * 2
    assert snapshots.snapshot(None, None, live_key=moment) is b  # a map draws what its panels showed
    assert len(builds) == 2


class _Db:
    def bound(self):
        import contextlib

        return contextlib.nullcontext()


def test_the_alarm_bar_reads_the_kept_snapshot_or_its_own_queries_but_never_builds_one(monkeypatch):
    moment = (datetime(2026, 11, 27, 10, 0, 1, tzinfo=timezone.utc), None)
    monkeypatch.setattr(snapshots, "_cache", TTLCache(ttl=60))
    monkeypatch.setattr(snapshots, "_live_key", lambda db: moment)
    monkeypatch.setattr(snapshots, "build", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    asked = []
    monkeypatch.setattr(snapshots, "_status",
                        lambda db, as_of: asked.append(as_of) or ([], [{"id": "a1"}], {"level": "level2"}))
    alarms, level = snapshots.live_status(_Db())
    assert (alarms, level, asked) == ([{"id": "a1"}], {"level": "level2"}, [moment[0]])
    assert snapshots._cache.peek(moment) is None  # nothing kept that a wall refresh could be handed
    snapshots._cache.get(moment, lambda: {"alarms": [], "level": {"level": "normal"}})
    assert snapshots.live_status(_Db()) == ([], {"level": "normal"}) and len(asked) == 1
