"""`python -m bench [--full] [--only a,b]`: run the benchmarks, print the table and the summary line.

Quick mode (the default) already uses the sizes the goals are stated for (a backlog of 200,000
messages, ~10 million readings behind the wall, 14,082 stations); full mode repeats more and
runs longer. Every figure is printed beside its baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import report
from .stack import ROOT, BenchStack, machine_facts

ORDER = ("kpi", "coverage", "ingest", "latency", "peer", "wall", "e2e")


@dataclass
class Context:
    stack: BenchStack | None
    full: bool
    sizes: dict
    logs: Path
    profile: bool = False
    results: dict = field(default_factory=dict)
    wall: dict | None = None  # the wall's database and dashboard, kept for the end-to-end run
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)


def _runner(name: str):
    import importlib

    module = importlib.import_module(f"bench.bench_{name}")
    if name == "coverage":  # written on its own (`python -m bench.bench_coverage`): run(quick=...)
        def coverage(ctx):
            ctx.say("coverage: bench.bench_coverage.run(quick=%s)" % (not ctx.full))
            return module.run(quick=not ctx.full)

        return coverage
    return module.run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more repetitions, longer steady runs")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--backlog", type=int, default=200_000, help="messages in the ingest backlog")
    parser.add_argument("--rows", type=int, default=10_000_000, help="readings behind the wall (about)")
    parser.add_argument("--profile", action="store_true", help="sample the worker and the bare loop with py-spy")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    chosen = [n for n in ORDER if not args.only or n in args.only.split(",")]

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    logs = Path(tempfile.mkdtemp(prefix=f"ioc-bench-{stamp}-"))  # service and process logs, outside the checkout
    sizes = {"backlog": args.backlog, "rows": args.rows, "naive_messages": 60_000 if args.full else 20_000,
             "peer_messages": 60_000 if args.full else 20_000}
    needs_services = any(n not in ("kpi", "coverage") for n in chosen)
    stack = None
    ctx = Context(stack, args.full, sizes, logs, profile=args.profile)
    ctx.say(f"bench ({'full' if args.full else 'quick'}): {', '.join(chosen)}; logs in {logs}")
    errors: dict[str, str] = {}
    try:
        if needs_services:
            ctx.stack = BenchStack.start()
        facts = machine_facts(ctx.stack)
        for name in chosen:
            ctx.say(f"-- {name}")
            t0 = time.monotonic()
            try:
                ctx.results[name] = _runner(name)(ctx)
            except Exception as exc:  # noqa: BLE001 - one failed benchmark must not hide the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                (logs / f"{name}.error.txt").write_text(traceback.format_exc())
                ctx.say(f"{name} FAILED: {errors[name]}")
            ctx.results.setdefault(name, {})["bench_seconds"] = round(time.monotonic() - t0, 1)
    finally:
        if ctx.wall and ctx.wall.get("dashboard"):
            ctx.wall["dashboard"].stop()
        if ctx.stack is not None:
            ctx.stack.stop()
    facts["load_avg_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    duration = time.monotonic() - ctx.started
    doc = report.document(ctx, facts, errors, stamp, duration)
    report.write(doc, args.results, stamp)
    print(report.table(doc))
    print(report.summary_line(doc))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
