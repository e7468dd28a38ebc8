"""Chromium opens /coverage: the 625 villages shaded by the share of their people covered, the
city's figure, and a what-if that takes a district's stations down and shows who would lose
coverage. Once on the generated layout (no live station data), once on stations published over
MQTT in the bts feed's format with a typhoon's outages in the mountains."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from geo.coverage import compute_coverage
from geo.layout import generate_layout
from ioc.mqtt import Publisher
from tests.support.users import add_user, sign_in_page
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
HEPING = "66000290"  # 和平區

FIGURE = """() => {
  const gd = document.querySelector('#cov-map .js-plotly-plot');
  if (!gd || !gd.data || gd.data.length < 15) return null;
  const rings = gd.data.slice(0, 7).map(t => (t.x || []).filter(v => v === null).length);
  return {traces: gd.data.length, villages: (gd.data[10].x || []).length, rings: rings,
          hover: (gd.data[10].text || []).length, down: (gd.data[13].x || []).length,
          lostOutline: (gd.data[8].x || []).length, whatIf: (gd.data[9].x || []).length,
          names: gd.data.slice(0, 7).map(t => t.name)};
}"""


# The box drawn on the map, as Dash holds it for the what-if (cov-map's selectedData.range).
SELECTED = """() => { const find = node => {
    if (!node || typeof node !== 'object') return null;
    if (node.props && node.props.id === 'cov-map') return (node.props.selectedData || {}).range || null;
    for (const key of Object.keys(node)) { const found = find(node[key]); if (found) return found; }
    return null; };
  return find(window.store.getState().layout); }"""


def open_page(page, dashboard, db, lang: str = "zh-TW"):
    name = f"viewer-{lang}"
    sign_in_page(page, dashboard, name, add_user(db, name, "leadership"), path=f"/coverage?lang={lang}")
    return wait_until(lambda: (f := page.evaluate(FIGURE)) and f["hover"] == 625 and f, 60,
                      message="choropleth drawn")


def what_if_district(page, district_name: str) -> float:
    page.locator("#cov-district").click()
    page.get_by_role("option", name=district_name, exact=True).click()
    page.keyboard.press("Escape")
    assert page.locator("#cov-district").inner_text().strip() == district_name
    page.locator("#cov-whatif-district").click()
    people = page.locator("#cov-whatif-people")
    people.wait_for(timeout=30000)
    return float(people.get_attribute("data-value"))


def box_select(page, lon0: float, lat0: float, lon1: float, lat1: float) -> None:
    """Draw a box on the map with Plotly's box-select tool, corners in lon/lat."""
    page.locator("#cov-map").hover()
    page.locator('#cov-map .modebar-btn[data-attr="dragmode"][data-val="select"]').click()
    corners = page.evaluate("""([a, b, c, d]) => {
        const gd = document.querySelector('#cov-map .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
        return [r.left + xa.l2p(a), r.top + ya.l2p(b), r.left + xa.l2p(c), r.top + ya.l2p(d)];
    }""", [lon0, lat0, lon1, lat1])
    page.mouse.move(corners[0], corners[1])
    page.mouse.down()
    page.mouse.move(corners[2], corners[3], steps=10)
    page.mouse.up()


