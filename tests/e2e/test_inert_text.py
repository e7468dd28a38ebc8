"""Text from feeds is shown as text: HTML and `javascript:` links in a CAP alert do nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ioc.mqtt import Publisher
from tests.support.users import sign_in_page
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cap" / "tw_cwa.gov.tw_thunderstorm_20240424044654_000.cap"
HOSTILE = '<img src=x onerror="window.__pwned=1"><b>粗體</b><script>window.__pwned=2</script>'


def hostile_alert() -> bytes:
    now = datetime.now(timezone.utc).astimezone(timezone(timedelta(hours=8))).replace(microsecond=0)
    text = FIXTURE.read_text(encoding="utf-8")
    text = re.sub(r"<sent>[^<]+</sent>", f"<sent>{now.isoformat()}</sent>", text)
    for tag, when in (("effective", now), ("onset", now), ("expires", now + timedelta(hours=2))):
        text = re.sub(rf"<{tag}>[^<]+</{tag}>", f"<{tag}>{when.isoformat()}</{tag}>", text)
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"<headline>[^<]+</headline>", f"<headline>{escaped}</headline>", text)
    text = re.sub(r"<identifier>[^<]+</identifier>", "<identifier>inert-test-1</identifier>", text)
    text = text.replace("<instruction/>", "<instruction/><web>javascript:window.__pwned=3</web>")
    return text.encode("utf-8")


def test_html_and_script_links_in_an_alert_stay_inert(page, dashboard, worker, broker, wall_user, db):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    publisher = Publisher(broker.url("pub-disaster"), "cap-publisher")
    publisher.publish("ioc/v1/disaster/cap", hostile_alert(), wait=True)
    wait_until(lambda: db.scalar("SELECT count(*) FROM cap_alert WHERE identifier = 'inert-test-1'") == 1, 15,
               message="alert stored")
    sign_in_page(page, dashboard, *wall_user)
    ticker = page.locator(".tile-ticker")
    wait_until(lambda: "粗體" in ticker.inner_text(), 20, 0.3, message="alert in the ticker")
    shown = ticker.inner_text()
    assert "<img" in shown and "<script>" in shown  # the markup is shown as the text it is
    assert ticker.locator("img, script, b").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__pwned === undefined")
    assert not dialogs
    publisher.close()
