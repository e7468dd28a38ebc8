"""Pictures of every page in each mode and language at 1080p and 4K, during a simulated typhoon
drill, each checked for what it must show. Saved under tests/e2e/screenshots/; with
IOC_UPDATE_DOCS=1 the README's pictures in docs/screenshots/ are refreshed from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.access import ADMIN
from tests.support.dashboard import start_dashboard
from tests.support.stack import ioc_env, start_ioc, start_worker
from tests.support.users import add_user, sign_in_page
from tests.support.waiting import wait_until
from tests.unit.test_kpi_evaluate import SEED_2015, write_jsonl

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
# (name, path, what must be on it)
PAGES = (
    ("wall", "/wall", ".wall-tiles .tile-value"),
    ("wall-kiosk", "/wall?kiosk=1", ".level-banner"),
    ("kpi", "/kpi?year=2015&as_of=2015-06-30", "#kpi-table"),
    ("coverage", "/coverage", "#cov-map .scatterlayer"),
    ("ops", "/ops", "#ops-board"),
)
README_PICTURES = ("wall-kiosk-1080p-zh-TW", "wall-1080p-en", "ops-1080p-zh-TW", "kpi-1080p-en",
                   "coverage-1080p-zh-TW", "wall-kiosk-4k-zh-TW")


@pytest.fixture(scope="module")
def drill(stack, tmp_path_factory):
    """A typhoon drill under way: level 2, the simulator feeding a real worker."""
    logs = tmp_path_factory.mktemp("drill")
    db = stack.new_database()
    broker = stack.new_broker()
    worker = start_worker(db, broker, logs / "worker.log")
    sim = start_ioc(["simulate", "--scenario", "typhoon", "--speed", "600", "--rate", "40"],
                    ioc_env(db, broker), logs / "sim.log")
    ioc = lambda *args: subprocess.run([sys.executable, "-m", "ioc", *args], env=ioc_env(db, broker),  # noqa: E731
                                       check=True, capture_output=True)
    ioc("level", "set", "level2", "--reason", "颱風演練", "--drill")
    # The plan's first-half figures of 2015 (from the plan itself), and tasks on the board.
    ioc("kpi", "import", str(write_jsonl(logs / "kpi.jsonl", SEED_2015)))
    ioc("tasks", "create", "--agency", "water", "--priority", "1", "--title", "大里溪水位警戒：巡查堤防",
        "--lon", "120.69", "--lat", "24.10")
    ioc("tasks", "create", "--agency", "traffic", "--priority", "2", "--title", "台8線谷關段預警性封路")
    wait_until(lambda: (db.scalar("SELECT count(*) FROM cap_alert") or 0) > 0
               and (db.scalar("SELECT count(*) FROM incident") or 0) > 0, 150, 1,
               message="the drill's alerts and incidents")
    proc, base = start_dashboard(db, broker, logs / "dashboard.log")
    password = add_user(db, "shots-admin", ADMIN)
    yield {"base": base, "db": db, "user": ("shots-admin", password)}
    proc.stop()
    sim.stop()
    worker.stop()
    broker.stop()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_every_page_pictured_and_showing_what_it_must(browser, drill, size, lang):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=lang,
                                  timezone_id="Asia/Taipei")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in_page(page, drill["base"], *drill["user"], path="/")
    SHOTS.mkdir(exist_ok=True)
    for name, path, must in PAGES:
        sep = "&" if "?" in path else "?"
        page.goto(f"{drill['base']}{path}{sep}lang={lang}")
        page.wait_for_selector(must, timeout=30000)
        page.wait_for_timeout(2500)  # let the live refresh land and the map draw
        frontend = page.evaluate("window.store ? window.store.getState().error.frontEnd.length : -1")
        assert frontend == 0, f"{name}: Dash front-end errors"
        if name.startswith("wall"):
            labels = set(page.locator("#wall-map .scatterlayer g.textpoint text").all_text_contents())
            assert len([x for x in labels if x]) >= 29, f"{name}: the 29 districts"
            assert page.locator(".level-banner[data-level='level2']").count() == 1
            # The whole wall on the screen, the map wider than the tiles, at either size.
            wall, side = page.evaluate("""() => [document.querySelector('.wall').getBoundingClientRect().bottom,
                document.querySelector('.wall-tiles').getBoundingClientRect().width]""")
            assert wall <= height + 1 and side < 0.3 * width, f"{name}: wall bottom {wall}, tiles {side} px wide"
        if page.locator(".level-banner").count():  # in sight, not under the alarm bar
            covered = page.evaluate("""() => { const b = document.querySelector('.level-banner').getBoundingClientRect();
                const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
                return !(hit && hit.closest('.level-banner')); }""")
            assert not covered, f"{name}: the level banner is hidden"
        shot = SHOTS / f"{name}-{size}-{lang}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 30_000  # a picture with something on it, not a blank page
        if os.environ.get("IOC_UPDATE_DOCS") == "1" and shot.stem in README_PICTURES:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, DOCS / shot.name)
    assert not errors, errors
    context.close()
