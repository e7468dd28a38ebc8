"""The KPIs in Chromium: the wall's strip shows all nine indicators with values and statuses
after a file import; /kpi shows the history and the measurements behind a value; a kpi_staff
user enters a measurement through the form and it appears; leadership gets no form."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import ioc_env
from tests.support.users import add_user, sign_in_page

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("IOC_TEST_SCREENSHOTS")  # a folder to keep screenshots in, when set

# Part 3 of the plan (where year 104 stood on 30 June 2015), with the dates it gives, so that each
# indicator has the history the plan reports: surveys in February and May, the tri-city meetings
# of January and April, the monthly petition reports. Recorded the evening of their date.
SEED_2015 = [
    {"indicator": "I1", "as_of": "2015-06-30", "numerator": 0, "denominator": 0, "note": "徵件至 104-09-30"},
    {"indicator": "I2", "as_of": "2015-02-28", "count": 1},
    {"indicator": "I2", "as_of": "2015-05-31", "count": 2},
    {"indicator": "I3", "as_of": "2015-01-27", "numerator": 7, "denominator": 9},
    {"indicator": "I3", "as_of": "2015-04-21", "numerator": 16, "denominator": 20},
    {"indicator": "I4", "as_of": "2015-06-30", "numerator": 2504, "denominator": 2722},
    {"indicator": "I5", "as_of": "2015-06-30", "count": 0, "note": "3 案達推薦門檻，8 月提報"},
    {"indicator": "I6", "as_of": "2015-03-31",
     "parts": {"reports": [3, 12], "compilations": [1, 4], "training": [0, 1], "evaluation": [0, 1]}},
    {"indicator": "I6", "as_of": "2015-06-30",
     "parts": {"reports": [6, 12], "compilations": [2, 4], "training": [1, 1], "evaluation": [0, 1]}},
    {"indicator": "I7a", "as_of": "2015-06-30",
     "parts": {"phase1_planning": [1, 2], "ibm_challenge": [1, 2], "phase2_budget": [1, 2]}},
    {"indicator": "I7b", "as_of": "2015-03-31", "numerator": 2608999, "denominator": 2684980},
    {"indicator": "I7c", "as_of": "2015-06-30", "count": 0},
    {"project": "road_paving", "as_of": "2015-06-30", "value": 61.5},
    {"project": "tree_planting", "as_of": "2015-06-30", "value": 140000},
    {"project": "social_housing", "as_of": "2015-06-30", "value": 250},
]
WALL_STATUSES = {"I1": "no_data", "I2": "on_pace", "I3": "met", "I4": "met", "I5": "on_pace", "I6": "on_pace",
                 "I7a": "on_pace", "I7b": "met", "I7c": "on_pace"}


@pytest.fixture
def imported(db, broker, tmp_path):
    lines = [{**r, "recorded_at": f"{r['as_of']}T20:00:00+08:00"} for r in SEED_2015]
    path = tmp_path / "kpi-2015.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "ioc", "kpi", "import", str(path)], capture_output=True, text=True,
                         env=ioc_env(db, broker), timeout=120)
    assert run.returncode == 0, run.stderr
    return run


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def new_page(browser, **kwargs):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-TW",
                                  timezone_id="Asia/Taipei", **kwargs)
    return context, context.new_page()


def test_wall_strip_shows_nine_indicators(page, dashboard, imported, wall_user):
    sign_in_page(page, dashboard, *wall_user, path="/wall?as_of=2015-07-01T09:00:00")
    page.wait_for_function("() => document.querySelectorAll('.kpi-strip .kpi-cell').length === 9", timeout=20000)
    cells = page.locator(".kpi-strip .kpi-cell")
    statuses = {cells.nth(i).get_attribute("data-indicator"): cells.nth(i).get_attribute("data-status")
                for i in range(9)}
    assert statuses == WALL_STATUSES
    assert page.locator("#kpi-cell-I3 .kpi-value").inner_text() == "80%"
    assert page.locator("#kpi-cell-I4 .kpi-value").inner_text() == "91.99%"
    assert page.locator("#kpi-cell-I6 .kpi-value").inner_text() == "50%"
    assert "達成" in page.locator("#kpi-cell-I3").inner_text()  # the status in words, not only colour
    assert page.locator("#kpi-cell-I7b").get_attribute("data-stale") == "1"  # March figures, monthly rhythm
    assert page.locator("#kpi-cell-I3").get_attribute("data-stale") == "0"
    assert page.locator("#kpi-cell-I2 .kpi-spark").get_attribute("data-points") == "2"
    assert page.locator(".kpi-strip-year").inner_text() == "民國104年度"
    assert page.locator('.kpi-project[data-project="road_paving"]').get_attribute("data-status") == "behind"
    # The map is still the wall's main content.
    map_box, tiles_box = page.locator("#wall-map").bounding_box(), page.locator("#wall-tiles").bounding_box()
    assert map_box["width"] > 2 * tiles_box["width"]
    shot(page, "kpi-wall-strip.png")


def test_kpi_page_history_and_drill_down_for_leadership(browser, dashboard, db, imported):
    name = "lead-1"
    password = add_user(db, name, "leadership")
    context, page = new_page(browser)
    try:
        sign_in_page(page, dashboard, name, password, path="/kpi?year=2015&as_of=2015-06-30&indicator=I6")
        page.wait_for_selector("#kpi-table tr[data-indicator]", timeout=20000)
        rows = page.locator("#kpi-table tr[data-indicator]")
        assert rows.count() == 9
        assert page.locator('#kpi-table tr[data-indicator="I3"]').get_attribute("data-status") == "met"
        assert page.locator('#kpi-table tr[data-indicator="I1"]').get_attribute("data-status") == "no_data"
        assert page.locator("#kpi-score").inner_text() != "—"
        # History: the two I6 measurements, on the chart and in the drill-down with who entered them.
        page.wait_for_selector("#kpi-history .scatterlayer .trace .point", timeout=10000)
        assert page.locator("#kpi-history .scatterlayer .trace").first.locator(".point").count() == 2
        drill = page.locator("#kpi-drilldown-table tr[data-source]")
        assert drill.count() == 2
        assert drill.first.get_attribute("data-counted") == "1"
        first = drill.first.inner_text()
        assert "檔案匯入" in first and getpass.getuser() in first  # who ran the import
        assert page.locator("#kpi-entry-link").count() == 0  # leadership reads; it does not enter
        shot(page, "kpi-page-leadership.png")

        csv = page.request.get(f"{dashboard}/kpi/export.csv?year=2015&as_of=2015-06-30")
        assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
        text = csv.body().decode("utf-8-sig")
        assert text.splitlines()[0].startswith("year,as_of,goal,indicator")
        assert sum(1 for line in text.splitlines() if line.startswith("2015,2015-06-30,")) == 9
        page.goto(f"{dashboard}/kpi/report?year=2015&as_of=2015-06-30")
        assert page.locator("#kpi-report-table tr[data-indicator]").count() == 9
        shot(page, "kpi-report.png")

        refused = page.goto(f"{dashboard}/kpi/entry")  # the gate refuses the page outright
        assert refused.status == 403
        assert page.locator("#entry-form").count() == 0
    finally:
        context.close()


def test_kpi_staff_enters_a_measurement_and_it_appears(browser, dashboard, db, imported):
    name = "kpi-clerk"
    password = add_user(db, name, "kpi_staff")
    context, page = new_page(browser)
    try:
        sign_in_page(page, dashboard, name, password, path="/kpi/entry?indicator=I3")
        page.wait_for_selector("#entry-numerator", timeout=20000)
        page.fill("#entry-as-of", "2015-07-28")
        page.fill("#entry-numerator", "30")
        page.fill("#entry-denominator", "20")
        page.click("#entry-submit")
        errors = page.wait_for_selector("#entry-errors", timeout=10000)
        assert "numerator 30 is above its denominator 20" in errors.inner_text()
        assert db.scalar("SELECT count(*) FROM kpi_measurement WHERE source = 'form'") == 0

        page.goto(f"{dashboard}/kpi/entry?indicator=I2")
        page.wait_for_selector("#entry-count:not(.kpi-hidden) #entry-count-value", timeout=20000)
        page.fill("#entry-as-of", "2015-08-31")
        page.fill("#entry-count-value", "3")
        page.fill("#entry-note", "8 月調查完成")
        page.click("#entry-submit")
        page.wait_for_selector("#entry-saved", timeout=10000)
        shot(page, "kpi-entry.png")
        assert db.query("SELECT indicator, as_of::text, count, source, entered_by, note FROM kpi_measurement "
                        "WHERE source = 'form'") == [("I2", "2015-08-31", 3, "form", name, "8 月調查完成")]
        assert db.query("SELECT actor, role, action FROM audit_log WHERE action = 'kpi.measurement.add'") == [
            (name, "kpi_staff", "kpi.measurement.add")]
        assert page.locator('#entry-recent-table tr[data-item="I2"]').count() == 1

        page.goto(f"{dashboard}/kpi?year=2015&as_of=2015-08-31&indicator=I2")
        page.wait_for_selector('#kpi-table tr[data-indicator="I2"]', timeout=20000)
        assert page.locator('#kpi-table tr[data-indicator="I2"] .kpi-value-cell').inner_text() == "3 次"
        counted = page.locator('#kpi-drilldown-table tr[data-counted="1"]')
        counted.wait_for(timeout=10000)
        assert name in counted.inner_text() and "表單填報" in counted.inner_text()
        assert page.locator("#kpi-entry-link").count() == 1
    finally:
        context.close()
