"""Escalation notifications: an MQTT message on `ioc/v1/notify/escalations`, an e-mail (SMTP)
to the agency's and the coordinators' recipients, and a webhook, each where configured.

Notifications go through an outbox (`ops_notification`): `enqueue_escalation` writes one row per
channel in the escalation's own transaction, and `deliver_due` sends the rows that are due,
retrying failures with growing delays and giving up (logged, kept) after MAX_ATTEMPTS. A channel
that is down is never fatal and never blocks the others.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timezone
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import psycopg
import yaml
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ioc import settings
from schemas import path as schema_path

from . import agencies

log = logging.getLogger(__name__)

TOPIC = "ioc/v1/notify/escalations"
MAX_ATTEMPTS = 8
DELAYS_S = (5, 15, 45, 120, 300, 600, 900)  # after the 1st, 2nd, ... failed attempt
LEASE_S = 120  # a row being sent is not picked up by another runner for this long
TIMEOUT_S = 10


class NotifyError(Exception):
    pass


# -- pure parts ----------------------------------------------------------------------------------
def retry_delay(attempts: int) -> int:
    """Seconds to wait after `attempts` failed attempts."""
    return DELAYS_S[min(max(attempts, 1), len(DELAYS_S)) - 1]


def escalation_payload(task: dict) -> dict:
    """The message every channel carries (schemas/messages/notify-escalation.schema.json)."""
    agency = agencies.agency(task["agency"]) or {}

    def iso(value):
        return value.astimezone(timezone.utc).isoformat() if value else None

    return {
        "type": "task.escalated", "task_id": task["id"], "title": task["title"], "agency": task["agency"],
        "agency_name_zh": agency.get("name_zh"), "agency_name_en": agency.get("name_en"),
        "priority": task["priority"], "level": task["level"], "drill": task["drill"],
        "source": task["source"], "source_ref": task["source_ref"], "lon": task["lon"], "lat": task["lat"],
        "created_at": iso(task["created_at"]), "ack_deadline": iso(task["ack_deadline"]),
        "escalated_at": iso(task["escalated_at"]),
    }


def recipients_for(agency: str, contacts: dict) -> list[str]:
    """The agency's recipients and those who receive every escalation, once each, in order."""
    found = list(contacts.get("always") or []) + list((contacts.get("agencies") or {}).get(agency) or [])
    return list(dict.fromkeys(str(a).strip() for a in found if str(a).strip() and "@" in str(a)))


def email_message(payload: dict, recipients: list[str], sender: str) -> EmailMessage:
    drill = "[演習 DRILL] " if payload["drill"] else ""
    msg = EmailMessage()
    msg["Subject"] = (f"{drill}[逾時未確認 ESCALATION] #{payload['task_id']} {payload['agency_name_zh'] or payload['agency']}"
                      f" P{payload['priority']}: {payload['title']}")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = make_msgid(domain="ioc.local")
    msg.set_content(
        f"{drill}任務未於期限內確認，已升級通報。\n"
        f"The task below was not acknowledged by its deadline and has been escalated.\n\n"
        f"任務 Task: #{payload['task_id']} {payload['title']}\n"
        f"機關 Agency: {payload['agency_name_zh'] or ''} {payload['agency_name_en'] or ''} ({payload['agency']})\n"
        f"優先 Priority: {payload['priority']}\n"
        f"建立 Created: {payload['created_at']}\n"
        f"確認期限 Deadline: {payload['ack_deadline']}\n"
        f"升級 Escalated: {payload['escalated_at']}\n"
        f"開設層級 Level: {payload['level']}\n")
    return msg


