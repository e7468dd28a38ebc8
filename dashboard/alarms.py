"""Alarms: what must not be missed on the wall — a new severe alert, an escalated task, a dead
feed. Each alarm has a stable id; it sounds and flashes until a duty officer acknowledges it."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from .data import Database

ACK_ROLES = frozenset({"duty_officer", "coordinator", "admin"})
ALERT_WINDOW = timedelta(hours=24)  # a severe alert alarms if it was issued within this window


def _severe_alerts(db: Database, as_of: datetime) -> list[dict]:
    """Severe and extreme alerts over Taichung in force, issued within ALERT_WINDOW (the same
    bounded reading the alerts layer does, shared within one snapshot)."""
    from .layers.alerts import alerts_in_force

    found = []
    for alert in alerts_in_force(db, as_of)["alerts"]:
        if alert["severity"] not in ("Extreme", "Severe") or alert["sent"] <= as_of - ALERT_WINDOW:
            continue
        info = next(iter(alert["infos"].values()), {})
        found.append({"id": f"cap:{alert['sender']}:{alert['identifier']}", "kind": "alert", "since": alert["sent"],
                      "severity": alert["severity"], "text": info.get("headline") or info.get("event")})
    return found[:20]


def _escalated_tasks(db: Database, as_of: datetime) -> list[dict]:
    """Tasks past their acknowledgement deadline (the tasks table may not exist yet)."""
    try:
        rows = db.rows(
            """SELECT id, title, agency, escalated_at FROM task
                WHERE escalated_at IS NOT NULL AND escalated_at <= %(as_of)s
                  AND escalated_at > %(since)s AND (acknowledged_at IS NULL OR acknowledged_at > %(as_of)s)
                ORDER BY escalated_at DESC LIMIT 20""",
            {"as_of": as_of, "since": as_of - timedelta(days=7)})
    except psycopg.errors.UndefinedTable:
        return []
    except psycopg.errors.UndefinedColumn:
        return []
    return [{"id": f"task:{r['id']}:escalated", "kind": "task", "since": r["escalated_at"],
             "severity": "Severe", "text": f"{r['agency']}: {r['title']}"} for r in rows]


def _dead_feeds(feeds: list[dict]) -> list[dict]:
    return [{"id": f"feed:{f['feed']}:{f['last_received'].isoformat()}", "kind": "feed", "since": f["last_received"],
             "severity": "Severe", "feed": f["feed"], "text": f["feed"]} for f in feeds if f["state"] == "dead"]


def current_alarms(db: Database, as_of: datetime, feeds: list[dict]) -> list[dict]:
    alarms = _severe_alerts(db, as_of) + _escalated_tasks(db, as_of) + _dead_feeds(feeds)
    if not alarms:
        return []
    acked = {r["alarm_id"]: r for r in db.rows(
        "SELECT alarm_id, acked_by, acked_at FROM wall_alarm_ack WHERE alarm_id = ANY(%(ids)s) "
        "AND acked_at <= %(as_of)s", {"ids": [a["id"] for a in alarms], "as_of": as_of})}
    for alarm in alarms:
        ack = acked.get(alarm["id"])
        alarm["acked_by"] = ack["acked_by"] if ack else None
        alarm["acked_at"] = ack["acked_at"] if ack else None
    return alarms


def acknowledge(conn: psycopg.Connection, alarm_ids: list[str], *, actor: str, role: str, ip: str | None) -> int:
    from .auth import audit

    with conn.transaction():
        done = 0
        for alarm_id in alarm_ids[:50]:
            inserted = conn.execute(
                "INSERT INTO wall_alarm_ack (alarm_id, acked_by, role) VALUES (%s, %s, %s) "
                "ON CONFLICT (alarm_id) DO NOTHING", (alarm_id[:300], actor, role)).rowcount
            if inserted:
                audit.record(conn, actor=actor, role=role, action="alarm.ack", target=alarm_id[:300], ip=ip)
                done += 1
    return done
