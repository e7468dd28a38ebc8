"""Shelters, task sources and the situation report on real rows, written by the real ingest
stages (parse -> rows -> sink) from feed messages: a CAP alert with a polygon around the city
hall, the shelter list and occupancy updates, a 110 incident."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import orjson
import pytest

from ingest.envelope import Envelope
from ingest.feeds import all_feeds
from ingest.feeds.shelters import REQUIRED_COLUMNS
from ingest.pipeline import Router, process
from ingest.sink import Sink, all_tables
from ioc.db import connect
from ioc.ops import shelters, sitrep, staffing, tasks

pytestmark = pytest.mark.integration
HALL = (120.6469, 24.1617)  # Taichung City Hall, 西屯區


def cap_alert(now: datetime, headline: str) -> bytes:
    d = 0.02  # a square of about 4 km around the city hall
    ring = [(HALL[1] - d, HALL[0] - d), (HALL[1] - d, HALL[0] + d), (HALL[1] + d, HALL[0] + d),
            (HALL[1] + d, HALL[0] - d), (HALL[1] - d, HALL[0] - d)]
    polygon = " ".join(f"{lat},{lon}" for lat, lon in ring)
    iso = lambda t: t.astimezone(timezone(timedelta(hours=8))).isoformat(timespec="seconds")  # noqa: E731
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TEST-FLOOD-1</identifier><sender>test@ioc.example</sender><sent>{iso(now - timedelta(minutes=5))}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>zh-TW</language><category>Met</category><event>淹水</event><urgency>Immediate</urgency>
    <severity>Severe</severity><certainty>Observed</certainty>
    <expires>{iso(now + timedelta(hours=3))}</expires><senderName>測試</senderName>
    <headline>{escape(headline)}</headline><description>test</description>
    <area><areaDesc>市政府周邊</areaDesc><polygon>{polygon}</polygon></area>
  </info>
</alert>""".encode()


def shelter_list() -> bytes:
    rows = [",".join(REQUIRED_COLUMNS)]
    for sid, name, dlon in (("9001", "市府旁活動中心", 0.005), ("9002", "遠方國小", 0.06), ("9003", "額滿中學", 0.001),
                            ("9004", "未開設禮堂", 0.002)):
        values = {"序號": sid, "縣市及鄉鎮市區": "臺中市西屯區", "村里": "", "避難收容處所地址": f"臺中市西屯區{name}路1號",
                  "經度": f"{HALL[0] + dlon:.5f}", "緯度": f"{HALL[1]:.5f}", "避難收容處所名稱": name,
                  "預計收容村里": "", "預計收容人數": "200", "適用災害類別": "水災", "室內": "是", "室外": "否",
                  "適合避難弱者安置": "是"}
        rows.append(",".join(values[c] for c in REQUIRED_COLUMNS))
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def scene(db):
    now = datetime.now(timezone.utc)
    router = Router(all_feeds())
    messages = [
        ("ioc/v1/disaster/cap", cap_alert(now, "市府周邊淹水<script>alert(1)</script>")),
        ("ioc/v1/disaster/shelter-list", shelter_list()),
        *((f"ioc/v1/disaster/shelters/{sid}", orjson.dumps({"shelter_id": sid, "time": (now - timedelta(minutes=2)).isoformat(),
                                                            "occupancy": occ, "status": status}))
          for sid, occ, status in (("9001", 50, "open"), ("9002", 10, "open"), ("9003", 200, "full"),
                                   ("9004", 0, "closed"))),
        ("ioc/v1/police/incidents", orjson.dumps({
            "id": "110-TEST-1", "category": "rescue", "priority": 1, "status": "dispatched",
            "reported_at": (now - timedelta(minutes=10)).isoformat(), "dispatched_at": (now - timedelta(minutes=8)).isoformat(),
            "updated_at": (now - timedelta(minutes=8)).isoformat(), "lon": HALL[0] + 0.05, "lat": HALL[1],
            "address": "臺中市西屯區測試路"})),
    ]
    sink = Sink(db.url, all_tables())
    items = []
    for topic, payload in messages:
        env = Envelope("file", topic, payload, now)
        outcome = process(env, router.feed_for(topic))
        assert hasattr(outcome, "rows"), (topic, outcome)
        items.append((env, outcome))
    sink.write(items)
    sink.close()
    return now


def test_open_shelters_and_the_nearest_to_an_alert_and_an_incident(db, scene):
    now = datetime.now(timezone.utc)
    with connect(db.url, autocommit=True) as conn:
        open_now = shelters.open_at(conn, now)
        assert {s["shelter_id"]: s["status"] for s in open_now} == {"9001": "open", "9002": "open", "9003": "full"}
        assert next(s for s in open_now if s["shelter_id"] == "9001")["room"] == 150
        near_alert = shelters.nearest_to_alert(conn, "TEST-FLOOD-1", now)
        assert [s["shelter_id"] for s in near_alert] == ["9001", "9002"]  # full and closed ones are not offered
        assert near_alert[0]["inside"] and near_alert[0]["distance_m"] == 0
        assert not near_alert[1]["inside"] and near_alert[1]["distance_m"] > 3000
        near_incident = shelters.nearest_to_incident(conn, "110-TEST-1", now)
        assert [s["shelter_id"] for s in near_incident] == ["9002", "9001"]  # the incident is 0.05 deg east
        assert near_incident[0]["distance_m"] < 1100
        # An hour ago nothing had been reported: the moment asked about is the moment shown.
        assert shelters.open_at(conn, now - timedelta(hours=1)) == []


