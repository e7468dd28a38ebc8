"""The real services tests run against: a TimescaleDB cluster and Mosquitto brokers, started
by the same code `ioc up` uses, in a temporary IOC_HOME, on free ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from ioc.db import migrate
from ioc.services.mosquitto import LocalMosquitto
from ioc.services.postgres import APP, OWNER, LocalPostgres
from ioc.services.state import service_dir

from .waiting import wait_until

TEMPLATE_DB = "ioc_template"


@dataclass
class Database:
    name: str
    url: str  # the application role
    owner_url: str

    def query(self, q: str, params=None) -> list[tuple]:
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            return conn.execute(q, params).fetchall()

    def scalar(self, q: str, params=None):
        rows = self.query(q, params)
        return rows[0][0] if rows else None


@dataclass
class Stack:
    home: Path
    pg: LocalPostgres
    extra_dirs: list[Path] = field(default_factory=list)

    @classmethod
    def start(cls) -> "Stack":
        home = Path(tempfile.mkdtemp(prefix="ioc-test-"))
        # No background workers: nothing holds the template database open while we copy it.
        pg = LocalPostgres(home, shared_buffers="256MB", extra_conf={
            "timescaledb.max_background_workers": "0", "max_connections": "300"})
        pg.start()
        stack = cls(home, pg)
        with psycopg.connect(pg.url("postgres", "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(TEMPLATE_DB), sql.Identifier(OWNER)))
        with psycopg.connect(pg.url("postgres", TEMPLATE_DB), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        migrate(pg.url(OWNER, TEMPLATE_DB))
        return stack

    def new_database(self) -> Database:
        """A fresh, migrated database of its own (a copy of the template: fast)."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.pg.url("postgres", "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DB), sql.Identifier(OWNER)))
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(APP)))
        return Database(name, self.pg.url(APP, name), self.pg.url(OWNER, name))

    def new_broker(self, **kwargs) -> LocalMosquitto:
        """A broker of its own in a fresh folder, so no test sees another's sessions."""
        home = self.home / f"mqtt-{uuid.uuid4().hex[:8]}"
        home.mkdir()
        broker = LocalMosquitto(home, **kwargs)
        broker.start()
        self.extra_dirs.append(broker.dir)
        return broker

    def stop(self) -> None:
        self.pg.stop("immediate")
        dirs = [self.pg.data_dir.parent, *self.extra_dirs]
        shutil.rmtree(self.home, ignore_errors=True)
        for d in dirs:
            if d.resolve().is_relative_to("/var/tmp"):
                shutil.rmtree(d.resolve().parent, ignore_errors=True)


def ioc_env(db: Database, broker: LocalMosquitto, **extra: str) -> dict:
    """Environment for an `ioc` process pointed at these services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({
        "IOC_DATABASE_URL": db.url,
        "IOC_DATABASE_OWNER_URL": db.owner_url,
        "IOC_MQTT_URL": broker.url("ingest"),
        "IOC_MQTT_PUBLISH_URL": broker.url("simulator"),
        "IOC_HOME": str(broker.home),
        "IOC_LOG_LEVEL": "INFO",
        **extra,
    })
    return env


@dataclass
class Process:
    popen: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def start_ioc(args: list[str], env: dict, log_path: Path) -> Process:
    log_file = open(log_path, "ab")
    popen = subprocess.Popen([sys.executable, "-m", "ioc", *args], env=env, stdin=subprocess.DEVNULL,
                             stdout=log_file, stderr=subprocess.STDOUT)
    return Process(popen, log_path)


def start_worker(db: Database, broker: LocalMosquitto, log_path: Path, *, client_id: str | None = None,
                 wait: bool = True, **extra_env: str) -> Process:
    env = ioc_env(db, broker, IOC_INGEST_CLIENT_ID=client_id or f"ioc-ingest-{uuid.uuid4().hex[:6]}", **extra_env)
    proc = start_ioc(["ingest", "mqtt"], env, log_path)
    if wait:
        wait_until(lambda: "connected to the broker" in proc.log() or not proc.alive(), 20,
                   message="worker connected")
        assert proc.alive(), proc.log()
    return proc
