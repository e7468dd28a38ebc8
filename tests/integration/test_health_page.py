"""The operations side of issue 8 against a running dashboard: /healthz, the Prometheus /metrics
(bearer token or admin only) and the health page's dead letters: listed by feed and stage,
replayed after a fix (stored through today's pipeline and sink, marked, audited)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest

from dashboard import access
from tests.support.bad_inputs import incident_doc, vdlive_doc
from tests.support.dashboard import start_dashboard
from tests.support.users import add_user, sign_in

pytestmark = pytest.mark.integration
TOKEN = "metrics-token-for-the-test-0123456789"


@pytest.fixture(scope="module")
def running(stack, tmp_path_factory):
    db = stack.new_database()
    broker = stack.new_broker()
    users = {role: (f"h-{role}", add_user(db, f"h-{role}", role))
             for role in (access.DUTY_OFFICER, access.ADMIN, access.LEADERSHIP)}
    proc, base = start_dashboard(db, broker, tmp_path_factory.mktemp("dash") / "dashboard.log",
                                 IOC_METRICS_TOKEN=TOKEN)
    yield {"db": db, "base": base, "users": users, "proc": proc}
    proc.stop()
    broker.stop()


def client_for(running, role: str) -> httpx.Client:
    return sign_in(running["base"], *running["users"][role])


def callback(client: httpx.Client, base: str, outputs: list[str], inputs: dict, state: dict | None = None):
    """What Dash's renderer posts when `inputs` change (output keys as `id.property`)."""
    def deps(values):
        return [{"id": k.split(".")[0], "property": k.split(".")[1], "value": v} for k, v in (values or {}).items()]

    key = outputs[0] if len(outputs) == 1 else ".." + "...".join(outputs) + ".."
    out = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outputs]
    body = {"output": key, "outputs": out if len(out) > 1 else out[0], "inputs": deps(inputs),
            "state": deps(state), "changedPropIds": list(inputs)[:1]}
    return client.post("/_dash-update-component", content=json.dumps(body), headers={
        "Origin": base, "Content-Type": "application/json", "X-CSRFToken": client.cookies.get("_csrf_token") or ""})


