"""A task not acknowledged by its deadline escalates once: the row is marked, the step recorded
and audited, and the notice goes out on a real broker, to a local mail server and to a local
webhook (which fails once, so the retry is exercised). A channel that is down never stops the
others."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import orjson
import pytest
from aiosmtpd.controller import Controller

from ioc.db import connect
from ioc.mqtt import client as mqtt_client
from ioc.ops import notify, tasks
from ioc.services.state import free_port
from tests.support.stack import ioc_env, start_ioc
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas/messages/notify-escalation.schema.json")
                    .read_text(encoding="utf-8"))
WEBHOOK_SECRET = "hook-secret-8d1f"


class Mailbox:
    def __init__(self):
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                               policy=email.policy.default)))
        return "250 OK"


class Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []
    failures_left = 1  # the first POST is answered 500: the notice must be retried

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        cls.received.append({"path": self.path, "type": self.headers["Content-Type"], "body": orjson.loads(body)})
        status = 500 if cls.failures_left > 0 else 200
        cls.failures_left -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def webhook():
    Webhook.received = []
    Webhook.failures_left = 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Webhook, server.server_address[1]
    server.shutdown()


@pytest.fixture
def notices(broker):
    """Every message on ioc/v1/notify/escalations, as a subscriber of the real broker sees it."""
    received: list[dict] = []
    c, address = mqtt_client(broker.url("dashboard"), "test-notify-listener")
    subscribed = threading.Event()
    c.on_connect = lambda cl, *_: cl.subscribe(notify.TOPIC, qos=1)
    c.on_subscribe = lambda *_: subscribed.set()
    c.on_message = lambda _c, _u, msg: received.append(orjson.loads(msg.payload))
    c.connect(address.host, address.port)
    c.loop_start()
    assert subscribed.wait(10)
    yield received
    c.loop_stop()
    c.disconnect()


def overdue_task(db, agency: str, title: str) -> int:
    with connect(db.url, autocommit=True) as conn:
        task = tasks.create_task(conn, tasks.NewTask(agency, title, 1, "map", None, 120.68, 24.15),
                                 actor="u-coordinator", role="coordinator")
    # Ten minutes pass (priority 1's deadline), without waiting ten minutes.
    with connect(db.owner_url, autocommit=True) as owner:
        owner.execute("UPDATE task SET ack_deadline = now() - interval '1 second', "
                      "created_at = now() - interval '10 minutes 1 second' WHERE id = %s", (task["id"],))
    return task["id"]


def test_a_missed_deadline_escalates_once_and_notifies_every_channel(db, broker, tmp_path, mailbox, webhook,
                                                                      notices):
    box, smtp_port = mailbox
    hook, hook_port = webhook
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text("always: [desk@ioc.example]\nagencies:\n  water: [duty@water.example]\n", encoding="utf-8")
    on_time = None
    with connect(db.url, autocommit=True) as conn:
        on_time = tasks.create_task(conn, tasks.NewTask("water", "not due yet", 3), actor="t", role="coordinator")
    task_id = overdue_task(db, "water", "封閉地下道 underpass closed")
    env = ioc_env(db, broker, IOC_SMTP_HOST="127.0.0.1", IOC_SMTP_PORT=str(smtp_port), IOC_SMTP_TLS="none",
                  IOC_SMTP_FROM="ioc@city.example", IOC_ESCALATION_CONTACTS=str(contacts),
                  IOC_ESCALATION_WEBHOOK_URL=f"http://127.0.0.1:{hook_port}/hooks/ioc?key={WEBHOOK_SECRET}")
    job = start_ioc(["jobs", "run", "--only", "escalation"], env, tmp_path / "jobs.log")
    try:
        wait_until(lambda: db.scalar("SELECT escalated_at FROM task WHERE id = %s", (task_id,)), 20,
                   message="task escalated")
        wait_until(lambda: notices, 15, message="MQTT notice")
        wait_until(lambda: box.messages, 15, message="e-mail")
        # The webhook failed once (500) and is retried after its delay.
        wait_until(lambda: len(hook.received) >= 2, 30, message="webhook retried")
        wait_until(lambda: db.scalar("SELECT count(*) FROM ops_notification WHERE task_id = %s AND status = 'sent'",
                                     (task_id,)) == 3, 15, message="all three notices sent")

        notice = notices[0]
        jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(notice)
        assert notice["task_id"] == task_id and notice["agency"] == "water" and notice["priority"] == 1
        recipients, mail = box.messages[0]
        assert sorted(recipients) == ["desk@ioc.example", "duty@water.example"]
        assert f"#{task_id}" in mail["Subject"] and "封閉地下道" in mail["Subject"]
        assert "水利局" in mail.get_content()
        assert all(r["body"]["task_id"] == task_id and r["type"] == "application/json" for r in hook.received)
        assert db.query("SELECT attempts, last_error FROM ops_notification WHERE task_id = %s AND channel = 'webhook'",
                        (task_id,))[0] == (2, None)

        # Once: a second task escalating later proves the job kept running past the first.
        sentinel = overdue_task(db, "police", "sentinel")
        wait_until(lambda: any(n["task_id"] == sentinel for n in notices), 20, message="sentinel notice")
        assert sum(1 for n in notices if n["task_id"] == task_id) == 1
        assert sum(1 for _, m in box.messages if f"#{task_id} " in m["Subject"]) == 1
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'task.escalate' AND target = %s "
                         "AND actor = 'system:escalation'", (f"task:{task_id}",)) == 1
        assert db.scalar("SELECT count(*) FROM task_event WHERE task_id = %s AND kind = 'escalated'", (task_id,)) == 1
        assert db.scalar("SELECT escalated_at FROM task WHERE id = %s", (on_time["id"],)) is None
        # The police have no e-mail recipients of their own: only the desk is told.
        wait_until(lambda: any(f"#{sentinel} " in m["Subject"] for _, m in box.messages), 15)
        assert next(r for r, m in box.messages if f"#{sentinel} " in m["Subject"]) == ["desk@ioc.example"]
    finally:
        job.stop()
    # The webhook's secret is neither stored nor logged.
    assert WEBHOOK_SECRET not in job.log()
    assert not db.scalar("SELECT count(*) FROM ops_notification WHERE target LIKE %s OR last_error LIKE %s",
                         (f"%{WEBHOOK_SECRET}%", f"%{WEBHOOK_SECRET}%"))
    # Escalated, the task can still be acknowledged; it stays marked escalated.
    with connect(db.url, autocommit=True) as conn:
        done = tasks.acknowledge(conn, task_id, agency="water", actor="water", role="agency")
    assert done["status"] == "acknowledged" and done["escalated_at"] is not None


def test_a_channel_that_is_down_is_retried_later_and_the_others_go_out(db, broker, notices, monkeypatch, tmp_path):
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text("always: [desk@ioc.example]\n", encoding="utf-8")
    monkeypatch.setenv("IOC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("IOC_SMTP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("IOC_SMTP_TLS", "none")
    monkeypatch.setenv("IOC_ESCALATION_CONTACTS", str(contacts))
    monkeypatch.delenv("IOC_ESCALATION_WEBHOOK_URL", raising=False)
    task_id = overdue_task(db, "fire", "pump failure")
    with connect(db.url, autocommit=True) as conn:
        escalated = tasks.escalate_overdue(conn, on_escalated=notify.enqueue_escalation)
        assert [t["id"] for t in escalated] == [task_id]
        assert tasks.escalate_overdue(conn, on_escalated=notify.enqueue_escalation) == []  # never twice
        counts = notify.deliver_due(conn, broker.url("ingest"))
        assert counts == {"sent": 1, "retry": 1, "failed": 0}
        assert notify.deliver_due(conn, broker.url("ingest")) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
    rows = dict((r[0], r[1:]) for r in db.query(
        "SELECT channel, status, attempts, last_error, next_attempt_at > now() FROM ops_notification "
        "WHERE task_id = %s", (task_id,)))
    assert rows["mqtt"][:2] == ("sent", 1)
    status, attempts, error, later = rows["email"]
    assert (status, attempts, later) == ("pending", 1, True) and "ConnectionRefusedError" in error
    wait_until(lambda: any(n["task_id"] == task_id for n in notices), 10)
