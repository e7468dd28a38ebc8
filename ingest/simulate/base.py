"""What every simulator generator shares: the message it returns, the moment it is asked about,
and small helpers (seeded randomness, curves, time formats).

A generator is any object with `tick(now: SimTime) -> list[Message]`: the messages that became
due since its previous tick. Generators keep their own schedule; the runner only asks.

Two clocks meet here. The *scenario clock* (`SimTime.elapsed`, `SimTime.local`) runs `speed`
times faster than real time and decides what happens (rain, alerts, outages). Every published
time (`SimTime.stamp(...)`) is the real moment that scenario instant maps to, so messages are
always fresh and never in the future: they pass the feeds' live checks and look live on the wall.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Protocol

import numpy as np
import orjson

from ingest.feeds._common import TAIPEI


class Message(NamedTuple):
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True)
class ScenarioClock:
    """Scenario time <-> real time. `start` is the real moment the scenario began (aware)."""

    start: datetime
    speed: float = 1.0

    def __post_init__(self):
        if self.start.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware")
        if not self.speed > 0:
            raise ValueError("speed must be positive")

    def stamp(self, elapsed: timedelta) -> datetime:
        """The real time (UTC) a scenario instant is published as."""
        return (self.start + elapsed / self.speed).astimezone(timezone.utc)

    def local(self, elapsed: timedelta) -> datetime:
        """The scenario's own wall time in Taipei (drives time of day and season)."""
        return (self.start + elapsed).astimezone(TAIPEI)

    def at_real(self, real: datetime) -> SimTime:
        return SimTime(self, (real - self.start) * self.speed, (real - self.start).total_seconds())

    def at_elapsed(self, elapsed: timedelta) -> SimTime:
        return SimTime(self, elapsed, elapsed.total_seconds() / self.speed)


@dataclass(frozen=True)
class SimTime:
    clock: ScenarioClock
    elapsed: timedelta  # scenario time since the start
    real_elapsed_s: float  # real seconds since the start

    @property
    def hours(self) -> float:
        return self.elapsed.total_seconds() / 3600

    @property
    def local(self) -> datetime:
        return self.clock.local(self.elapsed)

    @property
    def at(self) -> datetime:
        return self.clock.stamp(self.elapsed)

    def stamp(self, elapsed: timedelta | float) -> datetime:
        """Real time of a scenario instant (a timedelta, or hours as a float)."""
        if not isinstance(elapsed, timedelta):
            elapsed = timedelta(hours=elapsed)
        return self.clock.stamp(elapsed)


class Generator(Protocol):
    def tick(self, now: SimTime) -> list[Message]: ...


# --- seeded randomness --------------------------------------------------------------------------

def _digest(keys: tuple) -> int:
    # blake2b, not crc32: similar keys (consecutive days) must give unrelated numbers.
    return int.from_bytes(hashlib.blake2b(repr(keys).encode(), digest_size=8).digest(), "big")


def rng(seed: int, *keys) -> random.Random:
    """A random stream of its own for each purpose, so adding one draw never shifts another."""
    return random.Random(_digest((seed, *keys)))


def unit_hash(*keys) -> float:
    """A reproducible number in [0, 1) from keys (no state)."""
    return _digest(keys) / 2**64


# --- curves: (hour, value) knots, linear between ---------------------------------------------------

Curve = tuple[tuple[float, float], ...]


def curve_at(curve: Curve, hours, *, outside: float | None = 0.0):
    """Value of a curve at scenario hours (a number or an array). Outside its knots: `outside`,
    or the nearest end value when `outside` is None."""
    if not curve:
        return np.zeros_like(np.asarray(hours, dtype=float)) if np.ndim(hours) else 0.0
    xs = [k[0] for k in curve]
    ys = [k[1] for k in curve]
    left = ys[0] if outside is None else outside
    right = ys[-1] if outside is None else outside
    value = np.interp(hours, xs, ys, left=left, right=right)
    return float(value) if np.ndim(value) == 0 else value


# --- formats --------------------------------------------------------------------------------------

def iso_ms(dt: datetime) -> str:
    """ISO 8601 in Taipei time with milliseconds: distinct even when scenario time runs fast."""
    return dt.astimezone(TAIPEI).isoformat(timespec="milliseconds")


def iso_s(dt: datetime) -> str:
    return dt.astimezone(TAIPEI).isoformat(timespec="seconds")


def dumps(doc) -> bytes:
    return orjson.dumps(doc)


@dataclass
class Every:
    """A fixed rhythm in scenario time: which slots (multiples of `period`) fell due since the
    previous call. After a long pause only the latest slot is returned (no flood of stale data)."""

    period: timedelta
    offset: timedelta = timedelta(0)
    max_catch_up: int = 6
    _last: int | None = field(default=None, repr=False)

    def due(self, elapsed: timedelta) -> list[timedelta]:
        k = math.floor((elapsed - self.offset) / self.period)
        if self._last is not None and k <= self._last:
            return []
        first = k if self._last is None else max(self._last + 1, k - self.max_catch_up + 1)
        self._last = k
        return [self.offset + i * self.period for i in range(first, k + 1)]


def arrivals(r: random.Random, per_hour: float, start_h: float, span_h: float = 1.0) -> list[float]:
    """Times (scenario hours) of a Poisson process of `per_hour` events in [start, start+span)."""
    out: list[float] = []
    if per_hour <= 0:
        return out
    t = start_h + r.expovariate(per_hour)
    while t < start_h + span_h:
        out.append(t)
        t += r.expovariate(per_hour)
    return out
