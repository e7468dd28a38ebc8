"""`ioc up`: the whole operations center on local defaults, stopped cleanly by Ctrl-C.

Starts the services (unless `IOC_*` URLs point elsewhere), applies migrations, then runs the
simulator, the ingest worker and the dashboard as child processes, restarting any that dies
(with backoff). Ctrl-C (or SIGTERM) stops the children first, then the broker (which saves
its store), then the database.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import settings
from .db import migrate
from .demo import ensure_demo_users
from .services import endpoints, start_local

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    log_file: object = field(default=None, repr=False)

    def start(self, env: dict) -> None:
        self.log_file = open(self.log_path, "ab", buffering=0)
        self.process = subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ioc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ioc", *args]


def up(*, with_simulator: bool = True, on_ready=None) -> int:
    home = settings.home()
    home.mkdir(parents=True, exist_ok=True)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    started = time.monotonic()
    pg, broker = start_local(home)
    ep = endpoints(home)
    applied = migrate(ep.database_owner_url)
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    demo_users = ensure_demo_users(ep.database_url, home)
    if on_ready is not None:
        on_ready(ep)

    env = {**os.environ, "IOC_HOME": str(home)}
    children = [Child("ingest", ioc_command("ingest", "mqtt"), logs / "ingest.log"),
                Child("jobs", ioc_command("jobs", "run"), logs / "jobs.log"),
                Child("dashboard", ioc_command("dashboard"), logs / "dashboard.log")]
    if with_simulator:
        children.append(Child("simulator", ioc_command("simulate"), logs / "simulator.log"))
    from ingest.sources.polls import any_configured

    if any_configured():  # the HTTP pollers, once a source (CWA key, TDX client, ...) is set up
        children.append(Child("poll", ioc_command("poll"), logs / "poll.log"))
    for child in children:
        child.start(env)

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    url = f"http://{settings.get('IOC_DASHBOARD_HOST')}:{settings.get('IOC_DASHBOARD_PORT')}"
    print(f"\nTaichung operations center is up in {time.monotonic() - started:.1f} s", flush=True)
    print(f"  wall:      {url}/wall", flush=True)
    print(f"  logs:      {logs}", flush=True)
    print("  demo sign-ins (user / password / role):", flush=True)
    for name, role, password in demo_users:
        print(f"    {name:18} {password:18} {role}", flush=True)
    print("  Ctrl-C stops everything.", flush=True)
    try:
        while not stopping:
            time.sleep(0.5)
            for child in children:
                _keep_alive(child, env)
    finally:
        print("\nstopping ...", flush=True)
        for child in children:
            child.stop()
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        print("stopped.", flush=True)
    return 0


def _keep_alive(child: Child, env: dict) -> None:
    """Restart a child that died, waiting longer each time it dies young."""
    if child.process is None or child.process.poll() is None:
        return
    now = time.monotonic()
    if child.next_start == 0.0:
        lived = now - child.started_at
        child.restarts = 0 if lived > 60 else child.restarts + 1
        delay = min(30.0, 0.5 * 2 ** child.restarts)
        log.warning("%s exited with %s; restarting in %.1f s (see %s)", child.name,
                    child.process.returncode, delay, child.log_path)
        child.next_start = now + delay
    elif now >= child.next_start:
        child.next_start = 0.0
        child.start(env)
