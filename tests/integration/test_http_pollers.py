"""The HTTP pollers against a local server serving the recorded payloads (CWA, NCDR CAP, Civil
IoT SensorThings, TDX), writing into a real TimescaleDB: payloads land in their tables; 304s
and unchanged answers are heartbeats; a restart re-requests the overlap window and misses
nothing; slow servers, 5xx, refused connections, huge bodies and garbage never hang or stop
the poller, and bad payloads are dead-lettered with a reason. Keys never reach a log line."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

from ingest.sources._fetch import Limits
from ingest.sources.http import Poller, PollOptions, RoundReport, run_pollers
from ingest.sources.polls import all_specs, redactor, tdx
from tests.support.fake_http import FakeServer, Reply, Request, sequence, static, trickle
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CWA_KEY = "CWA-TEST-0000-SECRET-KEY"
TDX_SECRET = "tdx-client-secret-9876"
TDX_TOKEN = "tdx-bearer-token-abcdef"
DATASTORE = "/api/v1/rest/datastore/"
STA_PATH = "/STA_WaterResource_v2/v1.0/Datastreams"
FAST = PollOptions(limits=Limits(connect_s=2, read_s=3, deadline_s=8, retries=2, backoff_s=0.05,
                                 backoff_cap_s=0.2, max_bytes=16 << 20),
                   overlap=timedelta(minutes=30), lookback=timedelta(hours=24))


# --- recorded payloads, moved to the present -------------------------------------------------------

_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_STAMP = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})")


def recent(raw: bytes) -> bytes:
    """The payload with every date moved by whole days, so its newest time is within the last
    day and the live plausibility window (14 days) accepts it."""
    text = raw.decode("utf-8")
    newest = max(datetime.fromisoformat(f"{d}T{t}") for d, t in _STAMP.findall(text))
    days = (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1) - newest).days

    def move(m: re.Match) -> str:
        try:
            return (date(int(m[1]), int(m[2]), int(m[3])) + timedelta(days=days)).isoformat()
        except ValueError:
            return m[0]

    return _DATE.sub(move, text).encode("utf-8")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.stop()


def source_settings(server: FakeServer) -> dict[str, str]:
    """Every source pointed at the local server, with test credentials."""
    return {
        "IOC_CWA_API_KEY": CWA_KEY, "IOC_CWA_BASE_URL": server.base,
        "IOC_CAP_INDEX_URL": server.url("/cap/index.atom"),
        "IOC_STA_BASE_URL": server.url("/STA_WaterResource_v2/v1.0"),
        "IOC_TDX_CLIENT_ID": "ioc-test-client", "IOC_TDX_CLIENT_SECRET": TDX_SECRET,
        "IOC_TDX_BASE_URL": server.url("/api/basic"), "IOC_TDX_TOKEN_URL": server.url("/auth/token"),
    }


@pytest.fixture
def sources(monkeypatch, server):
    for name, value in source_settings(server).items():
        monkeypatch.setenv(name, value)
    return server


def bounded(fn, seconds: float = 60.0):
    """Run `fn` in a thread and wait for it at most `seconds` (a hung poller fails the test)."""
    result, errors = [], []
    thread = threading.Thread(target=lambda: _capture(fn, result, errors), daemon=True)
    thread.start()
    wait_until(lambda: not thread.is_alive(), seconds, message=f"{getattr(fn, '__name__', 'call')} returned")
    if errors:
        raise errors[0]
    return result[0]


def _capture(fn, result, errors):
    try:
        result.append(fn())
    except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
        errors.append(exc)


def poll(db, name: str, options: PollOptions = FAST, poller: Poller | None = None) -> RoundReport:
    own = poller is None
    poller = poller or Poller(db.url, options, redact=redactor())
    try:
        return bounded(lambda: poller.poll(all_specs()[name]), 60)
    finally:
        if own:
            poller.close()


def count(db, table: str, where: str = "true") -> int:
    return db.scalar(f"SELECT count(*) FROM {table} WHERE {where}")


def next_second() -> None:
    """feed_activity keeps one row per feed and second: start a fresh one."""
    now = int(time.time())
    wait_until(lambda: int(time.time()) > now, 3, message="the next second")


def serve_cwa(server: FakeServer, **validators) -> dict[str, bytes]:
    payloads = {
        "O-A0001-001": recent(fixture("cwa/O-A0001-001_taichung_2025-03-09.json")),
        "O-A0003-001": recent(fixture("cwa/O-A0003-001_5stations_2025-03-09.json")),
        "O-A0002-001": recent(fixture("cwa/O-A0002-001_legacy_cwbopendata_taichung_2022-03-10.json")),
        "E-A0015-001": recent(fixture("cwa/E-A0015-001_3reports_2025-09_11.json")),
    }
    for dataset, body in payloads.items():
        server.route(DATASTORE + dataset, static(body, **validators.get(dataset, {})))
    server.route("/fileapi/v1/opendataapi/W-C0034-005",
                 static(recent(fixture("cwa/W-C0034-005_typhoon_RAGASA_2025-09-24.json"))))
    return payloads


def assert_no_secret_in(db, text: str) -> None:
    for secret in (CWA_KEY, TDX_SECRET, TDX_TOKEN, quote(CWA_KEY)):
        assert secret not in text
        for table, column in (("dead_letter", "topic"), ("dead_letter", "error"),
                              ("poll_state", "validators::text"), ("poll_state", "last_error")):
            where = f"position({db_literal(secret)} in coalesce({column}, '')) > 0"
            assert not count(db, table, where), (table, column)


def db_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- every source lands in its tables ---------------------------------------------------------------

def test_cwa_payloads_land_in_their_tables_and_the_key_stays_secret(db, sources, caplog):
    caplog.set_level("INFO")
    serve_cwa(sources)
    for name in ("cwa-stations", "cwa-rain", "cwa-quake", "cwa-typhoon"):
        report = poll(db, name)
        assert report.ok, (name, report.error)
        assert report.written >= 1 and not report.heartbeat

    assert count(db, "cwa_station_reading", "station_id = '467490'") == 1  # 臺中 (O-A0003-001)
    assert count(db, "cwa_station_reading") > 20  # the Taichung stations of O-A0001-001 too
    assert count(db, "cwa_rain_reading") > 50
    assert count(db, "cwa_quake_report") == 3
    assert count(db, "cwa_typhoon_fix") > 0
    for feed in ("cwa-stations", "cwa-rain", "cwa-quake", "cwa-typhoon"):
        assert db.scalar("SELECT sum(stored) FROM feed_activity WHERE feed = %s", (feed,)) >= 1, feed

    requested = [r for r in sources.requests if r.path.startswith(("/api/", "/fileapi/"))]
    assert len(requested) == 5
    assert all(r.query["Authorization"] == CWA_KEY and r.query["format"] == "JSON" for r in requested)
    assert sources.hits(DATASTORE + "E-A0015-001")[0].query["limit"] == "20"
    # Records refused on their own (if any) are kept with the URL, its key masked.
    topics = [t for (t,) in db.query("SELECT topic FROM dead_letter")]
    assert all("Authorization=***" in t for t in topics), topics
    assert_no_secret_in(db, caplog.text)


def test_cap_index_entries_are_fetched_once_old_ones_skipped_and_a_restart_fetches_only_new_ones(db, sources):
    now = datetime.now(timezone.utc)
    docs = {
        "/cap/rain.cap": recent(fixture("cap/tw_fifows_extremely-rain_202404230229.cap")),
        "/cap/thunder.cap": recent(fixture("cap/tw_cwa.gov.tw_thunderstorm_20240424044654_000.cap")),
        "/cap/heat.cap": recent(fixture("cap/tw_fifows_heat_202404221733.cap")),
        "/cap/cdc.xml": recent(fixture("cap/tw_CDC_communicable_20190521123448_001.xml")),
    }
    for path, body in docs.items():
        sources.route(path, static(body, content_type="application/xml"))
    # Listed within the overlap window (30 min), so every round sees them again.
    entries = [("urn:rain", "/cap/rain.cap", now - timedelta(minutes=20)),
               ("urn:thunder", sources.url("/cap/thunder.cap"), now - timedelta(minutes=10)),  # absolute link
               ("urn:gone", "/cap/gone.cap", now - timedelta(minutes=15)),  # the server answers 404
               ("urn:old", "/cap/heat.cap", now - timedelta(days=3))]  # the index keeps old entries
    sources.route("/cap/index.atom", static(atom(entries), etag='"index-1"', content_type="application/atom+xml"))

    report = poll(db, "cap")
    assert report.ok, report.error
    assert count(db, "cap_alert") == 2
    assert [len(sources.hits(p)) for p in ("/cap/rain.cap", "/cap/thunder.cap", "/cap/gone.cap", "/cap/heat.cap")] \
        == [1, 1, 1, 0]
    gone = db.query("SELECT feed, source, stage, error FROM dead_letter WHERE topic LIKE '%gone.cap'")
    assert gone == [("cap", "http", "validate", "fetching the index entry failed: HTTP 404")]
    assert count(db, "cap_area") > 70  # the rain warning's 73 areas, and the thunderstorm's

    # A restarted poller (a new object: its memory is in the database): the index has not
    # changed (304), so no entry is fetched again, and the round is a heartbeat.
    next_second()
    report = poll(db, "cap")
    assert report.ok and report.not_modified == 1 and report.heartbeat, report
    assert sources.hits("/cap/index.atom")[-1].headers["if-none-match"] == '"index-1"'
    assert len(sources.requests) == 5  # 4 in the first round, the index in this one
    assert db.query("SELECT received, stored FROM feed_activity WHERE feed = 'cap' ORDER BY time DESC LIMIT 1") \
        == [(0, 0)]

    # Published while the poller was away: only the new entry is fetched.
    entries.append(("urn:cdc", "/cap/cdc.xml", now - timedelta(minutes=5)))
    sources.route("/cap/index.atom", static(atom(entries), etag='"index-2"', content_type="application/atom+xml"))
    report = poll(db, "cap")
    assert report.ok and report.skipped == 3, report  # rain, thunder, gone: already fetched
    assert count(db, "cap_alert") == 3
    assert [len(sources.hits(p)) for p in ("/cap/rain.cap", "/cap/thunder.cap", "/cap/gone.cap", "/cap/cdc.xml")] \
        == [1, 1, 1, 1]


def atom(entries: list[tuple[str, str, datetime]]) -> bytes:
    items = "".join(f'<entry><id>{i}</id><title>{i}</title><updated>{t.isoformat()}</updated>'
                    f'<link rel="alternate" type="application/cap+xml" href="{link}"/></entry>'
                    for i, link, t in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<id>urn:test</id><title>alerts</title><updated>{datetime.now(timezone.utc).isoformat()}</updated>'
            f'{items}</feed>').encode()


class StaService:
    """A SensorThings service of 3 datastreams (from the recorded Thing(1)), 2 per page, whose
    observations (datastream 1) are filtered by the `phenomenonTime ge` the poller asks for."""

    def __init__(self, server: FakeServer, observations: list[tuple[datetime, float]]):
        self.server = server
        self.observations = observations
        thing = json.loads(fixture("sta/sta_epaiot_Thing1_expand_Locations_2021-03-20.json"))
        thing["@iot.id"] = 1
        self.thing = thing
        self.datastreams = json.loads(fixture("sta/sta_epaiot_Thing1_Datastreams_2021-03-20.json"))["value"]
        self.sinces: list[datetime] = []
        server.route(STA_PATH, self.answer)

    def answer(self, request: Request) -> Reply:
        since = re.search(r"phenomenonTime ge ([0-9TZ:.\-]+)", request.query.get("$expand", ""))
        since = datetime.fromisoformat(since[1].replace("Z", "+00:00"))
        self.sinces.append(since)
        skip = int(request.query.get("$skip", 0))
        page = []
        for ds in self.datastreams[skip:skip + 2]:
            ds = {**ds, "Thing": self.thing, "Observations": []}
            if ds["@iot.id"] == 1:
                ds["Observations"] = [{"@iot.id": int(t.timestamp()), "phenomenonTime": t.isoformat(), "result": v,
                                       "resultTime": None} for t, v in sorted(self.observations) if t >= since]
            page.append(ds)
        doc = {"value": page}
        if skip + 2 < len(self.datastreams):
            doc["@iot.nextLink"] = self.server.url(f"{STA_PATH}?{request.raw_query}&$skip={skip + 2}")
        return Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})


def test_sta_pages_through_next_link_and_asks_for_observations_since_the_lookback(db, sources):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sta = StaService(sources, [(now - timedelta(minutes=20), 1.5), (now - timedelta(minutes=10), 1.75),
                               (now - timedelta(days=2), 9.9)])  # older than the first round's lookback
    report = poll(db, "sta")
    assert report.ok, report.error
    assert report.requests == 2 and len(sources.hits(STA_PATH)) == 2  # page 1, then its @iot.nextLink
    first = sources.hits(STA_PATH)[0]
    assert first.query["$filter"].startswith("st_within(Thing/Locations/location")
    assert "Thing($expand=Locations)" in first.query["$expand"]
    assert abs((sta.sinces[0] - (now - timedelta(hours=24))).total_seconds()) < 60
    assert count(db, "sta_thing") == 1
    assert count(db, "sta_datastream") == 3
    assert db.query("SELECT result FROM sta_observation ORDER BY time") == [(1.5,), (1.75,)]
    assert db.scalar("SELECT last_data_at FROM poll_state WHERE poller = 'sta'") == now - timedelta(minutes=10)


def test_a_restarted_poller_rerequests_with_the_overlap_and_misses_nothing(db, sources, tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sta = StaService(sources, [(now - timedelta(minutes=50), 1.0), (now - timedelta(minutes=40), 2.0)])
    assert poll(db, "sta").ok
    assert count(db, "sta_observation") == 2

    # While the poller is down: a new reading, and one published late for a time before the
    # newest stored one (within the overlap window).
    sta.observations += [(now - timedelta(minutes=20), 3.0), (now - timedelta(minutes=45), 4.0)]

    # Restarted as a new process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(source_settings(sources), IOC_DATABASE_URL=db.url, IOC_DATABASE_OWNER_URL=db.owner_url,
               IOC_LOG_LEVEL="INFO", IOC_POLL_RETRIES="1", IOC_POLL_BACKOFF_S="0.1")
    log_path = tmp_path / "poll.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "ioc", "poll", "--only", "sta", "--once"], env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
        try:
            bounded(process.wait, 60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, log_path.read_text()
    assert sta.sinces[-1] == now - timedelta(minutes=40) - timedelta(minutes=30)  # last data - overlap
    assert db.query("SELECT result FROM sta_observation ORDER BY time") == [(1.0,), (4.0,), (2.0,), (3.0,)]
    assert "poll sta ok" in log_path.read_text()


def test_tdx_gets_a_token_pages_through_lists_and_asks_conditionally(db, sources, monkeypatch, caplog):
    caplog.set_level("INFO")
    monkeypatch.setattr(tdx, "PAGE", 2)  # the recorded lists are short: page them two by two
    sources.route("/auth/token", Reply(200, json.dumps({"access_token": TDX_TOKEN, "expires_in": 86400,
                                                        "token_type": "Bearer"}).encode()))
    city = "/api/basic/v2/Road/Traffic"
    lists = {f"{city}/VD/City/Taichung": ("VDs", json.loads(fixture("tdx/ptx_v2_freeway_VD_sample_2019.json"))),
             f"{city}/CCTV/City/Taichung": ("CCTVs",
                                            json.loads(fixture("tdx/ptx_v2_freeway_CCTV_sample_2019.json")))}

    def paged(path):
        name, doc = lists[path]

        def answer(request: Request) -> Reply:
            if request.headers.get("authorization") != f"Bearer {TDX_TOKEN}":
                return Reply(401, b'{"message": "unauthorized"}')
            skip, top = int(request.query["$skip"]), int(request.query["$top"])
            return Reply(200, json.dumps({**doc, name: doc[name][skip:skip + top]}).encode(),
                         {"Content-Type": "application/json"})
        return answer

    for path in lists:
        sources.route(path, paged(path))
    live_doc = json.loads(recent(fixture("tdx/ptx_v2_freeway_VDLive_sample_2019.json")))
    live_doc["VDLives"] = live_doc["VDLives"][:1]  # one page: the second round's answer is a 304
    sources.route(f"{city}/Live/VD/City/Taichung", static(json.dumps(live_doc).encode(),
                                                          last_modified=time.time() - 60))

    for name in ("tdx-vd", "tdx-cctv", "tdx-vdlive"):
        report = poll(db, name)
        assert report.ok, (name, report.error)
    assert count(db, "vd_site") == 5  # 3 pages of 2
    assert count(db, "cctv_site") == 3
    assert count(db, "vd_reading") == 1
    assert len(sources.hits(f"{city}/VD/City/Taichung")) == 3
    tokens = sources.hits("/auth/token")
    assert len(tokens) == 1  # one token for all TDX pollers until it nears expiry
    assert b"grant_type=client_credentials" in tokens[0].body and b"client_id=ioc-test-client" in tokens[0].body

    next_second()
    report = poll(db, "tdx-vdlive")
    assert report.ok and report.not_modified == 1 and report.heartbeat, report
    assert "if-modified-since" in sources.hits(f"{city}/Live/VD/City/Taichung")[-1].headers
    assert count(db, "vd_reading") == 1

    # A server that ignores $skip answers every page alike: the round stops at the second page
    # (instead of paging forever) and says why.
    two = {**live_doc, "VDLives": json.loads(recent(fixture("tdx/ptx_v2_freeway_VDLive_sample_2019.json")))[
        "VDLives"][:2]}
    sources.route(f"{city}/Live/VD/City/Taichung", static(json.dumps(two).encode()))
    before = len(sources.hits(f"{city}/Live/VD/City/Taichung"))
    report = poll(db, "tdx-vdlive")
    assert not report.ok and "ignore the paging" in report.error, report
    assert len(sources.hits(f"{city}/Live/VD/City/Taichung")) == before + 2
    assert_no_secret_in(db, caplog.text)


# --- nothing new is a sign of life ----------------------------------------------------------------

def test_a_304_or_an_unchanged_body_stores_nothing_new_but_is_a_heartbeat(db, sources):
    serve_cwa(sources, **{"O-A0001-001": {"etag": '"v1"'}, "O-A0003-001": {"last_modified": time.time() - 600}})
    first = poll(db, "cwa-stations")
    assert first.ok and first.written == 2, first
    readings = count(db, "cwa_station_reading")
    received = db.scalar("SELECT sum(received) FROM feed_activity WHERE feed = 'cwa-stations'")

    next_second()
    second = poll(db, "cwa-stations")
    assert second.ok and second.not_modified == 2 and second.written == 0 and second.heartbeat, second
    a1, a3 = sources.hits(DATASTORE + "O-A0001-001")[-1], sources.hits(DATASTORE + "O-A0003-001")[-1]
    assert a1.headers["if-none-match"] == '"v1"'
    assert "if-modified-since" in a3.headers
    assert count(db, "cwa_station_reading") == readings
    heartbeat = db.query("SELECT received, stored, rejected, last_data_at FROM feed_activity "
                         "WHERE feed = 'cwa-stations' ORDER BY time DESC LIMIT 1")
    assert heartbeat[0][:3] == (0, 0, 0) and heartbeat[0][3] is not None
    assert db.scalar("SELECT sum(received) FROM feed_activity WHERE feed = 'cwa-stations'") == received

    # A server without validators: the same bytes again are not parsed again.
    assert poll(db, "cwa-rain").written == 1
    next_second()
    again = poll(db, "cwa-rain")
    assert again.ok and again.unchanged == 1 and again.written == 0 and again.heartbeat, again


# --- faults --------------------------------------------------------------------------------------

def test_a_slow_server_is_abandoned_at_the_deadline_retried_and_the_poller_carries_on(db, sources):
    payloads = serve_cwa(sources)
    options = PollOptions(limits=Limits(connect_s=1, read_s=1, deadline_s=2, retries=1, backoff_s=0.05,
                                        backoff_cap_s=0.1))
    poller = Poller(db.url, options, redact=redactor())
    try:
        rain = DATASTORE + "O-A0002-001"
        sources.route(rain, Reply(200, payloads["O-A0002-001"], delay_s=60))  # says nothing at all
        report = poll(db, "cwa-rain", poller=poller)
        assert not report.ok and "timed out" in report.error, report
        assert len(sources.hits(rain)) == 2  # tried, then retried

        # Headers at once, then a byte every 0.4 s: no read ever times out, the deadline does.
        sources.route(rain, lambda request: trickle(payloads["O-A0002-001"], 0.4))
        report = poll(db, "cwa-rain", poller=poller)
        assert not report.ok and "deadline of 2 s" in report.error, report
        assert len(sources.hits(rain)) == 4
        assert db.scalar("SELECT failures FROM poll_state WHERE poller = 'cwa-rain'") == 2

        sources.route(rain, static(payloads["O-A0002-001"]))
        report = poll(db, "cwa-rain", poller=poller)
        assert report.ok and report.written == 1, report
        assert db.query("SELECT failures, last_error FROM poll_state WHERE poller = 'cwa-rain'") == [(0, None)]
    finally:
        poller.close()


def test_server_errors_are_retried_with_backoff_and_the_running_poller_keeps_going(db, sources, monkeypatch):
    payloads = serve_cwa(sources)
    stations = DATASTORE + "O-A0003-001"
    sources.route(stations, sequence(Reply(500), Reply(503), Reply(200, payloads["O-A0003-001"])))
    report = poll(db, "cwa-stations")
    assert report.ok and report.retries == 2, report
    assert count(db, "cwa_station_reading", "station_id = '467490'") == 1

    # The running poller (threads, interval 1 s): rounds fail on 500s, are logged and counted,
    # and it keeps polling until the server recovers.
    quake = DATASTORE + "E-A0015-001"
    sources.route(quake, sequence(*[Reply(500, b"internal error")] * 6, Reply(200, payloads["E-A0015-001"])))
    options = replace(FAST, limits=replace(FAST.limits, retries=1))
    spec = replace(all_specs()["cwa-quake"], interval_s=1)
    stop = threading.Event()
    runner = threading.Thread(target=run_pollers, args=([spec], db.url, options, stop),
                              kwargs={"redact": redactor()}, daemon=True)
    runner.start()
    try:
        wait_until(lambda: count(db, "cwa_quake_report") == 3, 40, message="quake reports stored after the 500s")
        assert len(sources.hits(quake)) >= 7
        assert db.query("SELECT failures, last_error FROM poll_state WHERE poller = 'cwa-quake'") == [(0, None)]
    finally:
        stop.set()
        runner.join(15)
    assert not runner.is_alive()

    # Connection refused: a failed round with the reason, not a crash.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setenv("IOC_CWA_BASE_URL", f"http://127.0.0.1:{closed_port}")
    report = poll(db, "cwa-typhoon")
    assert not report.ok and "ConnectError" in report.error, report
    assert "Authorization=***" in report.error and CWA_KEY not in report.error
    assert db.scalar("SELECT failures FROM poll_state WHERE poller = 'cwa-typhoon'") == 1


def test_a_huge_body_is_cut_off_at_the_limit_dead_lettered_and_memory_stays_bounded(db, sources):
    serve_cwa(sources)
    mib = 1 << 20
    chunk = b'{"records": [' + b"0," * (32 * 1024 - 7)  # 64 KiB of a JSON that never ends
    sources.route(DATASTORE + "O-A0002-001", Reply(200, (chunk for _ in range(800)),  # 50 MiB, no length
                                                   {"Content-Type": "application/json"}))
    options = replace(FAST, limits=replace(FAST.limits, max_bytes=mib))
    tracemalloc.start()
    try:
        report = poll(db, "cwa-rain", options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok and report.rejected == 1, report  # the server answered: its payload is kept
    assert peak < 12 * mib, f"peak {peak / mib:.1f} MiB"
    dead = db.query("SELECT feed, source, topic, stage, error, length(raw) FROM dead_letter")
    assert len(dead) == 1
    feed, source, topic, stage, error, kept = dead[0]
    assert (feed, source, stage) == ("cwa-rain", "http", "validate")
    assert f"larger than the limit of {mib} bytes" in error and "download aborted" in error
    assert kept == 64 * 1024 and "Authorization=***" in topic
    assert len(sources.hits(DATASTORE + "O-A0002-001")) == 1  # a body too large is not retried

    # A gzip bomb (50 MiB of zeros in 50 kB) is cut off after decompressing the limit, and a
    # declared Content-Length over the limit is refused before reading.
    sources.route(DATASTORE + "O-A0003-001", Reply(200, gzip.compress(b"0" * (50 * mib)),
                                                   {"Content-Encoding": "gzip"}))
    sources.route(DATASTORE + "O-A0001-001", Reply(200, b" " * (2 * mib)))
    tracemalloc.start()
    try:
        report = poll(db, "cwa-stations", options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok and report.rejected == 2, report
    assert peak < 12 * mib, f"peak {peak / mib:.1f} MiB"
    errors = sorted(e for (e,) in db.query("SELECT error FROM dead_letter WHERE feed = 'cwa-stations'"))
    assert "declares 2097152 bytes" in errors[0] and "passed" in errors[1]


def test_an_invalid_payload_is_dead_lettered_with_its_reason(db, sources):
    serve_cwa(sources)
    sources.route(DATASTORE + "O-A0001-001", Reply(200, b'{"records": {"Station": ['))
    sources.route(DATASTORE + "O-A0003-001", Reply(200, b"<html>502 Bad Gateway</html>"))
    report = poll(db, "cwa-stations")
    assert report.ok and report.written == 2 and report.rejected == 2, report
    dead = db.query("SELECT feed, source, topic, stage, raw FROM dead_letter ORDER BY topic")
    assert [(f, s, st) for f, s, _, st, _ in dead] == [("cwa-stations", "http", "decode")] * 2
    assert [bytes(r) for *_, r in dead] == [b'{"records": {"Station": [', b"<html>502 Bad Gateway</html>"]
    assert all(t.startswith(sources.url(DATASTORE)) and "Authorization=***" in t for _, _, t, _, _ in dead)
    assert db.scalar("SELECT sum(rejected) FROM feed_activity WHERE feed = 'cwa-stations'") == 2

    # An index that is not an index is kept too (once, however often it is polled).
    sources.route("/cap/index.atom", static(b"<html>maintenance</html>", content_type="text/html"))
    for _ in range(2):
        assert poll(db, "cap").ok
    assert db.query("SELECT stage FROM dead_letter WHERE feed = 'cap'") == [("validate",)]
