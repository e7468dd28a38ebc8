"""Chromium on /wall with real CAP alerts: the alert layer shades Taichung's districts by severity,
the ticker lists the alerts, and switching the layer off in the legend hides it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ioc.mqtt import Publisher
from tests.integration.test_wall_layers import (RAIN_CAP, RAIN_SENT, STORM_CAP, STORM_SENT, fixture, now, redate,
                                                stored)
from tests.support.users import sign_in_page

pytestmark = pytest.mark.e2e
SHOTS = "/tmp/wall-layers"

# The wall's figure, as Plotly holds it in the page: each trace's layer, visibility and size.
TRACES = """() => {
    const gd = document.querySelector('#wall-map .js-plotly-plot');
    return gd && gd.data ? gd.data.map(t => ({group: t.legendgroup, name: t.name, visible: t.visible,
                                             n: (t.x || []).filter(v => v !== null).length})) : [];
}"""


def alert_traces(page) -> list[dict]:
    return [t for t in page.evaluate(TRACES) if t["group"] == "alerts"]


def test_alert_layer_and_ticker_and_legend_toggle(page, dashboard, worker, broker, db, wall_user):
    t0 = now()
    publisher = Publisher(broker.url("pub-disaster"), "e2e-cap")
    try:
        publisher.publish("ioc/v1/disaster/cap", redate(fixture(RAIN_CAP), RAIN_SENT, t0 - timedelta(minutes=40)),
                          wait=True)
        publisher.publish("ioc/v1/disaster/cap", redate(fixture(STORM_CAP), STORM_SENT, t0 - timedelta(minutes=10)),
                          wait=True)
    finally:
        publisher.close()
    stored(db, "SELECT count(*) FROM cap_alert", 2)

    sign_in_page(page, dashboard, *wall_user)
    ticker = page.locator('[id=\'{"id":"alerts","type":"tile"}\']')
    ticker.locator(".ticker-item").first.wait_for(timeout=30000)
    assert ticker.get_attribute("data-severity") == "Severe"
    items = ticker.locator(".ticker-item")
    assert items.count() == 2
    first = items.nth(0).inner_text()
    assert "▲ 嚴重" in first and "雷雨" in first and "雷雨即時訊息" in first
    assert "◆ 中度" in items.nth(1).inner_text() and "大雨特報" in items.nth(1).inner_text()
    assert ticker.locator(".tile-value").inner_text() == "2"

    # The map: the Severe class holds districts' outlines, drawn as filled shapes.
    page.wait_for_function(f"() => ({TRACES})().some(t => t.group === 'alerts' && t.n > 100)", timeout=10000)
    traces = alert_traces(page)
    severe = next(t for t in traces if t["name"].startswith("嚴重"))
    assert severe["n"] > 100 and severe["visible"] in (None, True)
    assert "區" in severe["name"]  # "嚴重（n 區）": how many districts, in words
    fills = page.locator(".scatterlayer .trace path.js-fill")
    assert fills.count() >= 3  # the land, and at least Severe and Moderate districts
    page.screenshot(path=f"{SHOTS}-1-alerts.png")

    # Switching the layer off in the legend hides every class of it; the ticker stays. (A click
    # that lands while Plotly redraws the legend for a refresh can be lost, as for a person:
    # click again, at most three times.)
    off = (f"() => ({TRACES})().filter(t => t.group === 'alerts' && t.n > 0)"
           ".every(t => t.visible === 'legendonly')")
    toggle = page.locator(".legend .traces", has_text="嚴重（").first.locator(".legendtoggle")
    for attempt in range(3):
        if page.evaluate(off):
            break
        toggle.click()
        try:
            page.wait_for_function(off, timeout=5000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    assert fills.count() < 3
    page.screenshot(path=f"{SHOTS}-2-alerts-off.png")
    # ...and it stays off when the next refreshes bring its data again.
    for _ in range(2):
        shown = page.locator(".wall-clock .clock-time").inner_text()
        page.wait_for_function("t => document.querySelector('.wall-clock .clock-time').innerText !== t", arg=shown,
                               timeout=10000)
    assert all(t["visible"] == "legendonly" for t in alert_traces(page) if t["n"])
    assert items.count() == 2