def test_healthz_names_each_part(running):
    r = httpx.get(f"{running['base']}/healthz", timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["disk"] in ("ok", "low") and body["status"] in ("ok", "degraded")
    assert "/" not in r.text  # statuses only: no paths or sizes on a public route


def test_metrics_for_a_scraper_with_the_token_or_an_admin(running):
    db, base = running["db"], running["base"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    db.query("INSERT INTO feed_activity (time, feed, received, stored, rejected, last_data_at) VALUES "
             "(%s, 'tdx-vdlive', 7, 6, 1, %s) RETURNING 1", (now - timedelta(seconds=30), now - timedelta(seconds=90)))
    db.query("INSERT INTO dead_letter (feed, source, topic, stage, error, raw) VALUES "
             "('tdx-vdlive', 'mqtt', 'ioc/v1/traffic/vd/X', 'decode', 'not JSON', 'x') RETURNING 1")

    r = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'ioc_feed_received{feed="tdx-vdlive",window="1h"} 7.0' in text
    assert 'ioc_feed_stored{feed="tdx-vdlive",window="5m"} 6.0' in text
    assert 'ioc_feed_rejected{feed="tdx-vdlive",window="1h"} 1.0' in text
    assert 'ioc_feed_received{feed="cap",window="1h"} 0.0' in text  # every feed, silent ones too
    assert 'ioc_dead_letters_waiting{feed="tdx-vdlive"} 1.0' in text
    assert "ioc_database_up 1.0" in text and 'ioc_broker_reachable{state="ok"} 1.0' in text
    lag = next(line for line in text.splitlines() if line.startswith('ioc_feed_data_lag_seconds{feed="tdx-vdlive"}'))
    assert 80 < float(lag.split()[-1]) < 600
    assert "ioc_disk_free_bytes{" in text

    assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    anonymous = httpx.get(f"{base}/metrics")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    assert client_for(running, access.DUTY_OFFICER).get("/metrics").status_code == 403
    as_admin = client_for(running, access.ADMIN).get("/metrics")
    assert as_admin.status_code == 200 and 'ioc_feed_received{feed="tdx-vdlive",window="1h"} 7.0' in as_admin.text


def test_dead_letters_are_listed_and_replayed_after_a_fix(running):
    db, base = running["db"], running["base"]
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    fixed = orjson.dumps(vdlive_doc("VD-REPLAY", when))  # refused by a parser bug since fixed
    still_bad = b'{"VDID": "VD-STILL-BAD", "DataCollectTime": "not a time"}'
    from_http = orjson.dumps(incident_doc("INC-REPLAY", when))
    ids = [r[0] for r in db.query(
        "INSERT INTO dead_letter (feed, source, topic, stage, error, raw) VALUES "
        "('tdx-vdlive', 'mqtt', 'ioc/v1/traffic/vd/VD-REPLAY', 'normalise', 'internal error: KeyError', %s), "
        "('tdx-vdlive', 'mqtt', 'ioc/v1/traffic/vd/VD-STILL-BAD', 'validate', 'bad time', %s), "
        "('incident', 'http', 'https://110.example/incidents', 'normalise', 'internal error: TypeError', %s) "
        "RETURNING id", (fixed, still_bad, from_http))]
    officer = client_for(running, access.DUTY_OFFICER)

    listed = callback(officer, base, ["dl-table.data", "dl-table.selected_rows", "dl-count.children"],
                      {"dl-feed.value": "tdx-vdlive", "dl-stage.value": "normalise", "dl-range.value": "1h",
                       "dl-waiting.value": ["waiting"], "dl-version.data": 0},
                      {"health-params.data": {"lang": "en"}})
    assert listed.status_code == 200, listed.text
    rows = listed.json()["response"]["dl-table"]["data"]
    assert [r["id"] for r in rows] == [ids[0]] and rows[0]["error"] == "internal error: KeyError"

    raw = callback(officer, base, ["dl-raw.children"], {"dl-table.active_cell": {"row": 0, "column": 0,
                                                                                 "row_id": ids[1]}},
                   {"health-params.data": {"lang": "en"}})
    assert "VD-STILL-BAD" in raw.json()["response"]["dl-raw"]["children"]

    leader = client_for(running, access.LEADERSHIP)
    refused = callback(leader, base, ["dl-result.children", "dl-version.data"], {"dl-replay.n_clicks": 1},
                       {"dl-table.selected_row_ids": ids, "dl-version.data": 0, "health-params.data": {"lang": "en"}})
    assert refused.status_code == 403
    assert db.scalar("SELECT count(*) FROM dead_letter WHERE replayed_at IS NOT NULL") == 0

    done = callback(officer, base, ["dl-result.children", "dl-version.data"], {"dl-replay.n_clicks": 1},
                    {"dl-table.selected_row_ids": ids, "dl-version.data": 0, "health-params.data": {"lang": "en"}})
    assert done.status_code == 200, done.text
    assert done.json()["response"]["dl-version"]["data"] == 1
    assert "2 stored, 1 still refused" in json.dumps(done.json())
    assert db.scalar("SELECT count(*) FROM vd_reading WHERE vd_id = 'VD-REPLAY'") == 1
    assert db.scalar("SELECT count(*) FROM incident WHERE id = 'INC-REPLAY'") == 1
    replayed = dict(db.query("SELECT id, replayed_at IS NOT NULL FROM dead_letter WHERE id = ANY(%s)", (ids,)))
    assert replayed == {ids[0]: True, ids[1]: False, ids[2]: True}
    audit = db.query("SELECT actor, role, target, after->>'result' FROM audit_log WHERE action = 'dead_letter.replay' "
                     "ORDER BY id")
    name = running["users"][access.DUTY_OFFICER][0]
    assert audit == [(name, access.DUTY_OFFICER, f"dead_letter:{ids[0]}", "stored"),
                     (name, access.DUTY_OFFICER, f"dead_letter:{ids[1]}", "refused"),
                     (name, access.DUTY_OFFICER, f"dead_letter:{ids[2]}", "stored")]

    # Replaying again changes nothing: already replayed ones are skipped, the store is idempotent.
    again = callback(officer, base, ["dl-result.children", "dl-version.data"], {"dl-replay.n_clicks": 2},
                     {"dl-table.selected_row_ids": ids[:1], "dl-version.data": 1,
                      "health-params.data": {"lang": "en"}})
    assert "already replayed" in json.dumps(again.json())
    assert db.scalar("SELECT count(*) FROM vd_reading WHERE vd_id = 'VD-REPLAY'") == 1


def test_health_page_is_for_duty_officers_and_admins(running):
    page = client_for(running, access.LEADERSHIP).get("/health")
    assert page.status_code == 403
    assert client_for(running, access.DUTY_OFFICER).get("/health").status_code == 200
    system = callback(client_for(running, access.ADMIN), running["base"], ["health-system.children"],
                      {"health-tick.n_intervals": 1, "dl-version.data": 0}, {"health-params.data": {"lang": "en"}})
    assert system.status_code == 200
    text = json.dumps(system.json())
    assert '"data-part": "database"' in text and '"data-state": "ok"' in text
    assert "Disk space of the local services" in text and '"data-feed": "tdx-vdlive"' in text
