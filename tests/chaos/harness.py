"""The fault-injection harness: a publisher that knows what the broker accepted, the real ingest
worker as a process that can be killed and restarted, and the figures each scenario reports.

Accepted means a PUBACK with a success reason code reached the publisher: the broker took
responsibility for the message. `lost` is an accepted message the database does not hold at the
end of a scenario (apart from those a scenario deliberately puts at risk, counted on their own).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from ioc import mqtt as ioc_mqtt
from ioc.services.state import free_port
from tests.support.stack import Process, ioc_env, start_ioc
from tests.support.waiting import wait_until

KEEPALIVE_S = 10  # WorkerOptions.keepalive_s: the worker's MQTT keep-alive
DB_TIMEOUT_S = 10  # WorkerOptions.db_timeout_s: the sink's client-side deadline (Watchdog)
MAX_INFLIGHT = 20000  # IOC_INGEST_MAX_INFLIGHT default


# -- figures ------------------------------------------------------------------------------------
@dataclass
class Figures:
    scenario: str
    published: int = 0  # sent by the publisher
    accepted: int = 0  # PUBACKed by the broker
    stored: int = 0  # distinct published messages the database holds
    lost: int = 0  # accepted, not at risk, not in the database
    duplicates: int = 0  # messages stored more than once
    redelivered: int = 0  # messages the worker received (and committed) again after a kill/reconnect
    # Deliberately put at risk by the suite: accepted inside the broker's autosave window before a
    # hard kill, or published beyond the broker's queue limit while the worker was away.
    at_risk: int = 0
    lost_at_risk: int = 0  # ...of which the database does not hold
    bad_inputs: int = 0
    dead_lettered: int = 0  # bad inputs found in the dead-letter table with a reason
    worker_crashes: int = 0  # exits and tracebacks the suite did not cause
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


FIGURES: list[Figures] = []
TOTALS = ("published", "stored", "lost", "duplicates", "redelivered", "at_risk", "lost_at_risk",
          "bad_inputs", "dead_lettered", "worker_crashes")


def figures(scenario: str) -> Figures:
    """A scenario's figures, reported even when the scenario fails half-way."""
    fig = Figures(scenario)
    FIGURES.append(fig)
    return fig


# -- numbered messages --------------------------------------------------------------------------
def vdlive(vd_id: str, when: datetime, speed: float = 50.0) -> bytes:
    return orjson.dumps({
        "VDID": vd_id, "Status": 0, "DataCollectTime": when.isoformat(),
        "LinkFlows": [{"LinkID": "L1", "Lanes": [
            {"LaneID": 0, "Speed": speed, "Occupancy": 10,
             "Vehicles": [{"VehicleType": "S", "Volume": 5, "Speed": speed}]}]}]})


