"""The alarm bar, on a timer of its own, never builds the live snapshot of a second: the wall's
refresh moments later would be handed it, without a reading committed in between."""

from __future__ import annotations

from datetime import datetime, timezone

from dashboard import snapshot as snapshots
from dashboard.data import TTLCache


def test_peek_gives_what_is_kept_and_computes_nothing():
    cache = TTLCache(ttl=60)
    assert cache.peek("k") is None
    value = cache.get("k", lambda: {"n": 1})
    assert cache.peek("k") is value
    assert TTLCache(ttl=0).peek("k") is None


class _Db:
    def bound(self):
        import contextlib

        return contextlib.nullcontext()


def test_the_alarm_bar_reads_the_kept_snapshot_or_its_own_queries_but_never_builds_one(monkeypatch):
    moment = (datetime(2026, 11, 27, 10, 0, 1, tzinfo=timezone.utc), None)
    monkeypatch.setattr(snapshots, "_cache", TTLCache(ttl=60))
    monkeypatch.setattr(snapshots, "_status_cache", TTLCache(ttl=60))
    monkeypatch.setattr(snapshots, "_live_key", lambda db: moment)
    monkeypatch.setattr(snapshots, "build", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    asked = []
    monkeypatch.setattr(snapshots, "_status",
                        lambda db, as_of: asked.append(as_of) or ([], [{"id": "a1"}], {"level": "level2"}))
    alarms, level = snapshots.live_status(_Db())
    assert (alarms, level, asked) == ([{"id": "a1"}], {"level": "level2"}, [moment[0]])
    assert snapshots._cache.peek(moment) is None  # nothing kept that a wall refresh could be handed
    assert snapshots.live_status(_Db()) == (alarms, level) and len(asked) == 1  # other pages: read once
    snapshots._cache.get(moment, lambda: {"alarms": [], "level": {"level": "normal"}})
    assert snapshots.live_status(_Db()) == ([], {"level": "normal"}) and len(asked) == 1
