"""The dashboard as a real process on a free port."""

from __future__ import annotations

from pathlib import Path

import httpx

from ioc.services.state import free_port

from .stack import Process, ioc_env, start_ioc
from .waiting import wait_until


def start_dashboard(db, broker, log_path: Path, *, port: int | None = None, **extra_env: str) -> tuple[Process, str]:
    port = port or free_port()
    env = ioc_env(db, broker, IOC_DASHBOARD_PORT=str(port), IOC_REFRESH_MS="1000", **extra_env)
    proc = start_ioc(["dashboard"], env, log_path)
    base = f"http://127.0.0.1:{port}"

    def up():
        if not proc.alive():
            raise AssertionError(proc.log())
        return httpx.get(f"{base}/_dash-layout", timeout=2).status_code in (200, 401, 302)

    wait_until(up, 30, 0.2, message="dashboard listening")
    return proc, base
