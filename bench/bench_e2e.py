"""End to end: a message published to the broker, until its effect is on the wall in Chromium.

On the wall of the wall benchmark (30 days, 2,000 detectors reporting), with the real worker
(its own process) and the real dashboard (`ioc dashboard`, the settings' default refresh
interval), a signed-in wall user in headless Chromium. Each trial publishes one reading of a
detector that is not reporting yet, at a random moment of the refresh cycle, and waits until
the "detectors reporting" tile shows one more; a MutationObserver in the page notes the time
of the next animation frame after the change (Date.now(), the same clock as this process).
Also noted per trial: when the worker committed the reading (its own report; the baseline), and
where the rest went (waiting for the next refresh, the refresh callback, the browser applying
it). Full mode runs the same against a dashboard refreshing twice as often, to show what the
interval costs.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import orjson

from ioc import settings
from ioc.mqtt import Publisher

from .bench_ingest import worker_options
from .backlog import prime_session
from .procs import Child, wait_committed, worker_child

FRESH_S = 120  # tdx-vdlive's cadence: how long a reading keeps its detector "reporting"
TILE = "[id='{\"id\":\"detectors\",\"type\":\"tile\"}'] .tile-value"
WATCH = """(expected) => {
    window.__seen = null;
    if (!window.__tasks) {  // the browser's long tasks (> 50 ms), to see what held a change back
        window.__tasks = [];
        new PerformanceObserver(list => {
            for (const e of list.getEntries())
                window.__tasks.push([performance.timeOrigin + e.startTime, e.duration]);
        }).observe({type: 'longtask'});
    }
    const tile = () => document.querySelector(%r);
    const obs = new MutationObserver(() => {
        const el = tile();
        if (el && el.innerText.replace(/\\D/g, '') === String(expected)) {
            obs.disconnect();
            requestAnimationFrame(() => { window.__seen = Date.now(); });
        }
    });
    obs.observe(document.body, {childList: true, subtree: true, characterData: true});
}""" % TILE


def vdlive(vd_id: str, when: datetime, speed: int = 23) -> bytes:
    return orjson.dumps({
        "VDID": vd_id, "Status": 0, "DataCollectTime": when.isoformat(), "SubAuthorityCode": "TXG",
        "LinkFlows": [{"LinkID": "E2E", "Lanes": [
            {"LaneID": 0, "LaneType": 1, "Speed": speed, "Occupancy": 12,
             "Vehicles": [{"VehicleType": "S", "Volume": 9, "Speed": speed}]}]}]})


def _count(page) -> int:
    return int("".join(ch for ch in page.locator(TILE).inner_text() if ch.isdigit()) or 0)


def trials(ctx, browser, dash, user, worker: Child, publisher: Publisher, prefix: str, n: int,
           refresh_s: float, committed: int) -> dict:
    """Up to `n` trials, all within FRESH_S of the first publish: a detector counts as reporting
    for 2 minutes after its reading, so no detector of these trials drops out meanwhile."""
    from tests.support.users import sign_in_page

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-TW", timezone_id="Asia/Taipei")
    page = context.new_page()
    visible, commit, failed = [], [], 0
    per_trial: list[dict] = []  # each trial's figures, to see what an outlier was made of
    phases: dict[str, list[float]] = {"tick_wait": [], "server": [], "browser": []}
    refreshes: list[tuple[float, float]] = []  # (request start, response end), epoch seconds

    def finished(request):
        if "_dash-update-component" in request.url and "wall-tick" in (request.post_data or ""):
            timing = request.timing
            start = timing["startTime"] / 1000
            refreshes.append((start, start + timing["responseEnd"] / 1000))

    page.on("requestfinished", finished)
    rng = random.Random(4)
    first = last = None
    try:
        dash.ensure_alive()
        sign_in_page(page, dash.base, *user)
        try:
            page.locator(TILE).first.wait_for(timeout=60000)
        except Exception:
            page.screenshot(path=str(ctx.logs / f"e2e-{prefix}-start.png"))
            raise
        time.sleep(refresh_s * 1.5)
        for k in range(n):
            if first is not None and time.time() - first > FRESH_S - 15:
                break
            before = _count(page)
            page.evaluate(WATCH, before + 1)
            time.sleep(rng.uniform(0, refresh_s))  # a random moment of the refresh cycle
            when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
            vd = f"VD-{prefix}-{k:03d}"
            payload = vdlive(vd, when)
            sent = time.time()
            publisher.publish(f"ioc/v1/traffic/vd/{vd}", payload)
            first = first or sent
            last = sent
            committed += 1
            try:
                last_commit, _ = wait_committed([worker], committed, 15)
                commit.append((last_commit - sent) * 1000)
                page.wait_for_function("() => window.__seen", timeout=30000, polling=50)
                seen = page.evaluate("() => window.__seen") / 1000
                visible.append((seen - sent) * 1000)
                # Where it went: waiting for the next refresh after the commit, the server's
                # answer, and the browser applying it (the first refresh that started after it).
                after = [r for r in refreshes if r[0] >= last_commit and r[1] <= seen + 0.05]
                tasks = page.evaluate("() => window.__tasks || []")
                during = [d for t0, d in tasks if t0 / 1000 < seen and t0 / 1000 + d / 1000 > sent]
                trial = {"visible_ms": round(visible[-1]), "commit_ms": round(commit[-1]),
                         "longest_task_ms": round(max(during, default=0)), "long_tasks": len(during)}
                if after:
                    start, end = min(after)
                    phases["tick_wait"].append((start - last_commit) * 1000)
                    phases["server"].append((end - start) * 1000)
                    phases["browser"].append((seen - end) * 1000)
                    before_it = [r[0] for r in refreshes if r[0] < start]
                    trial.update(wait_ms=round((start - last_commit) * 1000), server_ms=round((end - start) * 1000),
                                 browser_ms=round((seen - end) * 1000), refreshes_until_seen=len(after),
                                 tick_gap_ms=round((start - max(before_it)) * 1000) if before_it else None)
                per_trial.append(trial)
            except Exception as exc:  # noqa: BLE001 - one lost trial is reported, not fatal
                failed += 1
                try:
                    shown = page.locator(TILE).inner_text(timeout=2000)
                    page.screenshot(path=str(ctx.logs / f"e2e-{prefix}-{k}.png"))
                except Exception:  # noqa: BLE001
                    shown = "?"
                ctx.say(f"e2e trial {k} failed (tile shows {shown!r}, expected {before + 1}, worker committed "
                        f"{worker.committed} of {committed}): {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        context.close()
    return {"visible": visible, "commit": commit, "failed": failed, "committed": committed, "last_publish": last,
            "phases": {k: _stats(v) for k, v in phases.items()}, "per_trial": per_trial}


def _stats(values: list[float]) -> dict:
    if not values:
        return {}
    a = np.asarray(values)
    return {"p50_ms": round(float(np.percentile(a, 50)), 1), "p95_ms": round(float(np.percentile(a, 95)), 1),
            "max_ms": round(float(a.max()), 1), "n": len(values)}


def run(ctx) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch

    from .bench_wall import Dashboard, wall_users
    from .stack import peak_rss_mb

    stack = ctx.stack
    if not ctx.wall:  # run alone: a smaller wall of its own
        from . import walldata

        db = stack.new_database()
        walldata.build(db, 200_000, datetime.now(timezone.utc).replace(microsecond=0), ctx.say)
        ctx.wall = {"db": db, "dashboard": Dashboard(ctx, db, "dashboard.log")}
    db, dash = ctx.wall["db"], ctx.wall["dashboard"]
    n = 30 if ctx.full else 20
    user = wall_users(db, 1)[0] if "users" not in ctx.wall else ctx.wall["users"][0]
    sites = [(f"VD-E2E{r}-{k:03d}", f"e2e {r} {k}", 120.68 + 0.001 * k, 24.15 + 0.01 * i)
             for i, r in enumerate("AB") for k in range(n)]
    db.execute("INSERT INTO vd_site (vd_id, name, lon, lat, lanes, time) "
               "SELECT v, nm, x, y, 1, now() FROM unnest(%s::text[], %s::text[], %s::float8[], %s::float8[]) "
               "AS s(v, nm, x, y) ON CONFLICT DO NOTHING",
               ([s[0] for s in sites], [s[1] for s in sites], [s[2] for s in sites], [s[3] for s in sites]))
    default_ms = int(settings._BY_NAME["IOC_REFRESH_MS"].default)
    client_id = f"bench-e2e-{uuid.uuid4().hex[:6]}"
    prime_session(stack.broker.url("ingest"), client_id)  # nothing published before it connects is lost
    worker = Child(worker_child, db.url, stack.broker.url("ingest"), worker_options(client_id),
                   str(ctx.logs / "e2e.log")).ready()
    worker.go()
    publisher = Publisher(stack.broker.url("simulator"), f"bench-e2e-pub-{uuid.uuid4().hex[:6]}")
    fast = None
    out: dict = {"refresh_ms": default_ms, "trials": n}
    try:
        when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
        publisher.publish("ioc/v1/traffic/vd/VD-BENCH-0000", vdlive("VD-BENCH-0000", when), wait=True)
        wait_committed([worker], 1, 60)  # the worker is connected and writing
        with sync_playwright() as p:
            browser = launch(p)
            try:
                ctx.say(f"e2e: {n} trials at the default refresh ({default_ms} ms)")
                a = trials(ctx, browser, dash, user, worker, publisher, "E2EA", n, default_ms / 1000, 1)
                out.update(_stats(a["visible"]))
                out["commit"] = _stats(a["commit"])
                out["commit_p95_ms"] = out["commit"].get("p95_ms")
                out["failed_trials"] = a["failed"]
                out["phases"] = a["phases"]
                out["per_trial"] = a["per_trial"]
                if ctx.full:
                    fast_ms = max(250, default_ms // 2)
                    fast = Dashboard(ctx, db, "dashboard-fast.log", IOC_REFRESH_MS=str(fast_ms))
                    # The first run's detectors stop counting as reporting FRESH_S after their
                    # reading: let them all go before counting again.
                    pause = (a["last_publish"] or 0) + FRESH_S + 5 - time.time()
                    if pause > 0:
                        ctx.say(f"e2e: waiting {pause:.0f} s for the first run's detectors to stop reporting")
                        time.sleep(pause)
                    ctx.say(f"e2e: the same at a {fast_ms} ms refresh")
                    b = trials(ctx, browser, fast, user, worker, publisher, "E2EB", n, fast_ms / 1000, a["committed"])
                    out["fast"] = {"refresh_ms": fast_ms, **_stats(b["visible"]), "commit": _stats(b["commit"]),
                                   "failed_trials": b["failed"], "phases": b["phases"]}
            finally:
                browser.close()
        out["dashboard_restarts"] = dash.restarts + (fast.restarts if fast else [])
        out["dashboard_peak_rss_mb"] = max(v for v in (peak_rss_mb(dash.pid), fast and peak_rss_mb(fast.pid)) if v)
    finally:
        publisher.close()
        worker.stop()
        if fast is not None:
            fast.stop()
    ctx.say(f"e2e: p95 {out.get('p95_ms')} ms at the {default_ms} ms refresh (commit alone p95 "
            f"{out.get('commit_p95_ms')} ms)" + (f"; {out['fast']['p95_ms']} ms at {out['fast']['refresh_ms']} ms"
                                                 if "fast" in out else ""))
    return out
