"""Demo accounts for `make demo`: one user per role, with passwords generated once under IOC_HOME."""

from __future__ import annotations

from pathlib import Path

from .db import connect
from .services.state import State

DEMO_USERS = (
    ("demo-leadership", "leadership"),
    ("demo-duty", "duty_officer"),
    ("demo-coordinator", "coordinator"),
    ("demo-kpi", "kpi_staff"),
    ("demo-admin", "admin"),
    ("demo-wall", "wall"),
)


def ensure_demo_users(db_url: str, home: Path) -> list[tuple[str, str, str]]:
    from dashboard.auth import store

    state = State.load(home)
    created = []
    with connect(db_url, autocommit=True, application_name="ioc-demo") as conn:
        existing = {u["name"] for u in store.list_users(conn)}
        for name, role in DEMO_USERS:
            password = state.secret(f"demo_{name}", 12)
            if name not in existing:
                store.add_user(conn, name, role, password, actor="ioc up (demo)")
            created.append((name, role, password))
    return created
