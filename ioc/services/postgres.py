"""A project-local PostgreSQL 15 cluster with TimescaleDB, as a process of its own.

Runs as an unprivileged user when `ioc` runs as root (PostgreSQL refuses root), listens on
127.0.0.1 only, and never touches the system's clusters. Roles: `postgres` (superuser, for
provisioning), `ioc_owner` (owns the schema, runs migrations) and `ioc_app` (what the
services use; it may not rewrite the audit trail).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from .state import State, chown_to, is_root, service_dir

log = logging.getLogger(__name__)

DB_NAME = "ioc"
OWNER = "ioc_owner"
APP = "ioc_app"


class LocalPostgres:
    def __init__(self, home: Path, *, port: int = 0, pg_bin: str = "/usr/lib/postgresql/15/bin",
                 run_as: str = "postgres", shared_buffers: str = "512MB", extra_conf: dict | None = None):
        self.home = home
        self.state = State.load(home)
        self.pg_bin = Path(pg_bin)
        self.run_as = run_as if is_root() else None
        self.data_dir = service_dir(home, "pg", self.run_as) / "data"
        self.log_file = self.data_dir.parent / "postgres.log"
        self.port = self.state.port("postgres", port, owned_running=self.is_running())
        self.shared_buffers = shared_buffers
        self.extra_conf = extra_conf or {}

    # -- commands -------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def init(self) -> None:
        if self.initialised:
            return
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        pwfile = self.data_dir.parent / "pwfile"
        pwfile.write_text(self.state.secret("pg_superuser") + "\n")
        os.chmod(pwfile, 0o600)
        chown_to(pwfile, self.run_as)
        log.info("initdb %s", self.data_dir)
        self._run(self.pg_bin / "initdb", "-D", self.data_dir, "-U", "postgres", "--pwfile", pwfile,
                  "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()

    def configure(self) -> None:
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir.parent}'",
            "shared_preload_libraries": "'timescaledb'",
            "max_connections": "200",
            "shared_buffers": self.shared_buffers,
            "max_worker_processes": "16",
            "timescaledb.max_background_workers": "8",
            "logging_collector": "off",
            "log_min_messages": "warning",
            **self.extra_conf,
        }
        # Our settings go last in an included file, so they win over initdb's defaults.
        (self.data_dir / "ioc.conf").write_text("".join(f"{k} = {v}\n" for k, v in conf.items()))
        chown_to(self.data_dir / "ioc.conf", self.run_as)
        main = self.data_dir / "postgresql.conf"
        text = main.read_text()
        if "include_if_exists = 'ioc.conf'" not in text:
            main.write_text(text + "\ninclude_if_exists = 'ioc.conf'\n")

    def start(self) -> None:
        self.init()
        if self.is_running():
            return
        self.configure()
        log.info("starting PostgreSQL on 127.0.0.1:%s", self.port)
        self._run(self.pg_bin / "pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60",
                  "start")
        self.provision()

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            log.info("stopping PostgreSQL (%s)", mode)
            self._run(self.pg_bin / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "-t", "60", "stop",
                      check=False)

    def signal(self, sig: int) -> None:
        """Send a signal to the postmaster (fault injection: SIGSTOP/SIGCONT/SIGKILL)."""
        pid = self.pid()
        if pid:
            os.kill(pid, sig)

    def freeze(self) -> None:
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: int) -> None:
        """Every process of the cluster, so a frozen database answers nobody."""
        pid = self.pid()
        if not pid:
            return
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass

    # -- roles and database -------------------------------------------------------------------
    def url(self, role: str = APP, dbname: str = DB_NAME) -> str:
        password = self.state.secret("pg_superuser" if role == "postgres" else f"pg_{role}")
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{dbname}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres", "postgres"), connect_timeout=3):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def provision(self) -> None:
        """Roles, the database and the extension; safe to repeat."""
        self.wait_ready()
        with psycopg.connect(self.url("postgres", "postgres"), autocommit=True) as conn:
            for role in (OWNER, APP):
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(self.state.secret(f"pg_{role}"))))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DB_NAME), sql.Identifier(OWNER)))
        with psycopg.connect(self.url("postgres", DB_NAME), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(DB_NAME), sql.Identifier(APP)))
