"""Functional deadlines: wait until something holds, at most N seconds (never a timed assertion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep trying until the deadline
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not hold within {timeout}s"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)