def test_the_generated_layout_choropleth_and_a_what_if_for_heping(page, dashboard, db):
    figure = open_page(page, dashboard, db)
    assert figure["villages"] == 625
    assert sum(figure["rings"]) >= 625  # every village drawn in some class (some have several rings)
    assert figure["down"] == 0 and figure["lostOutline"] == 0
    assert page.locator("#cov-city-pct .cov-big").inner_text() == "100.00"
    assert "2024-04" in page.locator("#cov-source").inner_text()

    lost = what_if_district(page, "和平區")
    # The same as a full recalculation with 和平區's stations down (done here, in the test).
    layout = generate_layout("2024-04")
    heping_down = layout.assign(status=layout["status"].where(layout["district_code"] != HEPING, "down"))
    expected = 2_821_322 - compute_coverage(heping_down).city()["covered_population"]
    assert lost > 0 and lost == pytest.approx(expected, abs=0.2)
    assert int(page.locator("#cov-whatif-villages").inner_text()) > 0
    assert set(page.locator(".cov-whatif-result .cov-table tbody td:nth-child(2)").all_inner_texts()) == {"和平區"}
    wait_until(lambda: page.evaluate(FIGURE)["whatIf"] > 0, 10, message="affected villages outlined")
    page.screenshot(path="/tmp/coverage-whatif-heping.png")
    # The what-if changed nothing live.
    assert page.locator("#cov-city-pct .cov-big").inner_text() == "100.00"

    # A selection on the map: a box over 梨山 in the mountains.
    box_select(page, 121.2, 24.3, 121.32, 24.2)
    # As a user would: the button after the selection is on the page (Dash has it), not before.
    wait_until(lambda: page.evaluate(SELECTED), 15, message="the selection known to the page")
    page.locator("#cov-whatif-selection").click()

    def selection_result():
        people = page.locator("#cov-whatif-people")
        if people.count() == 0:  # the click beat the selection to the server ("select first"): again
            page.locator("#cov-whatif-selection").click()
            return None
        value = float(people.get_attribute("data-value", timeout=2000))  # may be redrawn meanwhile
        return value if value != lost else None

    in_box = wait_until(selection_result, 30, 1.0, message="what-if for the selection")
    assert 0 < in_box < lost
    page.screenshot(path="/tmp/coverage-whatif-selection.png")


def test_live_stations_with_a_typhoon_outage(page, dashboard, db, broker, worker):
    layout = generate_layout("2015-06")
    heping = layout["district_code"] == HEPING
    down_ids = set(layout.loc[heping, "station_id"].iloc[::2])  # half of 和平區's stations are down
    publisher = Publisher(broker.url("pub-telecom"), "e2e-telecom")
    when = (datetime.now(timezone.utc) - timedelta(seconds=20)).replace(microsecond=0).isoformat()
    batch = []
    for row in layout.itertuples(index=False):
        batch.append({"bts_id": row.station_id, "operator": row.operator[:20], "technology": "4G",
                      "lon": row.geometry.x, "lat": row.geometry.y, "footprint": {"radius_m": row.radius_m},
                      "status": "down" if row.station_id in down_ids else "up", "time": when})
    for start in range(0, len(batch), 250):  # a message may carry an array of stations
        publisher.publish("ioc/v1/telecom/bts/batch", orjson.dumps(batch[start:start + 250]), wait=True)
    publisher.close()
    wait_until(lambda: db.scalar("SELECT count(*) FROM bts_current") == len(layout), 60, message="stations stored")

    figure = open_page(page, dashboard, db, lang="en")
    wait_until(lambda: page.evaluate(FIGURE)["down"] == len(down_ids), 20, message="down stations drawn")
    assert "Live" in page.locator("#cov-source").inner_text()
    assert figure["names"][0] == "≥ 99.5%"
    lost_now = page.locator("#cov-lost-now").inner_text().replace(",", "")
    assert float(lost_now) > 0
    assert page.evaluate(FIGURE)["lostOutline"] > 0
    page.screenshot(path="/tmp/coverage-live-typhoon-en.png")

    # One more station goes down while the page is open: the map and the figures follow.
    extra = layout.loc[layout["district_code"] == "66000100"].iloc[0]  # 東勢區
    publisher = Publisher(broker.url("pub-telecom"), "e2e-telecom-2")
    publisher.publish(f"ioc/v1/telecom/bts/{extra.station_id}", orjson.dumps({
        "bts_id": extra.station_id, "operator": extra.operator, "technology": "4G", "lon": extra.geometry.x,
        "lat": extra.geometry.y, "footprint": {"radius_m": float(extra.radius_m)}, "status": "down",
        "time": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}), wait=True)
    publisher.close()
    wait_until(lambda: page.evaluate(FIGURE)["down"] == len(down_ids) + 1, 30, message="the new outage drawn")
    wait_until(lambda: f"down {len(down_ids) + 1}" in page.locator("#cov-city").inner_text(), 10,
               message="figures updated")

    more = what_if_district(page, "Heping District")
    assert more > 0  # the other half of 和平區's stations still covered people
    page.screenshot(path="/tmp/coverage-live-whatif-en.png")
