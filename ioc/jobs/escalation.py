"""Escalation: every few seconds, tasks past their acknowledgement deadline and still not
acknowledged are marked escalated (once; recorded and audited) and their notifications queued
in the same transaction; then every notification that is due is sent (MQTT, e-mail, webhook),
failures retried later."""

from __future__ import annotations

import logging

from ioc.db import connect
from ioc.ops import notify, tasks

from . import Job, JobContext

log = logging.getLogger(__name__)


def _connection(ctx: JobContext):
    conn = ctx.state.get("conn")
    if conn is None or conn.closed or conn.broken:
        conn = connect(ctx.db_url, autocommit=True, application_name="ioc-escalation")
        ctx.state["conn"] = conn
    return conn


def run(ctx: JobContext) -> None:
    try:
        conn = _connection(ctx)
        escalated = tasks.escalate_overdue(conn, on_escalated=notify.enqueue_escalation)
        for task in escalated:
            log.warning("task %s (%s, P%s) escalated: not acknowledged by %s", task["id"], task["agency"],
                        task["priority"], task["ack_deadline"].isoformat())
        notify.deliver_due(conn, ctx.mqtt_url)
    except Exception:
        conn = ctx.state.pop("conn", None)  # a fresh connection next time
        if conn is not None:
            conn.close()
        raise


ESCALATION = Job("escalation", 3.0, run, "Escalate tasks not acknowledged in time; send their notifications.")