class NumberedPublisher:
    """Publishes numbered detector readings (QoS 1, one detector id per number) and records
    which numbers the broker accepted and when. Survives broker restarts: paho resends what
    was not acknowledged after it reconnects."""

    def __init__(self, broker, tag: str, *, keepalive: int = 60, inflight: int = 1000, when: datetime | None = None):
        self.tag = tag
        self.topic = f"ioc/v1/traffic/vd/{tag}"
        self.when = when or (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(microsecond=0)
        url = broker if isinstance(broker, str) else broker.url("simulator")
        self.client, address = ioc_mqtt.client(url, f"chaos-{tag}-{uuid.uuid4().hex[:6]}")
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.sent: list[tuple[int, int]] = []  # (number, mid) in publish order
        self.acks: list[tuple[int, bool, float]] = []  # (mid, success, monotonic time), in arrival order
        self.next_number = 0
        self.connected = threading.Event()
        self.client.on_publish = lambda c, u, mid, rc, props=None: self.acks.append(
            (mid, not rc.is_failure, time.monotonic()))
        self.client.on_connect = lambda c, u, flags, rc, props=None: self.connected.set()
        self.client.on_disconnect = lambda *a, **k: self.connected.clear()
        self.client.connect(address.host, address.port, keepalive=keepalive)
        self.client.loop_start()
        assert self.connected.wait(15), "publisher could not connect"
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()

    def vd_id(self, n: int) -> str:
        return f"{self.tag}-{n:07d}"

    def publish(self, count: int, rate: float) -> None:
        """`count` messages at `rate` per second (paced, not bursts), or until stopped."""
        started = time.monotonic()
        for i in range(count):
            if self.stop_event.is_set():
                return
            ahead = started + i / rate - time.monotonic()
            if ahead > 0.002:
                time.sleep(ahead)
            n = self.next_number
            self.next_number += 1
            info = self.client.publish(self.topic, vdlive(self.vd_id(n), self.when), qos=1)
            self.sent.append((n, info.mid))

    def start(self, count: int, rate: float) -> None:
        self.thread = threading.Thread(target=self.publish, args=(count, rate), daemon=True)
        self.thread.start()

    def join(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), "publisher did not finish in time"

    def wait_acks(self, timeout: float) -> bool:
        try:
            wait_until(lambda: len(self.acks) >= len(self.sent), timeout, 0.1, message="every PUBACK")
            return True
        except AssertionError:
            return False

    def accepted(self) -> dict[int, float]:
        """number -> when its PUBACK arrived. The k-th acknowledgement of a packet id answers
        the k-th message sent with that id (ids are reused only after 65,535 others)."""
        by_mid: dict[int, deque] = defaultdict(deque)
        for n, mid in self.sent:
            by_mid[mid].append(n)
        found = {}
        for mid, ok, when in list(self.acks):
            queue = by_mid.get(mid)
            if queue:
                n = queue.popleft()
                if ok:
                    found[n] = when
        return found

    def close(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)
        self.client.loop_stop()
        self.client.disconnect()


def _publish_in_child(conn, url: str, tag: str, when: datetime, count: int, rate: float, ack_timeout: float):
    pub = NumberedPublisher(url, tag, when=when)
    conn.send("ready")
    try:
        pub.publish(count, rate)
        pub.wait_acks(ack_timeout)
        conn.send((pub.sent, list(pub.acks)))
    finally:
        pub.close()


class PublisherProcess(NumberedPublisher):
    """The same publisher in a process of its own, so that 2,000 messages a second are paced
    by a Python of their own and not slowed by the test's threads (clocks: CLOCK_MONOTONIC,
    the same in every process)."""

    def __init__(self, broker, tag: str):  # noqa: D107 - no connection in this process
        self.tag = tag
        self.url = broker.url("simulator")
        self.when = (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(microsecond=0)
        self.sent, self.acks = [], []
        self.child = None
        self.conn = None

    def start(self, count: int, rate: float, ack_timeout: float = 120) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child_end = ctx.Pipe()
        self.child = ctx.Process(target=_publish_in_child, daemon=True,
                                 args=(child_end, self.url, self.tag, self.when, count, rate, ack_timeout))
        self.child.start()
        assert self.conn.poll(30) and self.conn.recv() == "ready", "publisher process did not start"

    def join(self, timeout: float) -> None:
        """Wait until everything is published and acknowledged (or the child gave up)."""
        assert self.conn.poll(timeout + 130), "publisher process did not finish in time"
        self.sent, self.acks = self.conn.recv()
        self.child.join(10)

    def close(self) -> None:
        if self.child is not None and self.child.is_alive():
            self.child.terminate()
            self.child.join(10)


def stored_numbers(db, tag: str) -> Counter:
    """number -> rows stored for it."""
    with psycopg.connect(db.owner_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT vd_id, count(*) FROM vd_reading WHERE vd_id LIKE %s GROUP BY vd_id",
                            (f"{tag}-%",)).fetchall()
    return Counter({int(vd_id.rsplit("-", 1)[1]): count for vd_id, count in rows})


def settle(db, tag: str, expected: set[int], timeout: float) -> Counter:
    """Wait until every expected number is stored (at most `timeout`), then return what is."""
    try:
        wait_until(lambda: expected <= set(stored_numbers(db, tag)), timeout, 0.5, message="everything stored")
    except AssertionError:
        pass  # the caller counts and reports what is missing
    return stored_numbers(db, tag)


def account(fig: Figures, pub: NumberedPublisher, stored: Counter, at_risk: set[int] = frozenset()) -> None:
    accepted = set(pub.accepted())
    stored_set = set(stored)
    fig.published += len(pub.sent)
    fig.accepted += len(accepted)
    fig.stored += len(stored_set)
    fig.lost += len(accepted - stored_set - at_risk)
    fig.at_risk += len(at_risk & accepted)
    fig.lost_at_risk += len((at_risk & accepted) - stored_set)
    fig.duplicates += sum(c - 1 for c in stored.values())


# -- the worker ---------------------------------------------------------------------------------
TRACEBACK = "Traceback (most recent call last)"
REDELIVERED_LINE = re.compile(r"committed (\d+) redelivered messages")


class WorkerRun:
    """The real `ioc ingest mqtt`, one process at a time, restartable under one client id (the
    same persistent session), with its metrics endpoint, memory and logs."""

    def __init__(self, db, broker, workdir: Path, *, client_id: str | None = None, **env: str):
        self.workdir = workdir
        self.client_id = client_id or f"ioc-ingest-chaos-{uuid.uuid4().hex[:6]}"
        self.metrics_port = free_port()
        self.env = ioc_env(db, broker, IOC_INGEST_CLIENT_ID=self.client_id,
                           IOC_INGEST_METRICS_PORT=str(self.metrics_port), **env)
        self.runs: list[Process] = []
        self.ended_by_suite: set[int] = set()  # indexes of runs the suite killed or stopped
        self.hung = 0  # runs that did not exit on SIGTERM

    @property
    def process(self) -> Process:
        return self.runs[-1]

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def start(self, *, wait: bool = True) -> "WorkerRun":
        log = self.workdir / f"worker-{self.client_id}-{len(self.runs)}.log"
        proc = start_ioc(["ingest", "mqtt"], self.env, log)
        self.runs.append(proc)
        if wait:
            wait_until(lambda: "connected to the broker" in proc.log() or not proc.alive(), 30, 0.05,
                       message="worker connected")
            assert proc.alive(), proc.log()[-3000:]
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.ended_by_suite.add(len(self.runs) - 1)
        self.process.popen.send_signal(signal.SIGKILL)
        self.process.popen.wait(10)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM: the worker drains what it can and disconnects. One that does not exit in
        time is hung (counted as a crash), then killed."""
        self.ended_by_suite.add(len(self.runs) - 1)
        popen = self.process.popen
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.hung += 1
                popen.kill()
                popen.wait(10)
        return popen.returncode

    def alive(self) -> bool:
        return bool(self.runs) and self.process.alive()

    def metrics(self) -> dict[str, float]:
        """Metric samples summed over labels: name -> value."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=3).text
        values: dict[str, float] = defaultdict(float)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name] += sample.value
        return dict(values)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def logs(self) -> str:
        return "\n".join(p.log() for p in self.runs)

    def redelivered(self) -> int:
        """Messages the worker committed after the broker redelivered them (MQTT DUP)."""
        return sum(int(m.group(1)) for m in REDELIVERED_LINE.finditer(self.logs()))

    def crashes(self) -> int:
        """Exits the suite did not cause, runs that hung on SIGTERM, tracebacks in the logs."""
        unexpected = 0
        for i, proc in enumerate(self.runs):
            code = proc.popen.poll()
            if code is not None and i not in self.ended_by_suite:
                unexpected += 1
            elif code not in (None, 0) and i in self.ended_by_suite and code != -signal.SIGKILL:
                unexpected += 1  # asked to stop, and it failed doing so
        return unexpected + self.hung + self.logs().count(TRACEBACK)

    def close(self) -> None:
        if self.runs and self.alive():
            self.stop()


class Sampler:
    """Samples the worker's metrics and memory in the background (every `interval` s)."""

    def __init__(self, worker: WorkerRun, interval: float = 0.25):
        self.worker = worker
        self.interval = interval
        self.samples: list[dict] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(5)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            sample = {"t": time.monotonic()}
            try:
                sample.update(self.worker.metrics())
                sample["rss_mb"] = self.worker.rss_mb()
            except Exception:  # noqa: BLE001 - the worker may be restarting; a gap is fine
                pass
            self.samples.append(sample)
            self.stop_event.wait(self.interval)

    def between(self, t0: float, t1: float) -> list[dict]:
        return [s for s in self.samples if t0 <= s["t"] <= t1 and len(s) > 1]

    def last_before(self, t: float) -> dict:
        found = [s for s in self.samples if s["t"] <= t and len(s) > 1]
        return found[-1] if found else {}

    def first(self, condition, after: float = 0.0) -> dict | None:
        for s in self.samples:
            if s["t"] >= after and len(s) > 1 and condition(s):
                return s
        return None

