"""The wall's feed layers and their tiles without a database: every layer's traces build in both
languages, a patch has one update per trace, and the pure transforms (summaries, styles, hover
text) do what the wall needs on sample rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import plotly.graph_objects as go
import pytest

from dashboard.figures import apply_patches, base_map, trace_slots
from dashboard.i18n import LANGS, catalogue
from dashboard.layers import all_layers
from dashboard.layers import _common, alerts, bts, events, incidents, quake, rain, shelters, stations, typhoon, water
from dashboard.tiles import alerts_ticker, incidents_list, weather
from ingest.feeds.incident import CATEGORIES
from ingest.feeds.traffic_event import KINDS

AS_OF = datetime(2025, 9, 24, 7, 0, tzinfo=timezone.utc)  # 15:00 in Taipei
MINE = ("alerts", "rain", "stations", "water", "shelters", "events", "incidents", "typhoon", "quake", "cctv", "bts")


def ago(**kw) -> datetime:
    return AS_OF - timedelta(**kw)


# --- sample data, as each layer's query returns it ------------------------------------------------

def cap_row(identifier, severity, districts, *, event="雷雨", headline="雷雨即時訊息", info=0, language="zh-TW",
            area="臺中市", sent=None):
    sent = sent or ago(minutes=20)
    return {"sender": "weather@cwa.gov.tw", "identifier": identifier, "sent": sent, "info_index": info,
            "language": language, "event": event, "severity": severity, "severity_rank": alerts.RANK[severity],
            "urgency": "Expected", "certainty": "Observed", "effective": sent, "onset": sent,
            "expires_at": AS_OF + timedelta(hours=1), "headline": headline, "sender_name": "中央氣象署",
            "area_desc": area, "districts": districts}


def alerts_sample():
    rows = [cap_row("storm", "Severe", ["66000080", "66000060"]),
            cap_row("storm", "Severe", ["66000080", "66000060"], event="Thunderstorm", headline="Storm <a href=x>now</a>",
                    info=1, language="en-US"),
            cap_row("rain", "Moderate", ["66000080", "66000290"], event="降雨", headline="大雨特報", area="臺中市和平區",
                    sent=ago(minutes=50)),
            cap_row("far", "Extreme", [], event="地震", headline="外縣市", area="花蓮縣")]
    return alerts.summarise(rows, AS_OF)


def rain_sample():
    rows = [{"station_id": "A", "name": "甲", "lon": 120.7, "lat": 24.2, "district_code": "66000080", "time": ago(minutes=5),
             "past_1h_mm": 45.0, "past_3h_mm": 60.0, "past_24h_mm": 70.0, "alert_level": "heavy_rain"},
            {"station_id": "B", "name": "乙", "lon": 121.1, "lat": 24.25, "district_code": "66000290",
             "time": ago(minutes=5), "past_1h_mm": 30.0, "past_3h_mm": 120.0, "past_24h_mm": 210.0,
             "alert_level": "extremely_heavy_rain"},
            {"station_id": "C", "name": "丙", "lon": 120.6, "lat": 24.1, "district_code": "66000060", "time": ago(minutes=5),
             "past_1h_mm": None, "past_3h_mm": None, "past_24h_mm": None, "alert_level": None}]
    return rain.summarise(rows, AS_OF)


def water_sample(levels=()):
    rows = [{"service": "S", "datastream_id": str(i), "datastream": "水位", "unit_symbol": "m", "thing_id": f"T{i}",
             "name": f"站{i}", "properties": f'{{"stationID": "W{i}"}}', "lon": 120.7, "lat": 24.2, "time": ago(minutes=5),
             "result": value, "prev_time": ago(minutes=65) if prev is not None else None, "prev_result": prev}
            for i, (value, prev) in enumerate([(3.9, 3.1), (3.15, 3.1), (3.0, 3.2), (2.0, None)])]
    return water.summarise(rows, AS_OF, list(levels))


def shelter_rows():
    base = {"address": "臺中市", "district": "66000080", "lon": 120.7, "lat": 24.2, "capacity": 100,
            "disaster_types": ["水災", "震災"], "vulnerable_ok": True}
    return shelters.summarise([
        {**base, "shelter_id": "1", "name": "甲", "time": ago(minutes=5), "occupancy": 30, "status": "open"},
        {**base, "shelter_id": "2", "name": "乙", "time": ago(minutes=5), "occupancy": 100, "status": "full"},
        {**base, "shelter_id": "3", "name": "丙", "time": ago(hours=2), "occupancy": 0, "status": "closed"},
        {**base, "shelter_id": "4", "name": "丁", "time": None, "occupancy": None, "status": None}], AS_OF)


def events_sample():
    line = "[[120.64, 24.16], [120.65, 24.165], [120.66, 24.17]]"
    point = None
    base = {"road": "臺灣大道", "direction": "both", "lanes_blocked": 2, "lanes_list": None, "end_time": None,
            "status": "active", "description": "<script>x</script>", "source": "交通局", "updated_at": ago(minutes=10)}
    rows = [{**base, "id": "1", "kind": "closure", "line": line, "lon": 120.65, "lat": 24.165, "start_time": ago(hours=2)},
            {**base, "id": "2", "kind": "accident", "line": point, "lon": 120.7, "lat": 24.15, "start_time": ago(hours=1)},
            {**base, "id": "3", "kind": "construction", "line": line, "lon": 120.65, "lat": 24.165,
             "start_time": ago(hours=1), "lanes_blocked": None, "lanes_list": [1, 2]}]
    return {"as_of": AS_OF, "rows": rows, "closures": 1, **_common.freshness((r["updated_at"] for r in rows), AS_OF, None)}


def incident_rows():
    base = {"lon": 120.68, "lat": 24.18, "address": "<b>臺灣大道</b>", "district": "66000060", "unit": "第五分局",
            "dispatched_at": None, "on_scene_at": None, "closed_at": None}
    return incidents.summarise([
        {**base, "id": "a", "category": "traffic_accident", "priority": 1, "status": "reported",
         "reported_at": ago(minutes=3), "updated_at": ago(minutes=3)},
        {**base, "id": "b", "category": "theft", "priority": 2, "status": "on_scene", "reported_at": ago(minutes=40),
         "updated_at": ago(minutes=20)},
        {**base, "id": "c", "category": "fire", "priority": 3, "status": "closed", "reported_at": ago(minutes=90),
         "updated_at": ago(minutes=30), "closed_at": ago(minutes=30)},
        {**base, "id": "d", "category": "other", "priority": 2, "status": "dispatched", "reported_at": ago(hours=5),
         "updated_at": ago(hours=4), "lon": None, "lat": None}], AS_OF)


def typhoon_sample():
    def fix(kind, hours, lon, lat, base=None):
        return {"cyclone_id": "2025-TD20", "kind": kind, "time": AS_OF + timedelta(hours=hours),
                "base_time": base or AS_OF + timedelta(hours=hours), "lon": lon, "lat": lat, "pressure_hpa": 925.0,
                "max_wind_ms": 53.0, "radius_15ms_km": 300.0, "moving_speed_kmh": 20.0, "moving_dir_deg": 270.0,
                "issued": ago(hours=1), "name_zh": "樺加沙", "name_en": "RAGASA"}
    fixes = [fix("analysis", -18, 124.0, 19.0), fix("analysis", -12, 123.0, 19.8), fix("analysis", -6, 121.9, 20.5),
             fix("forecast", 6, 120.0, 21.5, base=ago(hours=6)), fix("forecast", 18, 118.0, 22.0, base=ago(hours=6)),
             fix("forecast", 0, 123.5, 19.5, base=ago(hours=18))]  # an older forecast, superseded
    return typhoon.summarise(fixes, AS_OF)


def quake_sample():
    stations_ = [{"station_id": "B219", "name": "霧峰", "intensity": "3級", "rank": 3, "lon": 120.7, "lat": 24.042,
                  "pga_gal": 13.86}, {"station_id": "WWC", "name": "梧棲", "intensity": "5弱", "rank": 5, "lon": 120.523,
                                      "lat": 24.257, "pga_gal": 90.0}]
    rows = [{"report_no": 114136, "origin_time": ago(hours=1), "lon": 121.6, "lat": 23.9, "location": "花蓮縣政府",
             "depth_km": 10.0, "magnitude": 6.1, "max_intensity_rank": 6, "taichung_intensity_rank": 5,
             "intensities": {"臺中市": {"max": "5弱", "rank": 5, "stations": stations_}}},
            {"report_no": 114135, "origin_time": ago(hours=5), "lon": 120.92, "lat": 24.09, "location": "南投",
             "depth_km": 8.0, "magnitude": 4.5, "max_intensity_rank": 3, "taichung_intensity_rank": 3,
             "intensities": {}}]
    return quake.summarise(rows, AS_OF)


def bts_sample():
    rows = [{"bts_id": "B1", "time": ago(minutes=3), "operator": "中華電信", "technology": "4G", "lon": 120.66,
             "lat": 24.16, "status": "down"},
            {"bts_id": "B2", "time": ago(minutes=4), "operator": "遠傳", "technology": "5G", "lon": 120.67,
             "lat": 24.17, "status": "degraded"}]
    return {"as_of": AS_OF, "rows": rows, "down": 1, "degraded": 1, **_common.freshness([r["time"] for r in rows], AS_OF, None)}


def cctv_sample():
    rows = [{"cctv_id": "66000C000001", "name": "中清路/環中路", "road": "中清路", "direction": None, "lon": 120.6556,
             "lat": 24.19963, "source": "taichung-csv", "time": ago(days=3)}]
    return {"as_of": AS_OF, "rows": rows, "data_time": ago(days=3), "stale": False}


def stations_sample():
    rows = [{"station_id": "467490", "name": "臺中", "lon": 120.68, "lat": 24.15, "district_code": "66000050",
             "time": ago(minutes=10), "temperature_c": 28.4, "humidity_pct": 70.0, "wind_speed_ms": 3.2,
             "wind_dir_deg": 270.0, "gust_ms": 7.5},
            {"station_id": "C0F000", "name": "無溫", "lon": 120.7, "lat": 24.2, "district_code": "66000080",
             "time": ago(minutes=10), "temperature_c": None, "humidity_pct": None, "wind_speed_ms": None,
             "wind_dir_deg": None, "gust_ms": None}]
    return {"as_of": AS_OF, "rows": rows, **_common.freshness([r["time"] for r in rows], AS_OF, stations.CADENCE)}


SAMPLES = {
    "alerts": alerts_sample, "rain": rain_sample, "stations": stations_sample, "water": water_sample,
    "shelters": shelter_rows, "events": events_sample, "incidents": incident_rows, "typhoon": typhoon_sample,
    "quake": quake_sample, "cctv": cctv_sample, "bts": bts_sample,
}
EMPTY = {
    "alerts": lambda: alerts.summarise([], AS_OF), "rain": lambda: rain.summarise([], AS_OF),
    "water": lambda: water.summarise([], AS_OF, []), "shelters": lambda: shelters.summarise([], AS_OF),
    "incidents": lambda: incidents.summarise([], AS_OF), "typhoon": lambda: typhoon.summarise([], AS_OF),
    "quake": lambda: quake.summarise([], AS_OF),
}


def layer(layer_id):
    return next(x for x in all_layers() if x.id == layer_id)


# --- every layer ---------------------------------------------------------------------------------

def test_every_feed_has_a_layer_with_a_query_and_a_patch():
    ids = {x.id for x in all_layers()}
    assert set(MINE) <= ids
    for layer_id in MINE:
        spec = layer(layer_id)
        assert spec.query is not None and spec.patch is not None and spec.feeds
        assert spec.title_key in catalogue("zh-TW") and spec.title_key in catalogue("en")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("layer_id", MINE)
def test_traces_build_and_patches_fit_them(layer_id, lang):
    spec = layer(layer_id)
    traces = spec.traces(lang)
    assert traces and all(isinstance(tr, go.Scatter) and tr.legendgroup == layer_id for tr in traces)
    assert len(traces) == len(spec.traces("zh-TW"))  # the same slots in every language
    assert any(tr.showlegend is not False for tr in traces)  # the legend can switch it
    for make in (SAMPLES[layer_id], EMPTY.get(layer_id, SAMPLES[layer_id])):
        updates = spec.patch(make(), lang)
        assert len(updates) == len(traces)
        fig = go.Figure(traces)  # every update is a valid Plotly property of its trace
        for trace, update in zip(fig.data, updates):
            trace.update({path.replace(".", "_"): value for path, value in update.items()})
            n = len(trace.x or ())
            assert len(trace.y or ()) == n
            for key in ("text", "hovertext"):
                value = getattr(trace, key)
                if isinstance(value, (list, tuple)) and trace.mode != "lines":
                    assert len(value) == n, (layer_id, key)


@pytest.mark.parametrize("lang", LANGS)
def test_the_whole_map_takes_every_patch(lang):
    fig = base_map(lang, "level2")
    for layer_id in MINE:
        apply_patches(fig, layer_id, layer(layer_id).patch(SAMPLES[layer_id](), lang))
    slots = trace_slots()
    rain_trace = fig.data[slots["rain"][0]]
    assert len(rain_trace.x) == 3 and rain_trace.visible is not False
    normal = base_map(lang, "normal")
    assert normal.data[slots["rain"][0]].visible == "legendonly"  # rain: activation levels only
    assert normal.data[slots["alerts"][0]].visible is None  # alerts: on at every level
    assert normal.data[slots["cctv"][0]].visible == "legendonly" and fig.data[slots["cctv"][0]].visible == "legendonly"


def test_default_levels():
    on = {x.id: x.levels for x in all_layers()}
    for layer_id in ("alerts", "incidents", "events", "typhoon", "quake"):
        assert "normal" in on[layer_id] and "level1" in on[layer_id]
    for layer_id in ("rain", "water", "shelters", "bts"):
        assert "normal" not in on[layer_id] and {"level3", "level2", "level1"} <= on[layer_id]
    assert not on["cctv"] and not on["stations"]


# --- pure transforms -------------------------------------------------------------------------------

def test_alerts_group_by_message_and_shade_each_district_by_its_worst_alert():
    data = alerts_sample()
    assert [a["identifier"] for a in data["alerts"]] == ["storm", "rain"]  # Taichung's, most severe first
    assert data["elsewhere"] == 1
    assert data["districts"]["66000080"]["severity"] == "Severe"
    assert data["districts"]["66000290"]["severity"] == "Moderate"
    assert alerts.info_for(data["alerts"][0], "en")["event"] == "Thunderstorm"
    assert alerts.info_for(data["alerts"][0], "zh-TW")["event"] == "雷雨"
    updates = alerts.patch(data, "en")
    severe, moderate = updates[alerts.CLASSES.index("Severe")], updates[alerts.CLASSES.index("Moderate")]
    assert severe["x"].count(None) >= 2 and moderate["x"]
    assert "(districts: 2)" in severe["name"]
    assert updates[alerts.CLASSES.index("Unknown")]["showlegend"] is False
    hover = " ".join(updates[-1]["text"])
    assert "<a href" not in hover and "&lt;a href=x&gt;" in hover  # feed text is inert
    assert updates[-1]["marker.symbol"].count("triangle-up") == 2  # Severe's shape


def test_ticker_lists_alerts_with_severity_in_words_and_areas():
    tile = alerts_ticker.render(alerts_sample(), "zh-TW", AS_OF)
    text = _text(tile)
    assert "▲ 嚴重" in text and "雷雨即時訊息" in text and "北屯區" in text and "和平區" in text
    assert tile.id == {"type": "tile", "id": "alerts"}
    empty = alerts_ticker.render(alerts.summarise([], AS_OF), "en", AS_OF)
    assert "No alert in force in Taichung" in _text(empty)


def test_rain_levels_shapes_and_summary():
    data = rain_sample()
    by = {r["station_id"]: r for r in data["rows"]}
    assert (by["A"]["rank"], by["B"]["rank"], by["C"]["rank"]) == (1, 2, 0)
    assert by["B"]["level_zh"] == "豪雨" and by["B"]["level_en"] == "Extremely heavy rain"
    marker, labels = rain.patch(data, "zh-TW")
    assert marker["marker.symbol"] == ["triangle-up", "square", "circle"]
    assert labels["text"] == [" 大雨 70", " 豪雨 210"]
    summary = weather.summarise(data)
    assert summary["max_1h"]["station_id"] == "A" and summary["max_24h"]["station_id"] == "B"
    assert {o["id"]: o["stations"] for o in summary["over"]}["heavy_rain"] == 1
    assert "豪雨 1 站" in _text(weather.render(summary, "zh-TW", AS_OF))
    stale = rain.summarise([{**rain_sample()["rows"][0], "time": ago(minutes=45)}], AS_OF)
    assert stale["stale"] and rain.patch(stale, "en")[0]["name"].startswith("▲ ")


def test_water_trend_or_warning_level():
    data = water_sample()
    assert [r["trend"] for r in data["rows"]] == ["rising_fast", "steady", "falling", "unknown"]
    assert data["rows"][0]["rate_m_h"] == pytest.approx(0.8)
    levels = [{"station_id": "W1", "levels": [
        {"id": "l1", "rank": 3, "zh": "一級警戒", "en": "Level 1", "any_of": {"water_level_m": 3.5}},
        {"id": "l2", "rank": 2, "zh": "二級警戒", "en": "Level 2", "any_of": {"water_level_m": 3.1}}]}]
    warned = water_sample(levels)["rows"][1]
    assert warned["warning_rank"] == 2 and water.style(warned) == water.WARNING_STYLE[2]
    _marker, labels = water.patch(water_sample(levels), "zh-TW")
    assert " 二級警戒" in labels["text"]


def test_water_predicate_is_the_index_predicate():
    from pathlib import Path

    migration = (Path(__file__).resolve().parents[2] / "schemas" / "sql" / "120_wall_indexes.sql").read_text()
    predicate = " ".join(water.WATER_PREDICATE.replace("d.", "").split())
    assert predicate in " ".join(migration.split())


def test_shelters_by_status_and_occupancy():
    data = shelter_rows()
    assert data["counts"] == {"open": 1, "full": 1, "closed": 1} and data["people"] == 130
    update = shelters.patch(data, "en")[0]
    assert update["marker.symbol"] == ["pentagon", "square", "x", "pentagon-open"]
    assert update["marker.color"][1] == shelters.FULL and update["marker.size"][3] < update["marker.size"][0]
    assert "No opening reported" in update["text"][3]


def test_events_draw_lines_and_emphasise_closures():
    lines, closures, points, labels = events.patch(events_sample(), "zh-TW")
    assert len(closures["x"]) == 4 and closures["x"][-1] is None  # the closure's 3 vertices
    assert len(lines["x"]) == 4  # the works' line; the accident is a point
    assert points["marker.symbol"] == ["x", "triangle-up", "square"]
    assert points["marker.size"][0] > points["marker.size"][1]
    assert labels["text"] == [" 道路封閉"]
    assert "&lt;script&gt;" in points["text"][0] and "<script>" not in points["text"][0]
    assert "封閉車道 1、2" in points["text"][2]


def test_incidents_shape_by_priority_fill_by_status():
    data = incident_rows()
    assert data["open"] == 3 and data["by_priority"] == {1: 1, 2: 2, 3: 0}
    closed, open_ = incidents.patch(data, "en")
    assert len(closed["x"]) + len(open_["x"]) == 3  # the one without a position is listed, not drawn
    assert closed["marker.symbol"] == ["x"] and open_["marker.symbol"] == ["diamond-dot", "star-open"]  # P1 on top
    assert "&lt;b&gt;" in open_["text"][1] and open_["name"].startswith("110 incidents")
    tile = incidents_list.render(data, "zh-TW", AS_OF)
    text = _text(tile)
    assert "★ P1" in text and "交通事故" in text and "西屯區" in text and "受理" in text and "3 分鐘前" in text


def test_typhoon_off_the_map_gets_an_edge_arrow():
    data = typhoon_sample()
    (c,) = data["cyclones"]
    assert len(c["track"]) == 3 and len(c["forecast"]) == 3  # latest fix + the newest forecast's 2
    assert not c["on_map"] and 400 < c["distance_km"] < 500
    track, forecast, wind, centre, arrow, label = typhoon.patch(data, "zh-TW")
    assert len(wind["x"]) == 74  # a closed circle and its separator
    x0, y0, x1, y1 = _common.bounds()
    (ax,), (ay,) = arrow["x"], arrow["y"]
    assert x0 <= ax <= x1 and y0 <= ay <= y1 and 135 < arrow["marker.angle"][0] < 225  # south-ish
    assert "樺加沙颱風" in label["text"][0] and "公里" in label["text"][0]
    gone = typhoon.summarise([{**f, "time": f["time"] - timedelta(days=2)} for f in [
        {"cyclone_id": "x", "kind": "analysis", "time": AS_OF, "base_time": AS_OF, "lon": 125.0, "lat": 20.0,
         "issued": AS_OF, "name_zh": None, "name_en": "OLD", "radius_15ms_km": None}]], AS_OF)
    assert gone["cyclones"] == []  # no analysis for a day: no longer tracked


def test_quake_rings_intensity_labels_and_legend():
    data = quake_sample()
    latest = data["reports"][0]
    assert latest["stations"] and not data["reports"][1]["stations"]
    rings, ring_labels, station_marks, epicentres, arrow, label = quake.patch(data, "zh-TW")
    assert rings["x"].count(None) == len(quake.RINGS_KM)
    assert station_marks["text"] == ["3", "5弱"]
    assert epicentres["marker.size"][0] > epicentres["marker.size"][1]
    assert "臺中 5弱" in epicentres["name"]
    assert latest["on_map"] is False and arrow["x"] and "規模 6.1" in label["text"][0]
    assert quake.patch(quake_sample(), "en")[3]["name"].startswith("Earthquake M6.1 · Taichung 5 Lower")


def test_bts_only_stations_out():
    update = bts.patch(bts_sample(), "en")[0]
    assert update["marker.symbol"] == ["x", "triangle-down-open"]
    assert update["name"].startswith("Base stations out: 1 down · 1 degraded")


def test_common_helpers():
    assert _common.inert("<a href='javascript:x'>go</a>\x07 ok") == "&lt;a href='javascript:x'&gt;go&lt;/a&gt; ok"
    assert len(_common.inert("x" * 500, 20)) == 20
    assert _common.compass(_common.bearing_deg(120.6, 24.1, 120.6, 25.0), "en") == "north"
    assert _common.distance_km(120.0, 24.0, 121.0, 24.0) == pytest.approx(101.6, abs=0.5)
    x, y, angle = _common.edge_point(130.0, 24.2)
    assert x < _common.bounds()[2] and 80 < angle < 100  # due east: pointing right
    assert _common.legend_name("layers.rain", {"data_time": None}, "en") == "Rain gauges · no data"
    assert _common.clock(ago(minutes=5), AS_OF) == "14:55"
    assert _common.clock(ago(days=2), AS_OF) == "9/22 15:00"


def test_kept_answers_and_reused_patches():
    calls = []

    @_common.kept_for(60)
    def sites(db, as_of):
        calls.append(db)
        return {"rows": [len(calls)]}

    db1, db2 = object(), object()
    assert sites(db1, AS_OF) is sites(db1, ago(days=3))  # places: the same answer at any moment
    assert sites(db2, AS_OF)["rows"] == [2] and len(calls) == 2  # kept per database

    built = []

    @_common.same_data_same_patch
    def patch(data, lang):
        built.append(lang)
        return [{"x": data["rows"]}]

    data = {"rows": [1]}
    assert patch(data, "en") is patch(data, "en") and built == ["en"]
    patch(data, "zh-TW")
    patch({"rows": [1]}, "en")  # new data, even if equal: built again
    assert built == ["en", "zh-TW", "en"]


def test_every_category_and_kind_has_words():
    for lang in LANGS:
        words = catalogue(lang)
        assert all(f"layers.incident_category.{c}" in words for c in CATEGORIES)
        assert all(f"layers.event_kind.{k}" in words for k in KINDS)
        assert all(f"layers.intensity.{r}" in words and f"layers.intensity_short.{r}" in words for r in range(10))


def _text(component) -> str:
    """Every text in a Dash component tree."""
    children = getattr(component, "children", None)
    if children is None:
        return str(component) if isinstance(component, str) else ""
    if isinstance(children, (list, tuple)):
        return " ".join(_text(c) for c in children if c is not None)
    return _text(children) if not isinstance(children, str) else children
