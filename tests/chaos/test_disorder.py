"""Issue 8, item 6: duplicates and disorder. A stateful property test (hypothesis
RuleBasedStateMachine) against the real pipeline, sink and database: detector readings,
incident updates and CAP alerts arrive in any order, late, replayed, several times in one batch
or across batches; after every commit the database equals a model of it: each reading and each
alert stored once, every incident update kept once in the history and the current-state table
holding the newest update of each incident, whatever the order of arrival."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from ingest.envelope import Envelope
from ingest.pipeline import Router, process
from ingest.sink import Sink, all_tables
from tests.chaos.harness import figures
from tests.support.bad_inputs import CAP_TOPIC, INCIDENT_TOPIC, VD_TOPIC, cap_xml, incident_doc, vdlive_doc

TABLES = ("vd_reading", "incident", "incident_history", "cap_alert", "cap_area", "cap_reference",
          "feed_activity", "dead_letter")


def vd_message(vd: int, minute: int, base: datetime) -> tuple[str, bytes]:
    # The content is a function of the key: a replay is the same message, as it is in life.
    vd_id = f"ORDER-VD-{vd}"
    return VD_TOPIC.format(id=vd_id), orjson.dumps(vdlive_doc(vd_id, base + timedelta(minutes=minute),
                                                              speed=20 + vd * 7 + minute))


def incident_message(incident: int, version: int, base: datetime) -> tuple[str, bytes]:
    doc = incident_doc(f"ORDER-INC-{incident}", base + timedelta(minutes=version),
                       priority=1 + (incident + version) % 3, notes=f"update {version}",
                       reported_at=(base - timedelta(minutes=30)).isoformat())
    return INCIDENT_TOPIC, orjson.dumps(doc)


def cap_message(alert: int, variant: int, base: datetime) -> tuple[str, bytes]:
    return CAP_TOPIC, cap_xml(f"ORDER-CAP-{alert}", base + timedelta(minutes=variant))


@pytest.mark.timeout(600)
def test_replays_reordering_and_late_messages_leave_the_model(stack, size):
    fig = figures("duplicates and disorder (stateful)")
    db = stack.new_database()
    sink = Sink(db.url, all_tables())
    router = Router()
    owner = psycopg.connect(db.owner_url, autocommit=True)
    base = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(second=0, microsecond=0)
    counts = {"examples": 0, "messages": 0, "batches": 0, "replays": 0}

    class Ingest(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            owner.execute("TRUNCATE " + ", ".join(TABLES))
            counts["examples"] += 1
            self.pending: list[tuple[str, bytes]] = []
            self.sent: list[tuple[str, bytes]] = []
            self.readings: dict[tuple[str, datetime], float] = {}
            self.incidents: dict[str, dict[int, str]] = {}  # id -> version -> notes
            self.alerts: set[tuple[str, datetime]] = set()
            self.model_pending: list = []

        def _send(self, message, model_update):
            self.pending.append(message)
            self.sent.append(message)
            self.model_pending.append(model_update)

        @rule(vd=st.integers(0, 3), minute=st.integers(0, 30))
        def reading(self, vd, minute):
            key = (f"ORDER-VD-{vd}", base + timedelta(minutes=minute))
            self._send(vd_message(vd, minute, base), ("vd", key, 20 + vd * 7 + minute))

        @rule(incident=st.integers(0, 3), version=st.integers(0, 40))
        def incident_update(self, incident, version):
            self._send(incident_message(incident, version, base), ("inc", f"ORDER-INC-{incident}", version))

        @rule(alert=st.integers(0, 2), variant=st.integers(0, 5))
        def alert(self, alert, variant):
            self._send(cap_message(alert, variant, base),
                       ("cap", (f"ORDER-CAP-{alert}", base + timedelta(minutes=variant)), None))

        @precondition(lambda self: self.sent)
        @rule(data=st.data())
        def replay(self, data):
            """An earlier message again (a redelivery, a publisher's retry, a late copy)."""
            i = data.draw(st.integers(0, len(self.sent) - 1))
            self.pending.append(self.sent[i])
            counts["replays"] += 1

        @precondition(lambda self: self.pending)
        @rule(data=st.data())
        def commit(self, data):
            """The worker commits what it has, in whatever order it came."""
            batch = data.draw(st.permutations(self.pending))
            now = datetime.now(timezone.utc)
            items = [(env, process(env, router.feed_for(env.topic)))
                     for env in (Envelope("mqtt", topic, payload, now, None) for topic, payload in batch)]
            report = sink.write(items)
            assert report.rejected == 0, [r for _, r in items if not hasattr(r, "rows")]
            counts["messages"] += len(batch)
            counts["batches"] += 1
            for kind, key, value in self.model_pending:
                if kind == "vd":
                    self.readings[key] = value
                elif kind == "inc":
                    self.incidents.setdefault(key, {})[value] = f"update {value}"
                else:
                    self.alerts.add(key)
            self.pending.clear()
            self.model_pending.clear()

        @invariant()
        def database_equals_model(self):
            if self.pending:
                return  # not committed yet: nothing to compare
            readings = {(vd, t): speed for vd, t, speed in
                        owner.execute("SELECT vd_id, time, speed_kmh FROM vd_reading").fetchall()}
            assert readings == pytest.approx(self.readings)
            history = owner.execute("SELECT id, updated_at, notes FROM incident_history").fetchall()
            assert len(history) == len({(i, t) for i, t, _ in history}), "an update stored twice"
            assert {(i, n) for i, _, n in history} == {(i, n) for i, vs in self.incidents.items()
                                                      for n in vs.values()}
            current = dict(owner.execute("SELECT id, notes FROM incident").fetchall())
            assert current == {i: f"update {max(vs)}" for i, vs in self.incidents.items()}, \
                "the current-state table does not hold the newest update"
            alerts = owner.execute("SELECT identifier, sent FROM cap_alert").fetchall()
            assert len(alerts) == len(set(alerts)), "an alert stored twice"
            assert set(alerts) == self.alerts

    examples = 60 if size.full else 25
    try:
        run_state_machine_as_test(Ingest, settings=settings(
            max_examples=examples, stateful_step_count=30, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        sink.close()
        owner.close()
        fig.note(f"{counts['examples']} runs, {counts['batches']} commits of {counts['messages']} messages "
                 f"({counts['replays']} replays); the database matched the model after every commit")
