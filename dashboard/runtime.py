"""Process-wide things the pages need, set once by `create_app` (pages must not import the app)."""

from __future__ import annotations

from .data import Database

_state: dict = {}


def configure(db: Database, *, refresh_ms: int) -> None:
    _state["db"] = db
    _state["refresh_ms"] = refresh_ms


def database() -> Database:
    try:
        return _state["db"]
    except KeyError:
        raise RuntimeError("the dashboard is not configured: use dashboard.app.create_app") from None


def refresh_ms() -> int:
    return _state.get("refresh_ms", 2000)