def test_tasks_take_their_place_from_the_alert_or_the_incident(db, scene):
    from shapely.geometry import Point, box

    with connect(db.url, autocommit=True) as conn:
        from_alert = tasks.create_task(conn, tasks.NewTask("water", "巡查淹水", 1, "alert", "TEST-FLOOD-1"),
                                       actor="t", role="coordinator")
        from_incident = tasks.create_task(conn, tasks.NewTask("fire", "支援救援", 1, "incident", "110-TEST-1"),
                                          actor="t", role="coordinator")
        with pytest.raises(tasks.TaskError, match="no alert"):
            tasks.create_task(conn, tasks.NewTask("water", "x", 1, "alert", "NO-SUCH-ALERT"), actor="t", role="t")
    area = box(HALL[0] - 0.02, HALL[1] - 0.02, HALL[0] + 0.02, HALL[1] + 0.02)
    assert area.contains(Point(from_alert["lon"], from_alert["lat"])) and from_alert["district"] == "66000060"
    assert (from_incident["lon"], from_incident["lat"]) == pytest.approx((HALL[0] + 0.05, HALL[1]))


def test_the_situation_report_of_a_moment(db, scene):
    now = datetime.now(timezone.utc)
    with connect(db.url, autocommit=True) as conn:
        task = tasks.create_task(conn, tasks.NewTask("water", "抽水", 2), actor="t", role="coordinator")
        staffing.check_in(conn, "fire", "王小明", actor="t", role="duty_officer")
        report = sitrep.build(conn, datetime.now(timezone.utc))
        earlier = sitrep.build(conn, now - timedelta(hours=1))
    assert [a["identifier"] for a in report["alerts"]] == ["TEST-FLOOD-1"]
    assert "66000060" in report["alerts"][0]["districts"]  # 西屯區, among those the square touches
    assert [i["id"] for i in report["incidents"]] == ["110-TEST-1"]
    assert [t["id"] for t in report["tasks"]] == [task["id"]] and report["board"][0]["agency"] == "water"
    assert report["shelter_summary"]["open"] == 2 and report["shelter_summary"]["full"] == 1
    assert report["staffing"]["checked_in"]["fire"][0]["person"] == "王小明"
    assert report["coverage"] is None  # no coverage snapshot yet
    assert earlier["alerts"] == [] and earlier["incidents"] == [] and earlier["tasks"] == []

    html = sitrep.render_html(report, "zh-TW")
    assert "市府周邊淹水&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "西屯區" in html and "水利局" in html and "抽水" in html
    english = sitrep.render_html(report, "en")
    assert "Situation report" in english and "Water Resources Bureau" in english
    pdf = sitrep.render_pdf(html)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000


def test_the_duty_log_keeps_entries_handover_and_events_with_their_shift(db):
    from ioc.ops import dutylog
    from ioc.ops.levels import set_level

    with connect(db.url, autocommit=True) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]
        start, end = dutylog.current_shift(now)
        previous_start, previous_end = dutylog.previous_shift(start)
        assert previous_end == start
        # The outgoing shift's handover note (written during the previous shift).
        conn.execute("INSERT INTO duty_log_entry (time, shift_start, author, role, kind, text) "
                     "VALUES (%s, %s, 'officer-a', 'duty_officer', 'handover', '抽水機 3 台待命')",
                     (start - timedelta(minutes=5), previous_start))
        entry = dutylog.add_entry(conn, "接班，確認通訊正常", actor="officer-b", role="duty_officer")
        handover = dutylog.add_entry(conn, "颱風警報持續", kind="handover", actor="officer-b", role="duty_officer")
        set_level(conn, "level3", reason="颱風警報", actor="officer-c", role="coordinator")
        task = tasks.create_task(conn, tasks.NewTask("fire", "巡查", 2), actor="officer-c", role="coordinator")
        with pytest.raises(dutylog.DutyLogError):
            dutylog.add_entry(conn, "   ", actor="officer-b", role="duty_officer")
        with pytest.raises(dutylog.DutyLogError):
            dutylog.add_entry(conn, "x", kind="gossip", actor="officer-b", role="duty_officer")
        shift = dutylog.shift_log(conn, start, end, datetime.now(timezone.utc) + timedelta(seconds=1))
    assert entry["shift_start"] == start and handover["kind"] == "handover"
    assert [(e["kind"], e["text"]) for e in shift["entries"]] == [("entry", "接班，確認通訊正常"),
                                                                   ("handover", "颱風警報持續")]
    assert [e["text"] for e in shift["handed_over"]] == ["抽水機 3 台待命"]
    kinds = [(e["kind"], e["task_id"]) for e in shift["events"]]
    assert ("level", None) in kinds and ("task.created", task["id"]) in kinds
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'dutylog.%' AND actor = 'officer-b'") == 2
