"""The services a benchmark runs against, and what it reads about processes and the machine.

The cluster and the broker are started by the same classes `ioc up` uses, with `ioc up`'s
settings (shared_buffers, Mosquitto's queue and autosave), in a temporary IOC_HOME that is
removed afterwards: a benchmark never touches the developer's own services.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from ioc.db import migrate
from ioc.services.mosquitto import LocalMosquitto
from ioc.services.postgres import APP, OWNER, LocalPostgres

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Database:
    name: str
    url: str  # the application role, as the services connect
    owner_url: str
    super_url: str

    def query(self, q, params=None) -> list[tuple]:
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            cur = conn.execute(q, params)
            return cur.fetchall() if cur.description else []

    def execute(self, q, params=None, *, superuser: bool = False) -> None:
        with psycopg.connect(self.super_url if superuser else self.owner_url, autocommit=True) as conn:
            conn.execute(q, params)

    def scalar(self, q, params=None):
        rows = self.query(q, params)
        return rows[0][0] if rows else None


@dataclass
class BenchStack:
    home: Path
    pg: LocalPostgres
    broker: LocalMosquitto
    databases: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> "BenchStack":
        home = Path(tempfile.mkdtemp(prefix="ioc-bench-"))
        pg = LocalPostgres(home)  # ioc up's settings: shared_buffers 512MB, background workers
        pg.start()
        broker = LocalMosquitto(home)  # ioc up's: max_queued 2,000,000, autosave every 2 s
        broker.start()
        return cls(home, pg, broker)

    def new_database(self) -> Database:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.pg.url("postgres", "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(OWNER)))
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(APP)))
        with psycopg.connect(self.pg.url("postgres", name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        migrate(self.pg.url(OWNER, name))
        self.databases.append(name)
        return Database(name, self.pg.url(APP, name), self.pg.url(OWNER, name), self.pg.url("postgres", name))

    def drop_database(self, db: Database) -> None:
        with psycopg.connect(self.pg.url("postgres", "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))

    def restart_broker(self) -> None:
        """A fresh broker (empty store): no session or backlog of an earlier run is left."""
        self.broker.stop()
        data = self.broker.dir / "data"
        shutil.rmtree(data, ignore_errors=True)
        self.broker = LocalMosquitto(self.home)
        self.broker.start()

    def stop(self) -> None:
        try:
            self.broker.stop()
        finally:
            self.pg.stop("immediate")
            dirs = [self.pg.data_dir.parent, self.broker.dir]
            shutil.rmtree(self.home, ignore_errors=True)
            for d in dirs:
                resolved = d.resolve()
                if resolved.is_relative_to("/var/tmp"):
                    shutil.rmtree(resolved.parent, ignore_errors=True)

    # -- CPU of the services, for "where did the time go" -------------------------------------
    def postgres_cpu_s(self) -> float:
        pid = self.pg.pid()
        return cluster_cpu_s(pid) if pid else 0.0

    def broker_cpu_s(self) -> float:
        pid = self.broker.pid()
        return process_cpu_s(pid) if pid else 0.0


# -- processes ------------------------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()


def process_cpu_s(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds of a process (and of its reaped children)."""
    try:
        f = _stat_fields(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12])  # utime, stime
    if with_children:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(p) for p in out.split()]


def cluster_cpu_s(postmaster: int) -> float:
    """The postmaster, its live backends, and the backends that have exited (reaped)."""
    return process_cpu_s(postmaster, with_children=True) + sum(process_cpu_s(p) for p in children(postmaster))


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the peak resident set size of a live process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def tree_peak_rss_mb(pid: int) -> float | None:
    """Peak RSS summed over a process and its children (Node-RED runs as one node process)."""
    values = [peak_rss_mb(p) for p in [pid, *children(pid)]]
    values = [v for v in values if v is not None]
    return round(sum(values), 1) if values else None


# -- the machine ----------------------------------------------------------------------------------
def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def machine_facts(stack: BenchStack | None = None) -> dict:
    mem_kb = _first("/proc/meminfo", "MemTotal")
    facts = {
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "mosquitto": _version(["mosquitto", "-h"]),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(_version(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])),
    }
    if stack is not None:
        with psycopg.connect(stack.pg.url("postgres", "postgres"), autocommit=True) as conn:
            facts["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            facts["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]
            facts["synchronous_commit"] = conn.execute("SHOW synchronous_commit").fetchone()[0]
        with psycopg.connect(stack.pg.url("postgres", "ioc"), autocommit=True) as conn:
            facts["timescaledb"] = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()[0]
    return facts


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start
