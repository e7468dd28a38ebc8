"""Disaster mode in Chromium: a coordinator raises the level on /ops and the wall (another
screen) follows within 2 seconds; a task dispatched on /ops is acknowledged through the agency
API and the board follows; a missed deadline escalates and shows on the wall; and the
simulator's typhoon scenario drives a drill end to end (alerts and incidents in, a task from an
alert, acknowledged on the agency page, the situation report)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ioc.db import connect
from ioc.ops import tasks
from tests.support.stack import ioc_env, start_ioc
from tests.support.users import add_user, sign_in_page
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/ioc-e2e-disaster")
FIRST_LOAD_MS = 40000  # a fresh dashboard's first page (cold caches, 2 shared cores)
UI_MS = 20000  # how long a busy test machine (2 shared cores) may take to show a change
OPS_TILE = "[id='{\"id\":\"ops-tasks\",\"type\":\"tile\"}']"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def choose(page, dropdown_id: str, text: str) -> None:
    """Pick an option of a Dash dropdown by its visible text."""
    page.click(f"#{dropdown_id}")
    page.locator("[role=listbox] [role=option]", has_text=text).first.click()


def context(browser, height: int = 1080):
    return browser.new_context(viewport={"width": 1920, "height": height}, locale="zh-TW", timezone_id="Asia/Taipei")


def token_for(db, broker, agency: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ioc", "tokens", "create", "--agency", agency],
                         env=ioc_env(db, broker), capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()[-1]


# Every wall refresh the browser asks for, when it asked (Date.now()) and what level came back.
RECORD_WALL_REFRESHES = """(() => {
    window.wallRefreshes = [];
    const send = window.fetch;
    window.fetch = function (url, options) {
        const body = options && typeof options.body === 'string' ? options.body : '';
        if (body.indexOf('wall-banner.children') < 0) return send.apply(this, arguments);
        const sent = Date.now();
        return send.apply(this, arguments).then(response => {
            response.clone().text().then(text => {
                const m = /"data-level":"(\\w+)"/.exec(text);
                window.wallRefreshes.push({sent: sent, level: m ? m[1] : null});
            });
            return response;
        });
    };
})();"""


def map_traces(page, group: str) -> list[dict]:
    return page.evaluate("""group => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .flatMap(gd => (gd.data || []).filter(t => t.legendgroup === group)
        .map(t => ({visible: t.visible === undefined ? true : t.visible, text: t.text || []})))""", group)


def board_cell(page, agency: str, column: str) -> str | None:
    cell = page.locator(f'#ops-board tr[data-agency="{agency}"] td[data-col="{column}"]')
    return cell.inner_text().strip() if cell.count() else None


def test_level_dispatch_acknowledgement_and_escalation(browser, db, broker, dashboard, tmp_path):
    coordinator_pw = add_user(db, "coord-1", "coordinator")
    wall_pw = add_user(db, "wall-1", "wall")
    wall_context = context(browser)
    wall_context.add_init_script(RECORD_WALL_REFRESHES)
    wall = wall_context.new_page()
    ops = context(browser, 1600).new_page()
    sign_in_page(wall, dashboard, "wall-1", wall_pw, "/wall")
    wall.wait_for_selector('#wall-banner [data-level="normal"]', timeout=FIRST_LOAD_MS)
    sign_in_page(ops, dashboard, "coord-1", coordinator_pw, "/ops")
    ops.wait_for_selector('#ops-banner [data-level="normal"]', timeout=FIRST_LOAD_MS)
    assert not wall.locator(OPS_TILE).count()  # the ops tiles belong to the activation levels

    # 1. The coordinator raises the level, with a reason and a confirmation; the wall follows.
    choose(ops, "ops-level-select", "二級開設")
    ops.fill("#ops-level-reason", "颱風警報：二級開設")
    ops.once("dialog", lambda dialog: dialog.accept())
    ops.click("#ops-level-apply")
    ops.wait_for_selector('#ops-level-feedback [data-level="level2"]', timeout=UI_MS)
    wall.wait_for_selector('#wall-banner [data-level="level2"]', timeout=UI_MS)
    switched_at, level, drill, reason, set_by, role = db.query(
        "SELECT time, level, drill, reason, set_by, role FROM ops_level_change ORDER BY time DESC LIMIT 1")[0]
    assert (level, drill, reason, set_by, role) == ("level2", False, "颱風警報：二級開設", "coord-1", "coordinator")
    # Every refresh the wall asked for after the switch (committed within a few ms) brought the
    # new level: the wall follows at its next refresh, every IOC_REFRESH_MS (<= 2 s).
    switched_ms = switched_at.timestamp() * 1000 + 200

    def refreshes_after_switch():
        return [r for r in wall.evaluate("() => window.wallRefreshes") if r["sent"] >= switched_ms]

    # The banner may have come with a refresh sent just before the switch; wait for one sent after.
    wait_until(refreshes_after_switch, UI_MS / 1000, message="a wall refresh sent after the switch")
    after = refreshes_after_switch()
    assert after and all(r["level"] == "level2" for r in after), after
    wall.wait_for_selector(OPS_TILE, timeout=UI_MS)  # the level's tiles and layers
    wait_until(lambda: map_traces(wall, "tasks") and all(t["visible"] is True for t in map_traces(wall, "tasks")),
               UI_MS / 1000, message="the tasks layer is on at level 2")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'level.set' AND actor = 'coord-1'") == 1
    shot(wall, "wall-level2")

    # 2. A task dispatched on /ops from a point clicked on the map.
    ops.locator("#ops-map").scroll_into_view_if_needed()
    box = ops.locator("#ops-map .nsewdrag").first.bounding_box()
    ops.mouse.click(box["x"] + box["width"] * 0.42, box["y"] + box["height"] * 0.55)
    wait_until(lambda: ops.input_value("#ops-task-lon") and ops.locator("#ops-task-source input[value=map]").is_checked(),
               UI_MS / 1000, message="the map click fills in the point")
    choose(ops, "ops-task-agency", "消防局")
    ops.get_by_label("優先 1（最急）").check()
    ops.fill("#ops-task-title", "地下道積水，請派抽水車")
    ops.click("#ops-task-create")
    ops.wait_for_selector("#ops-task-feedback [data-task-id]", timeout=UI_MS)
    task_id = int(ops.get_attribute("#ops-task-feedback [data-task-id]", "data-task-id"))
    row = db.query("SELECT agency, priority, source, lon IS NOT NULL, created_by FROM task WHERE id = %s", (task_id,))[0]
    assert row == ("fire", 1, "map", True, "coord-1")
    ops.wait_for_selector(f'#ops-open-tasks tr[data-task-id="{task_id}"][data-state="created"]', timeout=UI_MS)
    wait_until(lambda: board_cell(ops, "fire", "created") == "1", UI_MS / 1000, message="the board counts the new task")
    wait_until(lambda: any(f"#{task_id}" in t["text"] for t in map_traces(wall, "tasks")), UI_MS / 1000,
               message="the task on the wall's map")

    # 3. The fire bureau acknowledges through the API; the board follows.
    api = httpx.Client(base_url=dashboard, headers={"Authorization": f"Bearer {token_for(db, broker, 'fire')}"})
    assert api.post(f"/api/v1/tasks/{task_id}/ack", json={"by": "值班員"}).status_code == 200
    ops.wait_for_selector(f'#ops-open-tasks tr[data-task-id="{task_id}"][data-state="acknowledged"]', timeout=UI_MS)
    wait_until(lambda: board_cell(ops, "fire", "acknowledged") == "1" and board_cell(ops, "fire", "created") == "0",
               UI_MS / 1000,
               message="the board moves the task to acknowledged")
    assert board_cell(ops, "fire", "median_ack") != "—"  # time to acknowledge, measured
    shot(ops, "ops-after-ack")

    # 4. A task nobody acknowledges: past its deadline it escalates, on the wall and the board.
    with connect(db.url, autocommit=True) as conn:
        late = tasks.create_task(conn, tasks.NewTask("water", "抽水站未回報", 1, "map", None, 120.70, 24.13),
                                 actor="coord-1", role="coordinator")["id"]
    with connect(db.owner_url, autocommit=True) as owner:
        owner.execute("UPDATE task SET ack_deadline = now() - interval '1 second' WHERE id = %s", (late,))
    job = start_ioc(["jobs", "run", "--only", "escalation"], ioc_env(db, broker), tmp_path / "jobs.log")
    try:
        wall.wait_for_selector(f'{OPS_TILE}[data-escalated="1"] li[data-task-id="{late}"][data-state="escalated"]',
                               timeout=UI_MS)
        ops.wait_for_selector(f'#ops-open-tasks tr[data-task-id="{late}"][data-state="escalated"]', timeout=UI_MS)
        wall.wait_for_selector(".alarm-bar.active", timeout=UI_MS)  # the alarm bar sounds until acknowledged
        assert "抽水站未回報" in wall.inner_text(".alarm-bar")
    finally:
        job.stop()
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'task.escalate'") == 1
    shot(wall, "wall-escalated")
    shot(ops, "ops-escalated")


def test_typhoon_drill(browser, db, broker, dashboard, worker, tmp_path):
    """The simulator's typhoon scenario, fast: its alerts and incidents arrive, the coordinator
    opens level 1 as a drill and dispatches from an alert in force, the agency acknowledges on
    the agency page, and the situation report shows it all."""
    # At 240x the warning comes 30 s in and stays in force until the scenario's hour 14 (210 s);
    # the scenario's 110 calls come every few seconds.
    sim = start_ioc(["simulate", "--scenario", "typhoon", "--speed", "240", "--rate", "1"],
                    ioc_env(db, broker), tmp_path / "simulator.log")
    try:
        wait_until(lambda: db.scalar("SELECT count(*) FROM cap_alerts_in_force(now())"), 90, 1,
                   message="a CAP alert in force")
        wait_until(lambda: db.scalar("SELECT count(*) FROM incident WHERE status <> 'closed'"), 60, 1,
                   message="an open incident")
        coordinator_pw = add_user(db, "coord-2", "coordinator")
        ops = context(browser, 1600).new_page()
        sign_in_page(ops, dashboard, "coord-2", coordinator_pw, "/ops")
        ops.wait_for_selector('#ops-banner [data-level="normal"]', timeout=FIRST_LOAD_MS)
        choose(ops, "ops-level-select", "一級開設")
        ops.fill("#ops-level-reason", "颱風演習：一級開設")
        ops.get_by_label("演練").check()
        ops.once("dialog", lambda dialog: dialog.accept())
        ops.click("#ops-level-apply")
        ops.wait_for_selector('#ops-banner [data-level="level1"][data-drill="1"]', timeout=UI_MS)

        # Dispatch from an alert in force (the title defaults to its headline).
        ops.get_by_label("警戒", exact=True).check()
        choose(ops, "ops-task-alert", "颱風")  # the typhoon warning (the scenario's first alert)
        wait_until(lambda: "選擇生效中的警戒" not in ops.inner_text("#ops-task-alert"), UI_MS / 1000, message="an alert chosen")
        choose(ops, "ops-task-agency", "水利局")
        ops.click("#ops-task-create")
        ops.wait_for_selector("#ops-task-feedback [data-task-id]", timeout=UI_MS)
        task_id = int(ops.get_attribute("#ops-task-feedback [data-task-id]", "data-task-id"))
        source, ref, title, drill, level, placed = db.query(
            "SELECT source, source_ref, title, drill, level, lon IS NOT NULL FROM task WHERE id = %s", (task_id,))[0]
        assert (source, drill, level, placed) == ("alert", True, "level1", True)
        headline = db.scalar("SELECT coalesce(headline, event) FROM cap_alert WHERE identifier = %s "
                             "ORDER BY sent DESC LIMIT 1", (ref,))
        assert headline and title == headline[:200]

        # The water bureau has no system of its own: it uses the agency page.
        agency = context(browser, 900).new_page()
        agency.goto(f"{dashboard}/agency")
        agency.fill("#agency-token", token_for(db, broker, "water"))
        agency.fill("#agency-person", "林技士")
        agency.click("#agency-token-form button[type=submit]")
        card = agency.locator(f'li.agency-task[data-task-id="{task_id}"]')
        card.wait_for(timeout=UI_MS)
        card.locator("button.agency-ack").click()
        agency.wait_for_selector(f'li.agency-task[data-task-id="{task_id}"][data-status="acknowledged"]', timeout=UI_MS)
        card.locator("textarea").fill("抽水機已出動")
        card.locator("button.agency-progress").click()
        agency.wait_for_selector(f'li.agency-task[data-task-id="{task_id}"][data-status="in_progress"]', timeout=UI_MS)
        shot(agency, "agency-page")
        assert db.scalar("SELECT acknowledged_by FROM task WHERE id = %s", (task_id,)) == "water:林技士"
        assert agency.evaluate("() => sessionStorage.getItem('ioc-agency-token') !== null")
        ops.wait_for_selector(f'#ops-open-tasks tr[data-task-id="{task_id}"][data-state="in_progress"]', timeout=UI_MS)
        shot(ops, "ops-drill")

        # The situation report of the drill: HTML and PDF.
        report = ops.context.new_page()
        report.goto(f"{dashboard}/ops/sitrep")
        text = report.inner_text("body")
        assert "一級開設" in text and "演練" in text
        assert report.locator("#alerts tbody tr").count() >= 1
        assert f"{task_id}" in report.inner_text("#tasks")
        assert report.locator("#incidents tbody tr").count() >= 1
        shot(report, "sitrep")
        pdf = report.request.get(f"{dashboard}/ops/sitrep.pdf")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body()[:5] == b"%PDF-" and b"Noto-Sans-CJK-TC" in _pdf_fonts(pdf.body())
    finally:
        sim.stop()


def _pdf_fonts(data: bytes) -> bytes:
    """The font names embedded in a PDF (inside its compressed object streams too)."""
    import zlib

    names = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            names.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b" ".join(re.findall(rb"/BaseFont\s*/([^\s/>]+)", b"".join(names) + data))