# -- configuration ----------------------------------------------------------------------------------
@cache
def _contacts_file(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise NotifyError(f"{path}: expected a mapping with `always` and `agencies`")
    return data


def contacts() -> dict:
    configured = settings.get("IOC_ESCALATION_CONTACTS")
    path = Path(configured) if configured else schema_path("escalation_contacts.yaml")
    try:
        return _contacts_file(str(path))
    except (OSError, yaml.YAMLError, NotifyError) as exc:
        log.error("escalation contacts unreadable (%s): no e-mail will be sent", exc)
        return {}


def webhook_url() -> str | None:
    url = settings.get("IOC_ESCALATION_WEBHOOK_URL")
    if not url:
        return None
    if urlsplit(url).scheme not in ("http", "https"):
        log.error("IOC_ESCALATION_WEBHOOK_URL must be an http(s) URL; webhook notifications are off")
        return None
    return url


def _public_target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


# -- the outbox ---------------------------------------------------------------------------------------
def enqueue_escalation(conn: psycopg.Connection, task: dict) -> int:
    """One outbox row per configured channel for this escalation (inside the caller's
    transaction). Returns how many."""
    payload = escalation_payload(task)
    rows = [("mqtt", TOPIC)]
    if settings.get("IOC_SMTP_HOST"):
        recipients = recipients_for(task["agency"], contacts())
        if recipients:
            rows.append(("email", ", ".join(recipients)))
        else:
            log.warning("no e-mail recipients for escalations of %s", task["agency"])
    url = webhook_url()
    if url:
        rows.append(("webhook", _public_target(url)))
    for channel, target in rows:
        conn.execute("INSERT INTO ops_notification (task_id, kind, channel, target, payload) "
                     "VALUES (%s, 'escalation', %s, %s, %s)", (task["id"], channel, target, Jsonb(payload)))
    return len(rows)


def _claim(conn: psycopg.Connection, limit: int) -> list[dict]:
    """Rows due now, leased to this runner (another runner skips them until the lease ends)."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """UPDATE ops_notification SET attempts = attempts + 1,
                      next_attempt_at = now() + make_interval(secs => %s)
                WHERE id IN (SELECT id FROM ops_notification WHERE status = 'pending' AND next_attempt_at <= now()
                              ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id, task_id, channel, target, payload, attempts""", (LEASE_S, limit)).fetchall()


def _send(row: dict, mqtt_url: str | None, publisher_cache: dict) -> None:
    channel, payload = row["channel"], row["payload"]
    if channel == "mqtt":
        if not mqtt_url:
            raise NotifyError("no MQTT broker configured")
        publish_mqtt(mqtt_url, row["target"], payload, publisher_cache)
    elif channel == "email":
        send_email([a.strip() for a in row["target"].split(",") if a.strip()], payload)
    elif channel == "webhook":
        url = webhook_url()
        if not url:
            raise NotifyError("IOC_ESCALATION_WEBHOOK_URL is no longer set")
        post_webhook(url, payload)
    else:
        raise NotifyError(f"unknown channel {channel!r}")


def deliver_due(conn: psycopg.Connection, mqtt_url: str | None, *, limit: int = 50) -> dict:
    """Send what is due. Returns counts {sent, retry, failed}."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    publishers: dict = {}
    try:
        for row in _claim(conn, limit):
            try:
                _send(row, mqtt_url, publishers)
            except Exception as exc:  # noqa: BLE001 - any channel failure is retried, never fatal
                error = _describe(exc)
                final = row["attempts"] >= MAX_ATTEMPTS
                conn.execute(
                    "UPDATE ops_notification SET status = %s, last_error = %s, "
                    "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
                    ("failed" if final else "pending", error[:500], retry_delay(row["attempts"]), row["id"]))
                counts["failed" if final else "retry"] += 1
                (log.error if final else log.warning)(
                    "escalation notice for task %s by %s failed (attempt %d%s): %s", row["task_id"], row["channel"],
                    row["attempts"], ", giving up" if final else "", error)
                if row["channel"] == "mqtt":
                    _close(publishers)
                continue
            conn.execute("UPDATE ops_notification SET status = 'sent', sent_at = now(), last_error = NULL "
                         "WHERE id = %s", (row["id"],))
            counts["sent"] += 1
            log.info("escalation notice for task %s sent by %s", row["task_id"], row["channel"])
    finally:
        _close(publishers)
    return counts


def _describe(exc: Exception) -> str:
    """An error for the log and the outbox, without URLs (a webhook URL may carry a secret)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _close(publishers: dict) -> None:
    for publisher in publishers.values():
        try:
            publisher.close()
        except Exception:  # noqa: BLE001
            pass
    publishers.clear()


# -- channels ------------------------------------------------------------------------------------------
def publish_mqtt(url: str, topic: str, payload: dict, publishers: dict) -> None:
    from ioc.mqtt import Publisher

    publisher = publishers.get(url)
    if publisher is None:
        publisher = Publisher(url, client_id="", ca_file=settings.get("IOC_MQTT_CA_FILE"))
        publishers[url] = publisher
    info = publisher.publish(topic, orjson.dumps(payload), qos=1)
    info.wait_for_publish(timeout=TIMEOUT_S)
    if not info.is_published():
        raise NotifyError(f"the broker did not confirm the message on {topic}")


def send_email(recipients: list[str], payload: dict) -> None:
    host = settings.get("IOC_SMTP_HOST")
    if not host:
        raise NotifyError("IOC_SMTP_HOST is no longer set")
    port = settings.get_int("IOC_SMTP_PORT")
    mode = (settings.get("IOC_SMTP_TLS") or "auto").lower()
    message = email_message(payload, recipients, settings.get("IOC_SMTP_FROM"))
    context = ssl.create_default_context()
    if mode == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
    with smtp:
        smtp.ehlo()
        if mode == "starttls" or (mode == "auto" and smtp.has_extn("starttls")):
            smtp.starttls(context=context)
            smtp.ehlo()
        user = settings.get("IOC_SMTP_USER")
        if user:
            smtp.login(user, settings.get("IOC_SMTP_PASSWORD") or "")
        refused = smtp.send_message(message)
    if refused:
        raise NotifyError(f"refused recipients: {', '.join(sorted(refused))}")


class _HideWebhookUrl(logging.Filter):
    """httpx logs every request with its URL; a webhook URL may carry a secret: log its host only."""

    def filter(self, record: logging.LogRecord) -> bool:
        url = settings.get("IOC_ESCALATION_WEBHOOK_URL")
        if url:
            message = record.getMessage()
            if url in message:
                record.msg, record.args = message.replace(url, _public_target(url) + "/…"), ()
        return True


logging.getLogger("httpx").addFilter(_HideWebhookUrl())


def post_webhook(url: str, payload: dict) -> None:
    response = httpx.post(url, content=orjson.dumps(payload), timeout=TIMEOUT_S,
                          headers={"Content-Type": "application/json", "User-Agent": "taichung-ioc"})
    response.raise_for_status()


def notifications_for(conn: psycopg.Connection, task_id: int) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT channel, target, status, attempts, sent_at, last_error FROM ops_notification "
                           "WHERE task_id = %s ORDER BY id", (task_id,)).fetchall()
