"""Chromium loads /wall, sees Taichung's 29 districts, and a reading published over MQTT
changes the page within 5 seconds."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from ingest.simulate.traffic import TrafficSimulator
from ioc.mqtt import Publisher
from tests.integration.test_ingest_vd import vdlive
from tests.support.users import sign_in_page

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"  # with IOC_UPDATE_DOCS=1


def tile_value(page, tile_id: str) -> str:
    return page.locator(f'[id=\'{{"id":"{tile_id}","type":"tile"}}\'] .tile-value').inner_text()


def test_wall_shows_districts_and_a_published_reading(page, dashboard, worker, broker, wall_user):
    publisher = Publisher(broker.url("simulator"), "e2e-publisher")
    sim = TrafficSimulator(seed=3)
    sites = {s.id: s for s in sim.sites}
    topic, payload, retain = sim.site_list()
    publisher.publish(topic, payload, retain=retain, wait=True)
    now = datetime.now(timezone.utc)
    for topic, payload, _ in sim.next_readings(150, now - timedelta(seconds=30)):
        publisher.publish(topic, payload)

    sign_in_page(page, dashboard, *wall_user)
    labels = page.locator(".scatterlayer g.textpoint text")
    labels.first.wait_for(timeout=15000)
    names = set(labels.all_text_contents())
    assert len(names) == 29 and {"西屯區", "和平區", "大甲區"} <= names

    page.wait_for_function("() => document.querySelector('.wall-tiles .tile-value')"
                           " && document.querySelector('.wall-tiles .tile-value').innerText === '150'",
                           timeout=10000)

    # A reading for a detector not yet reporting: the count must move within 5 s.
    site = list(sites.values())[160]
    publisher.publish(f"ioc/v1/traffic/vd/VD-{site.id}",
                      vdlive(f"VD-{site.id}", datetime.now(timezone.utc).replace(microsecond=0), speed=12),
                      wait=True)
    page.wait_for_function("() => document.querySelector('.wall-tiles .tile-value').innerText === '151'",
                           timeout=5000)
    health = page.locator('.feed[data-feed="tdx-vdlive"]')
    assert health.get_attribute("data-state") == "ok"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "wall-1080p-zh.png"))
    if os.environ.get("IOC_UPDATE_DOCS") == "1":  # the README's first picture
        shutil.copy(SHOTS / "wall-1080p-zh.png", DOCS / "wall-1080p-zh.png")
    publisher.close()
