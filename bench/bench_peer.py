"""A peer: the same ingest workload through a Node-RED flow (MQTT in, PostgreSQL out).

Node-RED (from npm: 5.x, or 4.x where Node.js is older than 22.9, as Debian 12's is) is
installed once into a cache folder outside the checkout ($XDG_CACHE_HOME/ioc-bench/node-red)
with node-postgres (`pg`). The PostgreSQL node
many flows use (node-red-contrib-postgresql) is not on the npm registry this machine reaches, so
the flow (bench/peer/flow.json) does what that node does: a function node that computes the
same row as our feed and INSERTs it through a `pg` pool (4 connections), one row per message,
autocommit, ON CONFLICT DO NOTHING. The MQTT in node subscribes with QoS 1 on a persistent
session (clean session off), like our worker, but acknowledges each message on receipt, not
after the row is committed: a crash can lose what it acknowledged.

Measured like the others: a backlog of the same messages queued for the flow's session, the
table emptied, Node-RED started headless (no editor); the rate is rows over the time between
the first and the last row's commit (`received_at`, each INSERT its own transaction), so
Node-RED's start-up is not counted. Peak RSS of the Node.js process is noted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from ioc.services.state import free_port

from .backlog import fill, prime_session
from .stack import ROOT, peak_rss_mb
from .vdlive import backlog_base

PEER = ROOT / "bench" / "peer"
TOPIC = "ioc/v1/traffic/vd/+"


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ioc-bench" / "node-red"


def wanted_major(node: str) -> int:
    """Node-RED 5 needs Node.js 22.9 or later; on an older Node.js, the 4.x line (Node.js 18+)."""
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    major, minor = (int(x) for x in out.split(".")[:2])
    return 5 if (major, minor) >= (22, 9) else 4


def install(ctx) -> tuple[Path | None, str]:
    """(folder with node_modules, how it went); None when it cannot be installed."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        return None, "node/npm not installed"
    major = wanted_major(node)
    folder = cache_dir() / f"v{major}"
    red = folder / "node_modules" / "node-red" / "red.js"
    pg = folder / "node_modules" / "pg"
    if red.exists() and pg.exists():
        return folder, "cached"
    folder.mkdir(parents=True, exist_ok=True)
    ctx.say(f"peer: npm install node-red@{major} pg@8 into {folder}")
    try:
        done = subprocess.run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error",
                               f"node-red@{major}", "pg@8"], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return None, "npm install did not finish in 15 minutes"
    if done.returncode != 0 or not red.exists():
        return None, f"npm install failed: {(done.stderr or done.stdout).strip()[-500:]}"
    return folder, "installed"


def node_red_version(folder: Path) -> str | None:
    try:
        return json.loads((folder / "node_modules" / "node-red" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def run(ctx) -> dict:
    folder, how = install(ctx)
    if folder is None:
        ctx.say(f"peer unavailable: {how}")
        return {"status": "unavailable", "reason": how}
    stack = ctx.stack
    n = ctx.sizes["peer_messages"]
    db = stack.new_database()
    stack.restart_broker()
    client_id = f"bench-nodered-{uuid.uuid4().hex[:6]}"
    prime_session(stack.broker.url("ingest"), client_id, topics=(TOPIC,))
    filled = fill(stack.broker.url("simulator"), backlog_base(n), n)
    db.execute("TRUNCATE vd_reading")

    user_dir = ctx.logs / "node-red"
    user_dir.mkdir(exist_ok=True)
    shutil.copy(PEER / "flow.json", user_dir / "flows.json")
    (user_dir / "flows_cred.json").write_text(json.dumps(
        {"bench-broker": {"user": "ingest", "password": stack.broker.password("ingest")}}))
    env = {**os.environ, "MQTT_PORT": str(stack.broker.port), "MQTT_CLIENT_ID": client_id, "PG_URL": db.url,
           "NODE_RED_PORT": str(free_port()), "NODE_RED_PG_MODULE": str(folder / "node_modules" / "pg"),
           "NODE_ENV": "production"}
    log = open(ctx.logs / "node-red.log", "wb")
    proc = subprocess.Popen([shutil.which("node"), str(folder / "node_modules" / "node-red" / "red.js"),
                             "--settings", str(PEER / "settings.js"), "--userDir", str(user_dir)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    peak = None
    try:
        last, last_change = -1, time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Node-RED exited with {proc.returncode}: "
                                   f"{(ctx.logs / 'node-red.log').read_text(errors='replace')[-1500:]}")
            count = db.scalar("SELECT count(*) FROM vd_reading")
            peak = peak_rss_mb(proc.pid) or peak
            if count >= n:
                break
            if count != last:
                last, last_change = count, time.monotonic()
            elif time.monotonic() - last_change > 90:
                raise RuntimeError(f"Node-RED stored {count} of {n} rows and stopped progressing")
            time.sleep(0.5)
        peak = peak_rss_mb(proc.pid) or peak
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
    rows, span = db.query("SELECT count(*), extract(epoch FROM max(received_at) - min(received_at)) "
                          "FROM vd_reading")[0]
    stack.drop_database(db)
    rate = round((rows - 1) / float(span)) if span else None
    out = {"status": "measured", "install": how, "node_red": node_red_version(folder),
           "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
           "messages": n, "rows": rows, "seconds": round(float(span), 2), "msgs_per_s": rate,
           "peak_rss_mb": peak, "backlog_fill": filled,
           "flow": "mqtt in (QoS 1, persistent session) -> function: row + pg INSERT (pool of 4), autocommit",
           "acknowledges": "on receipt (MQTT.js), not after commit"}
    worker = (ctx.results.get("ingest") or {}).get("worker", {}).get("msgs_per_s")
    if worker and rate:
        out["worker_vs_peer"] = round(worker / rate, 2)
    ctx.say(f"peer: Node-RED {out['node_red']}: {rate:,} msg/s on {n:,} messages"
            + (f"; worker / Node-RED = {out['worker_vs_peer']}" if "worker_vs_peer" in out else ""))
    return out
