"""Escalation notices: the message, the recipients, the e-mail and the retry schedule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema

from ioc.ops.notify import (DELAYS_S, MAX_ATTEMPTS, email_message, escalation_payload, recipients_for,
                            retry_delay)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/messages/notify-escalation.schema.json").read_text(encoding="utf-8"))
T0 = datetime(2025, 9, 24, 3, 0, tzinfo=timezone.utc)
TASK = {"id": 7, "title": "封閉地下道", "agency": "water", "priority": 1, "level": "level2", "drill": True,
        "source": "map", "source_ref": None, "lon": 120.68, "lat": 24.15, "created_at": T0,
        "ack_deadline": T0 + timedelta(minutes=10), "escalated_at": T0 + timedelta(minutes=10, seconds=2)}


def test_the_payload_follows_its_published_schema():
    payload = escalation_payload(TASK)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(payload)
    assert payload["agency_name_zh"] == "水利局" and payload["escalated_at"].endswith("+00:00")


def test_recipients_are_the_agencys_plus_everyone_always_once_each():
    contacts = {"always": ["desk@ioc.example", " "], "agencies": {"water": ["duty@water.example", "desk@ioc.example"],
                                                                  "fire": ["x@fire.example"]}}
    assert recipients_for("water", contacts) == ["desk@ioc.example", "duty@water.example"]
    assert recipients_for("police", contacts) == ["desk@ioc.example"]
    assert recipients_for("police", {}) == []
    assert recipients_for("fire", {"agencies": {"fire": ["not-an-address"]}}) == []


def test_the_email_says_drill_and_names_task_agency_and_deadline():
    msg = email_message(escalation_payload(TASK), ["a@x.example", "b@x.example"], "ioc@city.example")
    assert msg["Subject"].startswith("[演習 DRILL] [逾時未確認 ESCALATION] #7")
    assert msg["To"] == "a@x.example, b@x.example" and msg["From"] == "ioc@city.example"
    body = msg.get_content()
    assert "封閉地下道" in body and "水利局" in body and TASK["ack_deadline"].isoformat() in body


def test_retries_wait_longer_each_time_and_stop():
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 3)]
    assert delays == sorted(delays) and delays[0] == DELAYS_S[0] and delays[-1] == DELAYS_S[-1]
    assert sum(DELAYS_S[: MAX_ATTEMPTS - 1]) < 3600  # every attempt within the hour
