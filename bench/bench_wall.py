"""The wall with 30 days of a city behind it: one full refresh, and 20 screens refreshing together.

Data: `bench.walldata` (~10 million readings of 2,000 detectors, incidents, road events, CAP
alerts, shelters, tasks). Then:
* build: `dashboard.snapshot.build(db, as_of)`, every layer's and tile's query, the feed health,
  alarms and level, for a live moment, in this process with the dashboard's own connection pool;
  repeated, p50/p95. Each query alone is timed too, to show where the time goes.
* refresh: build plus what the refresh callback does with it (each layer's patch, each tile's
  render, the health strip), in this process.
* 20 screens, in this process: 20 threads each asking every second (own phase) for the live
  wall through the cached path `snapshot(db, None)`; baseline: the same threads calling
  `build` (no cache). Per-request time, p95.
* HTTP: a real dashboard process (`ioc dashboard`), the wall's two refresh callbacks (panels,
  then map) POSTed to /_dash-update-component by signed-in wall users, as the browser does: one screen alone
  (each request a moment of its own, so each builds), then 20 screens every second. Times are
  round trips on localhost.
The dashboard is left running for the end-to-end benchmark.
"""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np

from ioc.services.state import free_port

from . import walldata
from .stack import peak_rss_mb

SCREENS = 20


def _p(values, q) -> float:
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 2)


def _stats(values_ms) -> dict:
    return {"p50_ms": _p(values_ms, 50), "p95_ms": _p(values_ms, 95), "max_ms": round(max(values_ms), 2),
            "n": len(values_ms)}


def _live() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def render(snap: dict, lang: str = "zh-TW") -> int:
    """What the refresh callback does with a snapshot, through the registries' public parts."""
    import plotly.utils
    from dash import Patch

    from dashboard.components import health
    from dashboard.components.tile import failed_tile
    from dashboard.figures import apply_patches
    from dashboard.layers import all_layers
    from dashboard.snapshot import FAILED
    from dashboard.tiles import all_tiles

    fig = Patch()
    for layer in all_layers():
        data = snap["layers"].get(layer.id)
        if layer.patch is not None and data is not None and data is not FAILED:
            apply_patches(fig, layer.id, layer.patch(data, lang))
    tiles = [failed_tile(s.id, lang) if snap["tiles"].get(s.id) is FAILED else s.render(snap["tiles"].get(s.id), lang, snap["as_of"])
             for s in all_tiles()]
    strip = health.strip(snap["feeds"], lang)
    return len(json.dumps([fig, tiles, strip], cls=plotly.utils.PlotlyJSONEncoder))


def _screens(call, seconds: float, screens: int = SCREENS) -> tuple[list[float], int]:
    """`screens` threads, each calling `call()` once a second at its own phase; times in ms."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    rng = random.Random(1)

    def screen(phase: float):
        k = 0
        while True:
            due = start + phase + k
            if due > start + seconds:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            try:
                call()
            except Exception:  # noqa: BLE001 - counted, reported
                with lock:
                    errors[0] += 1
                k += 1
                continue
            with lock:
                times.append((time.perf_counter() - t0) * 1000)
            k += 1

    threads = [threading.Thread(target=screen, args=(rng.random(),)) for _ in range(screens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0]


def in_process(ctx, db_url: str, repeats: int, seconds: float) -> dict:
    from dashboard.app import freeze_start_up_objects
    from dashboard.data import Database, with_memo
    from dashboard.layers import all_layers
    from dashboard.snapshot import build, snapshot
    from dashboard.tiles import all_tiles

    db = Database(db_url)  # the dashboard's pool (max 12 connections)
    try:
        for _ in range(3):
            build(db, _live())  # warm: connections, plans, caches of the registries
        # First as a process that never froze its start-up objects (the baseline), then as
        # `ioc dashboard` serves: frozen (see dashboard.app.freeze_start_up_objects).
        unfrozen, _, gc_unfrozen = _builds(db, repeats, build, render)
        freeze_start_up_objects()
        single, refresh, gc_full = _builds(db, repeats, build, render)
        size = render(build(db, _live()))
        # Where the time goes: each query alone (no memo, so a shared query is counted in full).
        per_query = {}
        for kind, items in (("layer", [(x.id, x.query) for x in all_layers() if x.query]),
                            ("tile", [(x.id, x.query) for x in all_tiles()])):
            for name, query in items:
                ms = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    try:
                        with_memo(lambda: query(db, _live()))
                    except Exception as exc:  # noqa: BLE001
                        per_query[f"{kind}:{name}"] = f"failed: {type(exc).__name__}"
                        break
                    ms.append((time.perf_counter() - t0) * 1000)
                if ms:
                    per_query[f"{kind}:{name}"] = round(float(np.median(ms)), 2)
        slowest = dict(sorted(((k, v) for k, v in per_query.items() if isinstance(v, float)),
                              key=lambda kv: -kv[1])[:8])
        ctx.say(f"wall: build p95 {_p(single, 95)} ms ({_p(unfrozen, 95)} ms before the freeze); 20 screens for {seconds:.0f} s (cached, then not)")
        cached, cached_err = _screens(lambda: snapshot(db, None), seconds)
        uncached, uncached_err = _screens(lambda: build(db, _live()), seconds)
    finally:
        db.close()
    s95 = _p(single, 95)
    return {
        "build": _stats(single), "refresh": _stats(refresh), "refresh_json_bytes": size,
        "build_p50_ms": _p(single, 50), "build_p95_ms": s95, "refresh_p95_ms": _p(refresh, 95),
        "concurrent_cached": _stats(cached), "concurrent_cached_errors": cached_err,
        "concurrent_uncached": _stats(uncached), "concurrent_uncached_errors": uncached_err,
        "concurrent_cached_p95_ms": _p(cached, 95), "concurrent_uncached_p95_ms": _p(uncached, 95),
        "concurrent_vs_single": round(_p(cached, 95) / s95, 2),
        "uncached_vs_single": round(_p(uncached, 95) / s95, 2),
        "query_ms_median": per_query, "slowest_queries_ms": slowest,
        "layers": len(all_layers()), "tiles": len(all_tiles()), "gc_full_collections": gc_full,
        "build_unfrozen": _stats(unfrozen), "build_unfrozen_p95_ms": _p(unfrozen, 95),
        "gc_full_collections_unfrozen": gc_unfrozen,
    }


def _builds(db, repeats: int, build, render) -> tuple[list[float], list[float], dict]:
    """`repeats` full builds of a live moment (ms), the same with rendering, and the garbage
    collector's full passes meanwhile."""
    pauses = _GcPauses()
    single, refresh = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        snap = build(db, _live())
        t1 = time.perf_counter()
        render(snap)
        t2 = time.perf_counter()
        single.append((t1 - t0) * 1000)
        refresh.append((t2 - t0) * 1000)
        time.sleep(0.02)
    return single, refresh, pauses.stop()


