"""The polled sources, one module each (`cwa`, `cap`, `sta`, `tdx`), and which of them run.

A source runs when it is wanted (`IOC_POLL_SOURCES`, or `ioc poll --only`) and configured (its
key is set). Keyed sources (CWA, TDX) are wanted by default once their key is there; the
key-less ones (CAP, SensorThings) must be named (or `all`), so an offline demo does not knock on
public servers.
"""

from __future__ import annotations

from dataclasses import replace

from ioc import settings

from .._fetch import Limits, Redactor
from ..http import PollOptions, PollSpec


def all_specs() -> dict[str, PollSpec]:
    from . import cap, cwa, sta, tdx

    overrides = _intervals()
    specs = [*cwa.SPECS, cap.SPEC, sta.SPEC, *tdx.SPECS]
    return {s.name: replace(s, interval_s=overrides.get(s.name, s.interval_s)) for s in specs}


def select(only: tuple[str, ...] | list[str] = ()) -> tuple[list[PollSpec], dict[str, str]]:
    """(the specs to run, {name: why it does not run})."""
    specs = all_specs()
    mode = (settings.get("IOC_POLL_SOURCES") or "auto").strip().lower()
    named = {n.strip() for n in mode.split(",") if n.strip()} - {"auto", "all", "none"}
    unknown = (set(only) | named) - set(specs)
    if unknown:
        raise ValueError(f"unknown poller(s) {', '.join(sorted(unknown))}; known: {', '.join(specs)}")
    chosen, off = [], {}
    for name, spec in specs.items():
        if only:
            wanted, why = name in only, "not named by --only"
        elif mode == "none":
            wanted, why = False, "IOC_POLL_SOURCES=none"
        elif mode == "auto":
            wanted, why = spec.keyed, "needs no key: name it in IOC_POLL_SOURCES (or set it to `all`)"
        elif mode == "all":
            wanted, why = True, ""
        else:
            wanted, why = name in named, "not named in IOC_POLL_SOURCES"
        missing = spec.missing()
        if not wanted:
            off[name] = why
        elif missing:
            off[name] = missing
        else:
            chosen.append(spec)
    return chosen, off


def any_configured() -> bool:
    """Whether `ioc poll` has anything to do (the supervisor starts it only then)."""
    try:
        return bool(select()[0])
    except ValueError:
        return True  # let `ioc poll` say what is wrong, in its log


def options() -> PollOptions:
    limits = Limits(connect_s=_number("IOC_POLL_CONNECT_TIMEOUT_S"), read_s=_number("IOC_POLL_READ_TIMEOUT_S"),
                    deadline_s=_number("IOC_POLL_DEADLINE_S"), retries=settings.get_int("IOC_POLL_RETRIES"),
                    backoff_s=_number("IOC_POLL_BACKOFF_S"),
                    max_bytes=int(_number("IOC_POLL_MAX_MIB") * (1 << 20)))
    from datetime import timedelta

    return PollOptions(limits=limits, overlap=timedelta(seconds=_number("IOC_POLL_OVERLAP_S")),
                       lookback=timedelta(hours=_number("IOC_POLL_LOOKBACK_H")))


def redactor() -> Redactor:
    """Every secret setting's value, to be removed from anything logged or stored."""
    return Redactor(settings.get(s.name) or "" for s in settings.SETTINGS if s.secret)


def _number(name: str) -> float:
    value = settings.get(name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SystemExit(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise SystemExit(f"{name} must not be negative, got {value!r}")
    return number


def _intervals() -> dict[str, float]:
    found = {}
    for item in (settings.get("IOC_POLL_INTERVALS") or "").split(","):
        if not item.strip():
            continue
        name, _, seconds = item.partition("=")
        try:
            found[name.strip()] = max(1.0, float(seconds))
        except ValueError:
            raise SystemExit(f"IOC_POLL_INTERVALS: {item.strip()!r} is not name=seconds") from None
    return found
