"""The agencies' API against a running dashboard: bearer tokens, an agency's own tasks only,
acknowledgement races, progress and close, JSON only, the level; the OpenAPI document checked
route by route against the app; and the `ioc tasks` / `ioc level` commands recorded the same way."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from tests.support.dashboard import start_dashboard
from tests.support.stack import ioc_env

pytestmark = pytest.mark.integration
OPENAPI = yaml.safe_load((Path(__file__).resolve().parents[2] / "dashboard/api/openapi.yaml").read_text("utf-8"))


def ioc(running, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "ioc", *args], env=running["env"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def new_task(running, agency: str = "fire", priority: int = 2, lon: float | None = None,
             lat: float | None = None) -> int:
    """A task made the way the wall makes one (the CLI has its own test below)."""
    from ioc.db import connect
    from ioc.ops.tasks import NewTask, create_task

    with connect(running["db"].url, autocommit=True) as conn:
        task = create_task(conn, NewTask(agency, f"檢查 {agency}", priority, "map" if lon else "manual", None, lon, lat),
                           actor="u-coordinator", role="coordinator")
    return task["id"]


@pytest.fixture(scope="module")
def running(stack, tmp_path_factory):
    db = stack.new_database()
    broker = stack.new_broker()
    proc, base = start_dashboard(db, broker, tmp_path_factory.mktemp("dash") / "dashboard.log")
    state = {"db": db, "broker": broker, "base": base, "proc": proc, "env": ioc_env(db, broker)}
    state["tokens"] = {agency: ioc(state, "tokens", "create", "--agency", agency).split()[-1]
                       for agency in ("fire", "police")}
    yield state
    proc.stop()
    broker.stop()


def client(running, agency: str | None = "fire") -> httpx.Client:
    headers = {"Authorization": f"Bearer {running['tokens'][agency]}"} if agency else {}
    return httpx.Client(base_url=running["base"], headers=headers, timeout=15)


def post(c: httpx.Client, path: str, body: dict | None = None, **headers) -> httpx.Response:
    return c.post(path, content=json.dumps(body or {}), headers={"Content-Type": "application/json", **headers})


def status_of(running, task_id: int) -> str:
    return running["db"].scalar("SELECT status FROM task WHERE id = %s", (task_id,))


def documented_routes() -> list[tuple[str, str]]:
    return [(path, method.upper()) for path, item in OPENAPI["paths"].items() for method in item]


def concrete(path: str, task_id: int) -> str:
    return path.replace("{task_id}", str(task_id))


def validator(schema_ref: str):
    """A JSON Schema validator for a component of the OpenAPI document (3.1 = JSON Schema 2020-12)."""
    schema = {"$ref": schema_ref, "components": OPENAPI["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


# -- authentication ------------------------------------------------------------------------------------
def test_every_api_route_refuses_a_missing_or_wrong_token(running):
    task_id = new_task(running)
    anonymous = httpx.Client(base_url=running["base"], timeout=15)
    forged = httpx.Client(base_url=running["base"], headers={"Authorization": "Bearer not-a-real-token"}, timeout=15)
    basic = httpx.Client(base_url=running["base"], headers={"Authorization": "Basic Zm9vOmJhcg=="}, timeout=15)
    for path, method in documented_routes():
        url = concrete(path, task_id)
        for c in (anonymous, forged, basic):
            r = c.get(url) if method == "GET" else post(c, url, {"note": "x"})
            assert r.status_code == 401, (method, url, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer")
    assert status_of(running, task_id) == "created"
    assert running["db"].scalar("SELECT count(*) FROM audit_log WHERE action = 'api.refused'") > 0


def test_revoked_tokens_stop_working(running):
    token = ioc(running, "tokens", "create", "--agency", "health").split()[-1]
    c = httpx.Client(base_url=running["base"], headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert c.get("/api/v1/status").status_code == 200
    ioc(running, "tokens", "revoke", "--agency", "health")
    assert c.get("/api/v1/status").status_code == 401


def test_an_agency_sees_and_acts_on_its_own_tasks_only(running):
    mine, theirs = new_task(running, "fire"), new_task(running, "police")
    fire = client(running, "fire")
    listed = fire.get("/api/v1/tasks").json()
    assert listed["agency"] == "fire"
    ids = {t["id"] for t in listed["tasks"]}
    assert mine in ids and theirs not in ids
    assert all(t["agency"] == "fire" for t in listed["tasks"])
    assert fire.get(f"/api/v1/tasks/{theirs}").status_code == 404
    for step in ("ack", "progress", "close"):
        assert post(fire, f"/api/v1/tasks/{theirs}/{step}", {"note": "x"}).status_code == 404
    assert status_of(running, theirs) == "created"
    assert fire.get("/api/v1/tasks/999999").status_code == 404
    validator("#/components/schemas/Task").validate(listed["tasks"][0])


# -- acknowledgement -----------------------------------------------------------------------------------
def test_acknowledge_once_then_409_naming_who_and_when(running):
    task_id = new_task(running, "fire", 1)
    fire = client(running)
    first = post(fire, f"/api/v1/tasks/{task_id}/ack", {"by": "王小明"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "fire:王小明"
    assert body["seconds_to_acknowledge"] >= 0
    validator("#/components/schemas/Task").validate(body)
    again = post(fire, f"/api/v1/tasks/{task_id}/ack")
    assert again.status_code == 409
    assert again.json()["error"] == f"already acknowledged by fire:王小明 at {body['acknowledged_at']}"
    db = running["db"]
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'task.ack' AND target = %s AND actor = 'fire' "
                     "AND role = 'agency'", (f"task:{task_id}",)) == 1
    assert db.scalar("SELECT count(*) FROM task_event WHERE task_id = %s AND kind = 'acknowledged'", (task_id,)) == 1


def test_two_simultaneous_acknowledgements_exactly_one_wins(running):
    task_id = new_task(running, "fire", 1)
    people = [f"officer-{i}" for i in range(8)]
    barrier = threading.Barrier(len(people))
    answers: dict[str, httpx.Response] = {}

    def ack(person: str) -> None:
        with client(running) as c:
            barrier.wait()
            answers[person] = post(c, f"/api/v1/tasks/{task_id}/ack", {"by": person})

    threads = [threading.Thread(target=ack, args=(p,)) for p in people]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200] + [409] * (len(people) - 1), codes
    winner = next(p for p, r in answers.items() if r.status_code == 200)
    for person, r in answers.items():
        if r.status_code == 409:
            assert r.json()["error"].startswith(f"already acknowledged by fire:{winner} at ")
    assert running["db"].scalar("SELECT acknowledged_by FROM task WHERE id = %s", (task_id,)) == f"fire:{winner}"
    assert running["db"].scalar("SELECT count(*) FROM task_event WHERE task_id = %s AND kind = 'acknowledged'",
                                (task_id,)) == 1


def test_progress_and_close_follow_the_lifecycle(running):
    task_id = new_task(running, "fire", 2)
    fire = client(running)
    early = post(fire, f"/api/v1/tasks/{task_id}/progress", {"note": "on our way"})
    assert early.status_code == 409 and "acknowledge" in early.json()["error"]
    assert post(fire, f"/api/v1/tasks/{task_id}/ack").status_code == 200
    assert post(fire, f"/api/v1/tasks/{task_id}/progress", {}).status_code == 400  # a note is required
    r = post(fire, f"/api/v1/tasks/{task_id}/progress", {"note": "two crews on scene"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress" and r.json()["started_at"]
    assert post(fire, f"/api/v1/tasks/{task_id}/progress", {"note": "pumping"}).status_code == 200
    closed = post(fire, f"/api/v1/tasks/{task_id}/close", {"note": "water gone, road open"})
    assert closed.status_code == 200
    done = closed.json()
    assert done["status"] == "closed" and done["close_note"] == "water gone, road open"
    assert done["seconds_to_close"] >= done["seconds_to_acknowledge"] >= 0
    assert post(fire, f"/api/v1/tasks/{task_id}/close", {"note": "again"}).status_code == 409
    history = fire.get(f"/api/v1/tasks/{task_id}").json()
    assert [e["kind"] for e in history["events"]] == ["created", "acknowledged", "progress", "progress", "closed"]
    assert [e["note"] for e in history["events"] if e["kind"] == "progress"] == ["two crews on scene", "pumping"]
    assert fire.get("/api/v1/tasks", params={"status": "all"}).json()["tasks"]
    assert task_id not in {t["id"] for t in fire.get("/api/v1/tasks").json()["tasks"]}  # open only by default
    assert fire.get("/api/v1/tasks", params={"status": "bogus"}).status_code == 400
    assert running["db"].scalar("SELECT count(*) FROM audit_log WHERE target = %s AND actor = 'fire'",
                                (f"task:{task_id}",)) == 4  # ack, progress, progress, close


def test_state_changing_calls_take_json_only_and_refuse_other_sites(running):
    task_id = new_task(running, "fire")
    fire = client(running)
    url = f"/api/v1/tasks/{task_id}/ack"
    assert fire.post(url, content="{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert fire.post(url, data={"by": "form"}).status_code == 415
    assert fire.post(url).status_code == 415  # no content type at all
    assert post(fire, url, Origin="https://evil.example").status_code == 403
    assert post(fire, f"/api/v1/tasks/{task_id}/progress", ["not", "an", "object"]).status_code == 400
    assert fire.post(f"/api/v1/tasks/{task_id}/progress", content="{broken",
                     headers={"Content-Type": "application/json"}).status_code == 400
    assert status_of(running, task_id) == "created"
    assert post(fire, url, Origin=running["base"]).status_code == 200  # the agency page's own origin


# -- level and status --------------------------------------------------------------------------------------
def test_status_gives_the_level_set_by_the_command_line(running):
    fire = client(running)
    out = ioc(running, "level", "set", "level2", "--reason", "颱風警報 drill", "--drill")
    assert out.startswith("level level2 (drill) since ")
    status = fire.get("/api/v1/status").json()
    validator("#/components/schemas/Status").validate(status)
    assert status["level"] == "level2" and status["drill"] is True and status["since"]
    assert status["agency"] == "fire" and status["open_tasks"] >= 1
    db = running["db"]
    assert db.query("SELECT level, drill, reason, role FROM ops_level_change ORDER BY time DESC LIMIT 1")[0] == \
        ("level2", True, "颱風警報 drill", "cli")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'level.set' AND target = 'level2' "
                     "AND detail = '颱風警報 drill'") == 1
    # A task made now carries the level it was made at.
    task_id = int(ioc(running, "tasks", "create", "--agency", "water", "--title", "抽水", "--priority", "1",
                      "--lon", "120.68", "--lat", "24.15").split()[-1])
    assert db.query("SELECT level, drill, source, district FROM task WHERE id = %s", (task_id,))[0] == \
        ("level2", True, "map", "66000050")
    ioc(running, "level", "set", "normal", "--reason", "drill over")
    assert fire.get("/api/v1/status").json()["level"] == "normal"


def test_tasks_create_prints_the_id_last_and_is_recorded(running):
    out = ioc(running, "tasks", "create", "--agency", "traffic", "--title", "改道", "--priority", "3")
    task_id = int(out.split()[-1])
    db = running["db"]
    row = db.query("SELECT agency, title, priority, status, created_by, created_role, "
                   "ack_deadline - created_at FROM task WHERE id = %s", (task_id,))[0]
    assert row[:4] == ("traffic", "改道", 3, "created") and row[4].startswith("cli:") and row[5] == "cli"
    assert row[6].total_seconds() == 120 * 60  # priority 3's deadline from schemas/agencies.yaml
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'task.create' AND target = %s",
                     (f"task:{task_id}",)) == 1
    assert str(task_id) in ioc(running, "tasks", "list", "--agency", "traffic")
    assert "Situation report" in ioc(running, "sitrep", "--lang", "en")
    pdf = Path(running["env"]["IOC_HOME"]) / "sitrep.pdf"
    ioc(running, "sitrep", "--pdf", "-o", str(pdf))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    bad = subprocess.run([sys.executable, "-m", "ioc", "tasks", "create", "--agency", "fire", "--title", "x",
                          "--priority", "1", "--from-incident", "no-such-case"], env=running["env"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no incident 'no-such-case'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "ioc", "tasks", "create", "--agency", "martians", "--title", "x",
                          "--priority", "1"], env=running["env"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown agency" in bad.stderr


# -- the OpenAPI document against the app ------------------------------------------------------------------
def test_every_documented_route_exists_and_every_api_route_is_documented(running, tmp_path, monkeypatch):
    fire = client(running)
    served = fire.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    assert served.json() == OPENAPI
    task_id = new_task(running, "fire")
    for path, method in documented_routes():
        url = concrete(path, task_id)
        r = fire.get(url) if method == "GET" else post(fire, url, {"note": "checked by the OpenAPI test"})
        assert r.status_code not in (404, 405), (method, url, r.status_code)
        assert str(r.status_code) in OPENAPI["paths"][path][method.lower()]["responses"], (method, url, r.status_code)

    monkeypatch.setenv("IOC_HOME", str(tmp_path))
    from dashboard.app import create_app

    app = create_app(running["db"].url)
    routes = set()
    for rule in app.server.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            routes.update((path, m) for m in rule.methods - {"HEAD", "OPTIONS"})
    assert routes == set(documented_routes())


def test_the_agency_page_is_plain_and_scriptless_inline(running):
    r = httpx.get(f"{running['base']}/agency")
    assert r.status_code == 200
    assert '<script src="/assets/agency.js" defer></script>' in r.text
    assert "<script>" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert running["tokens"]["fire"] not in r.text


def test_the_situation_report_is_for_signed_in_people_not_wall_devices(running):
    from tests.support.users import add_user, sign_in

    base, db = running["base"], running["db"]
    leader = sign_in(base, "lead-1", add_user(db, "lead-1", "leadership"))
    page = leader.get("/ops/sitrep", params={"lang": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Situation report" in page.text and "default-src 'self'" in page.headers["content-security-policy"]
    pdf = leader.get("/ops/sitrep.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    wall = sign_in(base, "wall-9", add_user(db, "wall-9", "wall"))
    assert wall.get("/ops/sitrep").status_code == 403
    anonymous = httpx.get(f"{base}/ops/sitrep")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    assert httpx.get(f"{base}/ops").status_code == 302


def test_an_agency_checks_its_people_in_and_out(running):
    police = client(running, "police")
    status = police.get("/api/v1/staffing").json()
    validator("#/components/schemas/Staffing").validate(status)
    assert status["agency"] == "police" and status["present"] == []
    r = post(police, "/api/v1/staffing/checkin", {"person": "陳警員"})
    assert r.status_code == 200 and [p["person"] for p in r.json()["present"]] == ["陳警員"]
    assert post(police, "/api/v1/staffing/checkin", {"person": "陳警員"}).status_code == 409
    assert post(police, "/api/v1/staffing/checkin", {}).status_code == 400
    assert client(running, "fire").get("/api/v1/staffing").json()["present"] == []  # the fire bureau's own list
    assert post(client(running, "fire"), "/api/v1/staffing/checkout", {"person": "陳警員"}).status_code == 409
    r = post(police, "/api/v1/staffing/checkout", {"person": "陳警員"})
    assert r.status_code == 200 and r.json()["present"] == []
    db = running["db"]
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action IN ('staff.checkin', 'staff.checkout') "
                     "AND actor = 'police' AND target = 'police:陳警員'") == 2
