"""The processes a benchmark measures, each in a process of its own (spawned, so its CPU time and
peak memory are its own): the real ingest worker, the bare loop, the naive worker, and the
publishers that fill a backlog.

Protocol with the parent (a multiprocessing Pipe): the child builds everything, sends "ready",
waits for "go"; while running it sends ("progress", committed, last_commit_time, cpu_s) at most
every 50 ms; on "stop" it stops, then sends ("done", stats) and exits.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from datetime import datetime

CTX = mp.get_context("spawn")
SESSION_EXPIRY_S = 3600


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _peak_rss_mb() -> float | None:
    from bench.stack import peak_rss_mb

    return peak_rss_mb(os.getpid())


def _log_to(path: str | None) -> None:
    if path:
        logging.basicConfig(filename=path, level=logging.WARNING,
                            format="%(asctime)s %(processName)s %(name)s %(levelname)s %(message)s")


class _Progress:
    """Committed-message count, reported to the parent from a thread of the child."""

    def __init__(self, conn):
        self.conn = conn
        self.committed = 0
        self.last_commit = 0.0
        self.cpu0 = _cpu()
        self.commits: list[tuple[float, float, int]] = []  # (write start, commit time, messages), when asked
        self.keep_commits = False
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._report, daemon=True)

    def start(self) -> None:
        self.cpu0 = _cpu()
        self.thread.start()

    def add(self, n: int, started: float = 0.0) -> None:
        now = time.time()
        self.committed += n
        self.last_commit = now
        if self.keep_commits:
            self.commits.append((started, now, n))

    def _report(self) -> None:
        sent = -1
        while not self.stop.wait(0.05):
            if self.committed != sent:
                sent = self.committed
                with self.lock:
                    self.conn.send(("progress", sent, self.last_commit, _cpu() - self.cpu0))

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()


def guarded(target):
    """A child target that reports its exception to the parent instead of dying silently."""
    import functools

    @functools.wraps(target)
    def run(conn, *args, **kwargs):
        try:
            target(conn, *args, **kwargs)
        except BaseException:
            import traceback

            conn.send(("error", traceback.format_exc()))
            raise

    return run


def _wait_for(conn, word: str) -> None:
    got = conn.recv()
    if got != word:
        raise RuntimeError(f"expected {word!r}, got {got!r}")


# -- the real worker --------------------------------------------------------------------------
@guarded
def worker_child(conn, db_url: str, mqtt_url: str, options: dict, log_path: str | None,
                 keep_commits: bool = False, profile_path: str | None = None) -> None:
    _log_to(log_path)
    from ingest.worker import IngestWorker, WorkerOptions

    worker = IngestWorker(db_url, mqtt_url, WorkerOptions(**options))
    progress = _Progress(conn)
    progress.keep_commits = keep_commits
    write = worker._write

    def counted(batch):  # the bench's own probe: when each batch began, when it was committed, its size
        started = time.time()
        write(batch)
        progress.add(len(batch), started)

    worker._write = counted
    conn.send("ready")
    _wait_for(conn, "go")
    progress.start()
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()  # the writer thread only: paho's thread is not in it
    runner = threading.Thread(target=_profiled(worker.run, profiler), name="writer")
    runner.start()
    _wait_for(conn, "stop")
    worker.stop()
    runner.join(60)
    progress.finish()
    if profiler is not None:
        profiler.dump_stats(profile_path)
    with progress.lock:
        conn.send(("done", {"committed": progress.committed, "cpu_s": _cpu() - progress.cpu0,
                            "peak_rss_mb": _peak_rss_mb(), "commits": progress.commits}))


def _profiled(fn, profiler):
    if profiler is None:
        return fn

    def run():
        profiler.enable()
        try:
            fn()
        finally:
            profiler.disable()

    return run


# -- the bare loop: paho + orjson + COPY binary in batches of 10,000, ack after commit ----------
def _bare_row(payload: bytes):
    import orjson

    d = orjson.loads(payload)
    total = 0
    weighted = 0.0
    speeds = []
    occ = []
    for link in d.get("LinkFlows") or ():
        for lane in link.get("Lanes") or ():
            s = lane.get("Speed")
            vol = sum(v["Volume"] for v in lane.get("Vehicles") or () if (v.get("Volume") or 0) > 0)
            if s is not None and s >= 0:
                speeds.append(s)
                weighted += s * vol
            total += vol
            o = lane.get("Occupancy")
            if o is not None and o >= 0:
                occ.append(o)
    speed = weighted / total if total and weighted else (sum(speeds) / len(speeds) if speeds else None)
    return (datetime.fromisoformat(d["DataCollectTime"]), d["VDID"], speed, total,
            sum(occ) / len(occ) if occ else None, d.get("Status", 0))


@guarded
def bare_child(conn, db_url: str, mqtt_url: str, client_id: str, log_path: str | None,
               batch: int = 10_000, flush_ms: int = 25, receive_max: int = 20_000, stock: bool = True) -> None:
    """`stock`: paho as it comes (the issue's bare loop); otherwise the worker's BufferedClient,
    to tell what the worker's own work costs apart from what the client saves."""
    _log_to(log_path)
    import psycopg

    from ingest.pipeline import SUBSCRIPTIONS
    from ioc import mqtt as ioc_mqtt

    inbox: deque = deque()
    wake = threading.Event()
    client, address = ioc_mqtt.client(mqtt_url, client_id, manual_ack=True, stock=stock)

    def on_connect(c, userdata, flags, rc, props=None):
        c.subscribe([(t, 1) for t in SUBSCRIPTIONS])

    def on_message(c, userdata, msg):
        inbox.append((msg.payload, msg.mid))
        if len(inbox) >= batch:
            wake.set()

    client.on_connect = on_connect
    client.on_message = on_message
    db = psycopg.connect(db_url)
    oids = [r[0] for r in db.execute(
        "SELECT atttypid::int FROM pg_attribute WHERE attrelid = 'vd_reading'::regclass AND attname = ANY(%s) "
        "ORDER BY array_position(%s, attname::text)",
        (list(_COLS), list(_COLS))).fetchall()]
    db.commit()
    progress = _Progress(conn)
    stopping = threading.Event()
    conn.send("ready")
    _wait_for(conn, "go")
    progress.start()

    def writer():
        flush_s = flush_ms / 1000
        while True:
            if not stopping.is_set():
                wake.wait(flush_s)
                wake.clear()
            if not inbox:
                if stopping.is_set():
                    return
                continue
            take = [inbox.popleft() for _ in range(min(batch, len(inbox)))]
            rows = [_bare_row(p) for p, _ in take]
            with db.cursor() as cur, cur.copy(
                    "COPY vd_reading (time, vd_id, speed_kmh, volume, occupancy_pct, status) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(oids)
                for r in rows:
                    cp.write_row(r)
            db.commit()
            if stock:
                for _, mid in take:
                    client.ack(mid, 1)
            else:
                client.ack_many([mid for _, mid in take])
            progress.add(len(take))

    props = ioc_mqtt.connect_properties(session_expiry_s=SESSION_EXPIRY_S, receive_maximum=receive_max)
    client.connect(address.host, address.port, keepalive=30, clean_start=False, properties=props)
    client.loop_start()
    t = threading.Thread(target=writer, name="writer")
    t.start()
    _wait_for(conn, "stop")
    stopping.set()
    wake.set()
    t.join(60)
    client.disconnect()
    client.loop_stop()
    progress.finish()
    with progress.lock:
        conn.send(("done", {"committed": progress.committed, "cpu_s": _cpu() - progress.cpu0,
                            "peak_rss_mb": _peak_rss_mb()}))


_COLS = ("time", "vd_id", "speed_kmh", "volume", "occupancy_pct", "status")


# -- the naive worker: the same validation, one INSERT per row, autocommit ----------------------
@guarded
def naive_child(conn, db_url: str, mqtt_url: str, client_id: str, log_path: str | None,
                receive_max: int = 1000) -> None:
    _log_to(log_path)
    from datetime import timezone

    import psycopg

    from ingest.envelope import Accepted, Envelope
    from ingest.pipeline import SUBSCRIPTIONS, Router, process
    from ioc import mqtt as ioc_mqtt

    inbox: deque = deque()
    wake = threading.Event()
    client, address = ioc_mqtt.client(mqtt_url, client_id, manual_ack=True, stock=True)

    def on_connect(c, userdata, flags, rc, props=None):
        c.subscribe([(t, 1) for t in SUBSCRIPTIONS])

    def on_message(c, userdata, msg):
        inbox.append(msg)
        wake.set()

    client.on_connect = on_connect
    client.on_message = on_message
    db = psycopg.connect(db_url, autocommit=True)
    router = Router()
    progress = _Progress(conn)
    stopping = threading.Event()
    conn.send("ready")
    _wait_for(conn, "go")
    progress.start()

    def writer():
        while True:
            if not inbox:
                if stopping.is_set():
                    return
                wake.wait(0.05)
                wake.clear()
                continue
            msg = inbox.popleft()
            env = Envelope("mqtt", msg.topic, msg.payload, datetime.now(timezone.utc), msg.mid)
            result = process(env, router.feed_for(msg.topic))
            if isinstance(result, Accepted):
                for table, values in result.rows:
                    db.execute(f"INSERT INTO {table} ({', '.join(_COLS)}) VALUES (%s, %s, %s, %s, %s, %s) "
                               "ON CONFLICT DO NOTHING", values)
            client.ack(msg.mid, 1)
            progress.add(1)

    props = ioc_mqtt.connect_properties(session_expiry_s=SESSION_EXPIRY_S, receive_maximum=receive_max)
    client.connect(address.host, address.port, keepalive=30, clean_start=False, properties=props)
    client.loop_start()
    t = threading.Thread(target=writer, name="writer")
    t.start()
    _wait_for(conn, "stop")
    stopping.set()
    inbox.clear()  # unacknowledged: the broker keeps them
    wake.set()
    t.join(60)
    client.disconnect()
    client.loop_stop()
    progress.finish()
    with progress.lock:
        conn.send(("done", {"committed": progress.committed, "cpu_s": _cpu() - progress.cpu0,
                            "peak_rss_mb": _peak_rss_mb()}))


# -- publishers ---------------------------------------------------------------------------------
class Window:
    """At most `size` QoS 1 messages published and not yet acknowledged by the broker.

    paho's own limit (max_inflight_messages_set) rescans every message in flight on each
    PUBACK (`Client._update_inflight`): with thousands in flight a Python publisher tops out at
    a few thousand messages/s. So paho's limit is off (0) and the window is kept here."""

    def __init__(self, client, size: int):
        self.size = size
        self.sent = 0
        self.acked = 0
        self.cond = threading.Condition()
        client.max_inflight_messages_set(0)
        client.on_publish = self._on_publish

    def _on_publish(self, c, userdata, mid, rc=None, props=None):
        with self.cond:
            self.acked += 1
            self.cond.notify_all()

    def take(self) -> None:
        with self.cond:
            while self.sent - self.acked >= self.size:
                self.cond.wait(0.5)
            self.sent += 1

    def drained(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.acked < self.sent:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True


@guarded
def publisher_child(conn, mqtt_url: str, client_id: str, base_iso: str, start: int, stop: int, step: int,
                    window: int = 1000) -> None:
    """Publish messages start, start+step, ... < stop (QoS 1) as fast as the broker takes them."""
    from bench.vdlive import Messages
    from ioc import mqtt as ioc_mqtt

    msgs = Messages(datetime.fromisoformat(base_iso))
    todo = [msgs.message(k) for k in range(start, stop, step)]
    client, address = ioc_mqtt.client(mqtt_url, client_id)
    connected = threading.Event()
    client.on_connect = lambda *a, **k: connected.set()
    flow = Window(client, window)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port, keepalive=60)
    client.loop_start()
    if not connected.wait(20):
        raise RuntimeError("publisher could not connect")
    conn.send("ready")
    _wait_for(conn, "go")
    started = time.time()
    for topic, payload in todo:
        flow.take()
        client.publish(topic, payload, qos=1)
    if not flow.drained(600):
        raise RuntimeError(f"broker acknowledged {flow.acked} of {len(todo)}")
    elapsed = time.time() - started
    client.disconnect()
    client.loop_stop()
    conn.send(("done", {"published": len(todo), "seconds": elapsed, "cpu_s": _cpu()}))


class Child:
    """A spawned child speaking the protocol above."""

    def __init__(self, target, *args, name: str | None = None, **kwargs):
        self.conn, child_conn = CTX.Pipe()
        self.process = CTX.Process(target=target, args=(child_conn, *args), kwargs=kwargs,
                                   name=name or target.__name__, daemon=True)
        self.process.start()
        self.progress = (0, 0.0, 0.0)
        self.result: dict | None = None

    def ready(self, timeout: float = 120) -> "Child":
        if not self.conn.poll(timeout):
            raise RuntimeError(f"{self.process.name} did not get ready in {timeout}s")
        got = self.conn.recv()
        if isinstance(got, tuple) and got[0] == "error":
            raise RuntimeError(f"{self.process.name} failed:\n{got[1]}")
        if got != "ready":
            raise RuntimeError(f"{self.process.name}: {got!r}")
        return self

    def go(self) -> float:
        now = time.time()
        self.conn.send("go")
        return now

    def poll(self) -> None:
        while self.result is None and self.conn.poll():
            try:
                msg = self.conn.recv()
            except EOFError:
                if self.result is not None:
                    return
                self.process.join(5)
                raise RuntimeError(f"{self.process.name} exited with {self.process.exitcode}") from None
            if msg[0] == "progress":
                self.progress = msg[1:]
            elif msg[0] == "done":
                self.result = msg[1]
            elif msg[0] == "error":
                raise RuntimeError(f"{self.process.name} failed:\n{msg[1]}")

    @property
    def committed(self) -> int:
        return self.progress[0]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 90) -> dict:
        self.conn.send("stop")
        return self.wait_done(timeout)

    def wait_done(self, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while self.result is None:
            if not self.process.is_alive() and not self.conn.poll():
                raise RuntimeError(f"{self.process.name} exited with {self.process.exitcode}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"{self.process.name} did not finish in {timeout}s")
            if self.conn.poll(0.2):
                self.poll()
        self.process.join(30)
        return self.result


def wait_committed(children: list[Child], total: int, timeout: float) -> tuple[float, float]:
    """Until the children together committed `total` messages: (time of the last commit, CPU s)."""
    deadline = time.monotonic() + timeout
    while True:
        for c in children:
            c.poll()
        if sum(c.committed for c in children) >= total:
            return max(c.progress[1] for c in children), sum(c.progress[2] for c in children)
        if time.monotonic() > deadline:
            raise RuntimeError(f"committed {sum(c.committed for c in children)} of {total} in {timeout}s")
        for c in children:
            if not c.process.is_alive():
                raise RuntimeError(f"{c.process.name} died (exit {c.process.exitcode})")
        time.sleep(0.02)
