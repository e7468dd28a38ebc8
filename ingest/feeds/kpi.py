"""KPI measurements over MQTT (`kpi`): one measurement a message, validated exactly like a line
of `ioc kpi import` (ioc.kpi.measurements), stored in the `kpi_measurement` history.

Topics: `ioc/v1/kpi/<indicator>` (e.g. ioc/v1/kpi/I3) carries a measurement of that indicator,
whose payload must name the same indicator; `ioc/v1/kpi/project/<project>` carries the progress
of a special project (schemas/kpis.yaml `projects`). The contract is
`schemas/messages/kpi.schema.json`. The source is always `mqtt` (a publisher cannot pass its
message off as a form entry); `entered_by`, `note` and `recorded_at` are kept when given
(`recorded_at` defaults to the time the message was received). Anything refused is
dead-lettered with every reason.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ioc.kpi import (
    KPI_MEASUREMENT,
    PROJECT_MEASUREMENT,
    MeasurementError,
    load_definitions,
    parse_measurement_lines,
    parse_project_lines,
    to_project_row,
    to_row,
    validate_measurement,
    validate_project_measurement,
)

from ._common import MAX_FUTURE, parse_time
from .base import Feed, FeedError

TOPIC_ROOT = ("ioc", "v1", "kpi")
PROJECT_LEVEL = "project"
MAX_BYTES = 64 * 1024  # one measurement; an I7a with many parts is still a few hundred bytes


def _reasons(exc: MeasurementError) -> str:
    return "; ".join(p.message for p in exc.problems)


def _refusal(exc: MeasurementError) -> FeedError:
    undecodable = any(p.message.startswith(("not valid JSON", "not UTF-8")) for p in exc.problems)
    return FeedError("decode" if undecodable else "validate", _reasons(exc))


def _indicator_record(payload: bytes) -> dict:
    try:
        found = parse_measurement_lines([payload])
    except MeasurementError as exc:
        raise _refusal(exc) from None
    if not found:
        raise FeedError("decode", "empty payload: expected one measurement as a JSON object")
    return {"kind": "indicator", **found[0].to_json(), "source": "mqtt"}


def _project_record(payload: bytes) -> dict:
    try:
        found = parse_project_lines([payload])
    except MeasurementError as exc:
        raise _refusal(exc) from None
    if not found:
        raise FeedError("decode", "empty payload: expected one measurement as a JSON object")
    m = found[0]
    record = {"kind": "project", "project": m.project, "as_of": m.as_of.isoformat(), "value": m.value,
              "source": "mqtt", "entered_by": m.entered_by, "note": m.note,
              "recorded_at": None if m.recorded_at is None else m.recorded_at.isoformat()}
    return {k: v for k, v in record.items() if v is not None}


def _looks_like_project(payload: bytes) -> bool:
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return False  # the real parse says what is wrong with it
    return isinstance(doc, dict) and "project" in doc and "indicator" not in doc


def parse_kpi(payload: bytes) -> list[dict]:
    """One measurement (JSON object) without a topic: an indicator's, or a project's when it
    names a `project` and no `indicator`."""
    return [_project_record(payload) if _looks_like_project(payload) else _indicator_record(payload)]


def parse_kpi_message(topic: str, payload: bytes) -> list[dict]:
    """A measurement from its MQTT topic: the item named by the topic must be the payload's."""
    levels = topic.split("/")
    if tuple(levels[:3]) == TOPIC_ROOT and len(levels) == 5 and levels[3] == PROJECT_LEVEL:
        record = _project_record(payload)
        named, key = levels[4], "project"
    elif tuple(levels[:3]) == TOPIC_ROOT and len(levels) == 4:
        record = _indicator_record(payload)
        named, key = levels[3], "indicator"
    else:
        raise FeedError("route", f"not a KPI topic: {topic[:100]!r} (ioc/v1/kpi/<indicator> or "
                                 f"ioc/v1/kpi/project/<project>)")
    if record[key] != named:
        raise FeedError("validate", f"the topic names {key} {named[:40]!r} but the payload is for "
                                    f"{record[key]!r}")
    return [record]


def check_kpi(record: dict) -> None:
    """Live only: a recorded_at in the future is a clock or typing error (an old one is fine:
    a figure may be sent on long after it was recorded)."""
    if record.get("recorded_at"):
        moment = parse_time(record["recorded_at"], field="recorded_at")
        if moment > datetime.now(timezone.utc) + MAX_FUTURE:
            raise FeedError("validate", f"recorded_at {moment.isoformat()} is in the future")


def kpi_rows(record: dict, received_at: datetime):
    fields = {k: v for k, v in record.items() if k != "kind"}
    try:
        if record["kind"] == "project":
            yield to_project_row(validate_project_measurement(fields), received_at, source="mqtt")
        else:
            yield to_row(validate_measurement(fields), received_at, source="mqtt")
    except MeasurementError as exc:  # definitions changed between parse and write
        raise FeedError("validate", _reasons(exc)) from None


def _warm_definitions() -> None:
    load_definitions()  # a broken kpis.yaml fails the worker at start, not message by message


_warm_definitions()

KPI = Feed(
    name="kpi",
    description="績效指標量測 KPI measurements of the plan's nine indicators (ioc/v1/kpi/<indicator>) "
                "and progress of its special projects (ioc/v1/kpi/project/<project>): one JSON "
                "measurement a message, validated against schemas/kpis.yaml, kept as history. "
                "Figures come monthly or quarterly: silence is normal.",
    format="json",
    parse=parse_kpi,
    parse_message=parse_kpi_message,
    check=check_kpi,
    to_rows=kpi_rows,
    cadence=timedelta(days=31),
    topics=("ioc/v1/kpi/+", "ioc/v1/kpi/project/+"),
    tables=(KPI_MEASUREMENT, PROJECT_MEASUREMENT),
    schema="kpi.schema.json",
    max_bytes=MAX_BYTES,
    event_driven=True,
)
