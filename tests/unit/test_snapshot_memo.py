"""A snapshot's queries run on several threads: a query many layers share still runs once."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from dashboard.data import shared, with_memo


def test_a_shared_query_runs_once_for_threads_asking_together():
    calls = []
    arrived = threading.Barrier(4)

    @shared
    def latest_readings(db, as_of):
        calls.append(threading.get_ident())
        time.sleep(0.05)  # long enough for the other threads to ask meanwhile
        return {"n": 2000}

    def build():
        results = []

        def ask():
            arrived.wait()
            results.append(latest_readings(None, None))

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(ask,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    assert with_memo(build) == [{"n": 2000}] * 4
    assert len(calls) == 1
    assert with_memo(build) == [{"n": 2000}] * 4 and len(calls) == 2  # a new snapshot asks again


def test_a_failing_shared_query_fails_alike_for_every_asker_and_runs_once():
    calls = []

    @shared
    def broken(db, as_of):
        calls.append(1)
        raise RuntimeError("relation missing")

    def build():
        for _ in range(2):
            with pytest.raises(RuntimeError, match="relation missing"):
                broken(None, None)

    with_memo(build)
    assert calls == [1]


def test_the_map_gets_the_panels_live_snapshot_again_without_asking_the_database(monkeypatch):
    from dashboard import snapshot as snapshots

    builds = []
    monkeypatch.setattr(snapshots, "build", lambda db, moment, live=False: builds.append(moment) or {"as_of": moment})

    class Database:  # which snapshot is current: the newest second and the last level switch
        def one(self, query):
            assert "ops_level_change" in query
            return {"time": None}

    class Unreachable:
        def one(self, query):
            raise AssertionError("asked the database again")

    panels = snapshots.snapshot(Database(), None)
    mapped = snapshots.snapshot(Unreachable(), None, live_key=panels["key"])
    assert mapped is panels and len(builds) == 1