class _GcPauses:
    """The garbage collector's full passes (generation 2) while the builds ran, and their times."""

    def __init__(self):
        self.times: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.times.append((time.perf_counter() - self._start) * 1000)

    def stop(self) -> dict:
        gc.callbacks.remove(self._note)
        return {"count": len(self.times), "ms": [round(t, 1) for t in self.times]}


class Dashboard:
    """`ioc dashboard` as a process of its own, and wall screens signed in to it."""

    def __init__(self, ctx, db, log_name: str, **env):
        self.ctx, self.db, self.log_name, self.env = ctx, db, log_name, env
        self.restarts: list[int | None] = []  # exit codes of earlier lives
        self._start()

    def ensure_alive(self) -> None:
        """Start again if something ended the process (a shared machine: other people's clean-ups)."""
        if not self.proc.alive():
            self.restarts.append(self.proc.popen.returncode)
            self.ctx.say(f"dashboard had exited ({self.proc.popen.returncode}); starting it again")
            self._start()

    def _start(self) -> None:
        from tests.support.stack import ioc_env, start_ioc

        ctx, db, log_name, env = self.ctx, self.db, self.log_name, self.env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.refresh_ms = int(env.get("IOC_REFRESH_MS", 0)) or None
        environment = ioc_env(db, ctx.stack.broker, IOC_DASHBOARD_PORT=str(self.port), IOC_LOG_LEVEL="WARNING", **env)
        self.proc = start_ioc(["dashboard"], environment, ctx.logs / log_name)
        deadline = time.monotonic() + 60
        while True:
            if not self.proc.alive():
                raise RuntimeError(f"dashboard exited:\n{self.proc.log()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dashboard did not listen within 60 s")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        return self.proc.popen.pid

    def stop(self) -> None:
        self.proc.stop()


def wall_users(db, count: int) -> list[tuple[str, str]]:
    from tests.support.users import add_user

    return [(f"wall-bench-{i:02d}", add_user(db, f"wall-bench-{i:02d}", "wall")) for i in range(count)]


