"""Tasks: deadlines by priority and what a new task must carry (pure rules)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ioc.ops import agencies
from ioc.ops.tasks import NewTask, TaskError, ack_deadline, acknowledger, as_json, check_new

T0 = datetime(2025, 9, 24, 3, 0, tzinfo=timezone.utc)


def test_deadline_follows_the_agency_data_by_priority():
    for priority in (1, 2, 3):
        assert ack_deadline(T0, priority) == T0 + timedelta(minutes=agencies.ack_minutes(priority))
    assert ack_deadline(T0, 1) < ack_deadline(T0, 2) < ack_deadline(T0, 3)


@pytest.mark.parametrize("priority", [0, 4, None, "1", True])
def test_a_priority_outside_one_to_three_is_refused(priority):
    with pytest.raises(TaskError, match="priority"):
        check_new(NewTask("fire", "x", priority))


@pytest.mark.parametrize("new, message", [
    (NewTask("nobody", "x", 1), "unknown agency"),
    (NewTask("fire", "  ", 1), "title is required"),
    (NewTask("fire", "x" * 201, 1), "longer than 200"),
    (NewTask("fire", "a\x00b", 1), "NUL"),
    (NewTask("fire", "x", 1, source="rumour"), "source"),
    (NewTask("fire", "x", 1, source="alert"), "source reference is required"),
    (NewTask("fire", "x", 1, source="incident", source_ref=" "), "source reference is required"),
    (NewTask("fire", "x", 1, source="map"), "needs lon and lat"),
    (NewTask("fire", "x", 1, lon=120.6), "both lon and lat"),
    (NewTask("fire", "x", 1, lon=220.0, lat=24.1), "out of range"),
    (NewTask("fire", "x", 1, lon=float("nan"), lat=24.1), "out of range"),
])
def test_bad_tasks_are_refused_with_the_reason(new, message):
    with pytest.raises(TaskError, match=message):
        check_new(new)


def test_a_good_task_is_trimmed_and_kept():
    task = check_new(NewTask("water", "  清淤  ", 2, "map", None, "120.68", "24.15", " detail "))
    assert (task.title, task.detail, task.lon, task.lat) == ("清淤", "detail", 120.68, 24.15)


def test_every_agency_code_can_receive_tasks():
    for code in agencies.agency_codes():
        assert check_new(NewTask(code, "t", 3)).agency == code
    assert {"fire", "police", "traffic", "water", "construction", "social", "health", "environment"} <= \
        agencies.agency_codes()
    assert sum(1 for a in agencies.agencies() if a["kind"] == "district_office") == 29


def test_who_acknowledged_names_the_agency_and_the_person_if_given():
    assert acknowledger("fire", None) == "fire"
    assert acknowledger("fire", " 王小明 ") == "fire:王小明"
    with pytest.raises(TaskError):
        acknowledger("fire", "x" * 81)


def test_api_form_has_utc_times_and_measured_durations():
    task = {"id": 1, "created_at": T0, "acknowledged_at": T0 + timedelta(minutes=4), "closed_at": None,
            "escalated_at": None, "created_role": "coordinator", "status": "acknowledged"}
    out = as_json(task)
    assert out["created_at"] == "2025-09-24T03:00:00+00:00"
    assert out["seconds_to_acknowledge"] == 240 and out["seconds_to_close"] is None
    assert out["escalated"] is False and "created_role" not in out
