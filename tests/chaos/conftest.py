"""Fault injection against real processes (`make chaos`): fixtures, the run's size, and the report.

Size: run alone (`pytest tests/chaos`, which is what `make chaos` does) the scenarios use the
issue's numbers (database away for 60 s at 2,000 msg/s). Run as part of the whole suite
(`make test`) the outages last 15 s, which still fills the worker's inflight cap and shows every
behaviour, in a quarter of the time. `--chaos-full` / `--chaos-quick` (or CHAOS_MODE=full|quick)
choose explicitly.

Report: a table of every scenario's figures after the run, and as the very last line
`chaos: published=N stored=N lost=N ...` (totals over the scenarios that ran).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.harness import FIGURES, TOTALS
from tests.support.stack import Stack

CHAOS_DIR = Path(__file__).resolve().parent


def pytest_addoption(parser):
    group = parser.getgroup("chaos", "fault injection (tests/chaos)")
    group.addoption("--chaos-full", action="store_true", help="the issue's numbers (default when run alone)")
    group.addoption("--chaos-quick", action="store_true", help="shorter outages (default inside the whole suite)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(CHAOS_DIR):
            item.add_marker(pytest.mark.chaos)


@dataclass(frozen=True)
class Size:
    full: bool
    outage_s: float  # database stopped or frozen while publishing
    rate: float  # messages per second during database outages


def chaos_full(config) -> bool:
    if config.getoption("--chaos-full", default=False):
        return True
    if config.getoption("--chaos-quick", default=False):
        return False
    mode = os.environ.get("CHAOS_MODE", "")
    if mode in ("full", "quick"):
        return mode == "full"
    paths = [Path(str(a).split("::")[0]).resolve() for a in config.args]
    return bool(paths) and all(p.is_relative_to(CHAOS_DIR) for p in paths)


@pytest.fixture(scope="session")
def size(request) -> Size:
    full = chaos_full(request.config)
    return Size(full=full, outage_s=60.0 if full else 15.0, rate=2000.0)


@pytest.fixture(scope="session")
def chaos_stack():
    """A TimescaleDB cluster of its own, for scenarios that stop or freeze the database (the
    session's shared cluster serves every other test)."""
    s = Stack.start()
    try:
        yield s
    finally:
        s.pg.thaw()
        s.stop()


# -- the report -----------------------------------------------------------------------------------
COLUMNS = ("published", "accepted", "stored", "lost", "duplicates", "redelivered", "at_risk", "lost_at_risk",
           "bad_inputs", "dead_lettered", "worker_crashes")


def totals() -> dict[str, int]:
    return {name: sum(getattr(f, name) for f in FIGURES) for name in TOTALS}


def final_line() -> str:
    return "chaos: " + " ".join(f"{k}={v}" for k, v in totals().items())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    tr = terminalreporter
    tr.section("chaos figures")
    width = max(len(f.scenario) for f in FIGURES) + 2
    short = {"published": "publ", "accepted": "acc", "stored": "stored", "lost": "lost", "duplicates": "dup",
             "redelivered": "redeliv", "at_risk": "at_risk", "lost_at_risk": "lost@risk",
             "bad_inputs": "bad_in", "dead_lettered": "dead_let", "worker_crashes": "crashes"}
    head = "scenario".ljust(width) + "".join(short[c].rjust(10) for c in COLUMNS)
    tr.write_line(head)
    tr.write_line("-" * len(head))
    for f in FIGURES:
        tr.write_line(f.scenario.ljust(width) + "".join(str(getattr(f, c)).rjust(10) for c in COLUMNS))
    tr.write_line("-" * len(head))
    tr.write_line("total".ljust(width) + "".join(str(sum(getattr(f, c) for f in FIGURES)).rjust(10) for c in COLUMNS))
    notes = [(f.scenario, n) for f in FIGURES for n in f.notes]
    if notes:
        tr.write_line("")
        for scenario, note in notes:
            tr.write_line(f"  {scenario}: {note}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # After pytest's own "N passed in ..." line, so the totals are the run's last line.
    if FIGURES:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(final_line())
        else:
            print(final_line())
