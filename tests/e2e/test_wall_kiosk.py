"""The wall as duty officers use it: kiosk mode, rotation, connection loss, time travel,
alarms, a closed network, and feed text that stays inert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dashboard.chrome import rotation
from ingest.feeds._common import TAIPEI
from tests.support.dashboard import start_dashboard
from tests.support.users import add_user, sign_in_page
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parent / "screenshots"


def seed_detectors(db, when: datetime, count: int, prefix: str) -> None:
    """Readings of `count` detectors at `when` (sites included), written as the sink would."""
    db.query("INSERT INTO vd_site (vd_id, name, lon, lat, lanes, time) "
             "SELECT %(p)s || g, 'site ' || g, 120.6 + g * 0.001, 24.15 + g * 0.0005, 2, %(t)s "
             "FROM generate_series(1, %(n)s) g ON CONFLICT DO NOTHING RETURNING 1",
             {"p": prefix, "t": when, "n": count})
    db.query("INSERT INTO vd_reading (time, vd_id, speed_kmh, volume, occupancy_pct, status) "
             "SELECT %(t)s, %(p)s || g, 40, 10, 10, 0 FROM generate_series(1, %(n)s) g RETURNING 1",
             {"p": prefix, "t": when, "n": count})


def detectors_shown(page) -> str:
    return page.locator('[id=\'{"id":"detectors","type":"tile"}\'] .tile-value').inner_text()


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
def test_kiosk_is_full_screen_without_scrollbars_or_cursor(browser, dashboard, wall_user, db, size):
    seed_detectors(db, datetime.now(timezone.utc) - timedelta(seconds=20), 30, "VD-K")
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    sign_in_page(page, dashboard, *wall_user, path="/wall?kiosk=1")
    page.wait_for_function("() => document.querySelector('.wall-tiles .tile-value')", timeout=15000)
    dims = page.evaluate("[document.documentElement.scrollHeight, innerHeight, document.documentElement.scrollWidth, "
                         "innerWidth, getComputedStyle(document.body).cursor]")
    assert dims[0] <= dims[1] and dims[2] <= dims[3], dims  # nothing to scroll
    assert dims[4] == "none"
    assert page.locator(".time-travel").is_hidden() and page.locator(".lang-switch").first.is_hidden()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"wall-kiosk-{size[0]}x{size[1]}.png"))
    context.close()


def test_rotation_moves_on_and_pauses_when_someone_touches_the_screen(page, dashboard, wall_user):
    playlist = rotation()["normal"]
    assert len(playlist) >= 2
    sign_in_page(page, dashboard, *wall_user, path="/wall?kiosk=1&rotate=4&pause=30")
    next_path = playlist[1]["path"] if playlist[0]["path"] == "/wall" else playlist[0]["path"]
    page.wait_for_url(f"**{next_path}?*", timeout=20000)
    assert "kiosk=1" in page.url
    page.wait_for_selector("#kiosk-config", state="attached")
    page.wait_for_timeout(500)
    # Someone moves the mouse: the rotation waits.
    page.mouse.move(200, 200)
    page.mouse.move(400, 300)
    here = page.url
    page.wait_for_selector("#rotation-paused", state="visible", timeout=5000)
    page.wait_for_timeout(6000)
    assert page.url == here


def test_connection_loss_is_shown_and_clears_by_itself(browser, db, broker, wall_user, tmp_path):
    proc, base = start_dashboard(db, broker, tmp_path / "d1.log")
    port = int(base.rsplit(":", 1)[1])
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    sign_in_page(page, base, *wall_user)
    page.wait_for_selector("#chrome-heartbeat", state="attached")
    assert page.locator("#connection-lost").is_hidden()
    proc.stop()
    page.wait_for_selector("#connection-lost:not([hidden])", timeout=20000)
    proc2, _ = start_dashboard(db, broker, tmp_path / "d2.log", port=port)
    page.wait_for_selector("#connection-lost", state="hidden", timeout=30000)
    proc2.stop()
    context.close()


def test_time_travel_moves_the_wall_and_comes_back(page, dashboard, db):
    name, password = "officer-tt", add_user(db, "officer-tt", "duty_officer")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    past = now - timedelta(hours=3)
    seed_detectors(db, past, 12, "VD-PAST")
    seed_detectors(db, now - timedelta(seconds=10), 40, "VD-NOW")
    sign_in_page(page, dashboard, name, password)
    wait_until(lambda: detectors_shown(page) == "40", 15, 0.3, message="live count")
    moment = (past + timedelta(minutes=1)).astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    page.fill("#tt-input", moment)
    page.press("#tt-input", "Enter")
    wait_until(lambda: detectors_shown(page) == "12", 15, 0.3, message="count at the past moment")
    assert page.locator(".badge-past").is_visible()
    page.click("#tt-live")
    wait_until(lambda: detectors_shown(page) == "40", 15, 0.3, message="back to live")
    assert page.locator(".badge-live").is_visible()


def test_a_dead_feed_sounds_and_flashes_until_a_duty_officer_acknowledges(browser, dashboard, db, wall_user):
    db.query("INSERT INTO feed_activity (time, feed, received, stored, rejected) "
             "VALUES (now() - interval '3 hours', 'cwa-rain', 1, 1, 0) RETURNING 1")
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    sign_in_page(wall, dashboard, *wall_user, path="/wall?kiosk=1")
    wall.wait_for_selector(".alarm-bar.active", timeout=15000)
    assert "雨量站" in wall.inner_text(".alarm-bar")
    assert wall.locator("#alarm-ack").count() == 0  # a wall device may not acknowledge
    wait_until(lambda: wall.evaluate("!document.getElementById('alarm-sound').paused"), 10,
               message="alarm sound playing")
    officer = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    name, password = "officer-ack", add_user(db, "officer-ack", "duty_officer")
    sign_in_page(officer, dashboard, name, password)
    officer.click("#alarm-ack", timeout=15000)
    wall.wait_for_selector(".alarm-bar.active", state="detached", timeout=15000)
    wait_until(lambda: wall.evaluate("document.getElementById('alarm-sound').paused"), 10, message="sound stops")
    acks = db.query("SELECT alarm_id, acked_by, role FROM wall_alarm_ack")
    assert len(acks) == 1 and acks[0][0].startswith("feed:cwa-rain:") and acks[0][1:] == ("officer-ack", "duty_officer")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'alarm.ack' AND actor = 'officer-ack'") == 1
    wall.context.close()
    officer.context.close()


def test_nothing_loads_from_outside_the_app(browser, dashboard, db):
    name, password = "admin-offline", add_user(db, "admin-offline", "admin")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    outside, failed = [], []

    def only_the_app(route):
        if route.request.url.startswith(dashboard):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    page = context.new_page()
    # A request cut short by leaving the page (net::ERR_ABORTED) is not a failure of the network.
    page.on("requestfailed", lambda r: failed.append((r.url, r.failure)) if "ERR_ABORTED" not in (r.failure or "") else None)
    sign_in_page(page, dashboard, name, password, path="/")
    for path in ("/", "/wall", "/kpi", "/kpi/entry", "/coverage", "/ops", "/health", "/agency"):
        page.goto(f"{dashboard}{path}")
        page.wait_for_timeout(2500)
    assert not outside, outside
    assert not failed, failed
    context.close()