class Screen:
    """A signed-in wall screen that refreshes over HTTP the way the browser does: the panels'
    callback, then the map's with what the first one answered."""

    def __init__(self, base: str, user: tuple[str, str]):
        from tests.support.users import sign_in

        self.base = base
        self.client = sign_in(base, *user)
        deps = self.client.get("/_dash-dependencies")
        deps.raise_for_status()
        self.panels = next(e for e in deps.json() if "wall-tiles.children" in e["output"])
        self.map = next(e for e in deps.json() if "wall-map.figure" in e["output"])
        self.n = 0
        # What the browser keeps between refreshes and sends back: the level its map is drawn
        # for and the digest of each layer and of the tiles it shows (only changes come back).
        self.values = {"wall-level.data": "normal", "wall-drawn.data": {}, "wall-panels-drawn.data": None}

    @staticmethod
    def _body(entry: dict, values: dict, changed: str) -> dict:
        def deps(items):
            return [{"id": d["id"], "property": d["property"], "value": values.get(f"{d['id']}.{d['property']}")}
                    for d in items]

        key = entry["output"]
        outputs = [{"id": o.split(".")[0], "property": o.split(".")[-1]} for o in key.strip(".").split("...")]
        return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": deps(entry["inputs"]), "state": deps(entry.get("state", [])), "changedPropIds": [changed]}

    def _post(self, entry: dict, changed: str) -> tuple[dict, int]:
        r = self.client.post("/_dash-update-component", content=json.dumps(self._body(entry, self.values, changed)),
                             headers={"Origin": self.base, "Content-Type": "application/json",
                                      "X-CSRFToken": self.client.cookies.get("_csrf_token") or ""})
        if r.status_code == 204:  # nothing new for this screen (its map unchanged): as the browser takes it
            return {}, 0
        if r.status_code != 200:
            raise RuntimeError(f"refresh answered {r.status_code}: {r.text[:300]}")
        for component, props in r.json().get("response", {}).items():
            for prop, value in props.items():
                self.values[f"{component}.{prop}"] = value
        return r.json(), len(r.content)

    def refresh(self, as_of: str | None = None) -> int:
        self.n += 1
        self.values["wall-tick.n_intervals"] = self.n
        self.values["wall-params.data"] = {"lang": "zh-TW", "as_of": as_of}
        _, panels_bytes = self._post(self.panels, "wall-tick.n_intervals")
        _, map_bytes = self._post(self.map, "wall-moment.data")
        return panels_bytes + map_bytes


def over_http(ctx, dash: Dashboard, users, repeats: int, seconds: float) -> dict:
    screens = [Screen(dash.base, u) for u in users]
    one = screens[0]
    for _ in range(3):
        one.refresh()
    single = []
    size = 0
    for k in range(repeats):
        # A moment of its own each time (a second apart): every request builds, as a lone
        # screen's does once a second.
        moment = (_live() - timedelta(seconds=2 + k)).isoformat()
        t0 = time.perf_counter()
        size = one.refresh(moment)
        single.append((time.perf_counter() - t0) * 1000)
    ctx.say(f"wall over HTTP: one screen p95 {_p(single, 95)} ms; {SCREENS} screens for {seconds:.0f} s")
    # Each thread owns one screen (its own session), refreshing once a second at its own phase.
    times: list[float] = []
    errors = [0]
    rng = random.Random(2)
    start = time.monotonic() + 0.5
    tlock = threading.Lock()

    def run_screen(screen: Screen, phase: float):
        k = 0
        while start + phase + k <= start + seconds:
            pause = start + phase + k - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            try:
                screen.refresh()
                with tlock:
                    times.append((time.perf_counter() - t0) * 1000)
            except Exception:  # noqa: BLE001
                with tlock:
                    errors[0] += 1
            k += 1

    threads = [threading.Thread(target=run_screen, args=(s, rng.random())) for s in screens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in screens:
        s.client.close()
    s95 = _p(single, 95)
    return {"http_single": _stats(single), "http_single_p95_ms": s95, "http_response_bytes": size,
            "http_concurrent": _stats(times), "http_concurrent_p95_ms": _p(times, 95),
            "http_concurrent_errors": errors[0], "http_concurrent_rps": round(len(times) / seconds, 1),
            "http_concurrent_vs_single": round(_p(times, 95) / s95, 2), "screens": SCREENS}


def run(ctx) -> dict:
    ctx.stack.restart_broker()  # no session of an earlier benchmark keeps copies of what follows
    db = ctx.stack.new_database()
    now = _live()
    t0 = time.monotonic()
    data = walldata.build(db, ctx.sizes["rows"], now, ctx.say)
    data_seconds = round(time.monotonic() - t0, 1)
    ctx.say(f"wall data ready in {data_seconds} s: {data.get('vd_reading'):,} readings")
    repeats = 200 if ctx.full else 60
    seconds = 30 if ctx.full else 10
    out: dict = {"rows": data.get("vd_reading"), "detectors": data.get("vd_site"), "data": data,
                 "data_seconds": data_seconds}
    out.update(in_process(ctx, db.url, repeats, seconds))
    dash = Dashboard(ctx, db, "dashboard.log")
    users = wall_users(db, SCREENS)
    ctx.wall = {"db": db, "dashboard": dash, "users": users}  # for the end-to-end benchmark
    try:
        out.update(over_http(ctx, dash, users, 40 if not ctx.full else 120, seconds))
    finally:
        out["dashboard_peak_rss_mb"] = peak_rss_mb(dash.pid)
    ctx.say(f"wall: build p95 {out['build_p95_ms']} ms, 20 screens cached p95 {out['concurrent_cached_p95_ms']} ms, "
            f"HTTP single p95 {out['http_single_p95_ms']} ms, 20 screens {out['http_concurrent_p95_ms']} ms")
    return out
