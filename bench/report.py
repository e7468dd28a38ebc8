"""The table, the one summary line and the JSON of a run."""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY_KEYS = ("ingest_msgs_per_s", "ingest_vs_naive", "ingest_vs_bare", "ingest_p99_ms_at_5k", "wall_p95_ms",
                "e2e_p95_ms", "coverage_full_s", "coverage_incr_ms", "kpi_eval_ms", "backlog", "rows", "stations")


def _get(results: dict, path: str):
    node = results
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# (summary key, where in the results)
SUMMARY_PATHS = {
    "ingest_msgs_per_s": "ingest.ingest_msgs_per_s",
    "ingest_vs_naive": "ingest.ingest_vs_naive",
    "ingest_vs_bare": "ingest.ingest_vs_bare",
    "ingest_p99_ms_at_5k": "latency.p99_ms",
    "wall_p95_ms": "wall.build_p95_ms",
    "e2e_p95_ms": "e2e.p95_ms",
    "coverage_full_s": "coverage.coverage_full_s",
    "coverage_incr_ms": "coverage.coverage_incr_ms_p95",
    "kpi_eval_ms": "kpi.kpi_eval_ms",
    "backlog": "ingest.backlog",
    "rows": "wall.rows",
    "stations": "coverage.stations",
}

# Goals of issue 9 on a 2-core machine: (summary key or results path, test, text)
GOALS = [
    ("ingest.best_of_one_or_two_msgs_per_s", lambda v: v >= 20_000, ">= 20,000 msg/s (one or two workers)"),
    ("ingest.ingest_vs_bare", lambda v: v >= 0.9, ">= 0.9 x bare loop"),
    ("ingest.ingest_vs_naive", lambda v: v >= 7, ">= 7 x naive worker"),
    ("latency.p99_ms", lambda v: v < 100, "p99 < 100 ms at 5,000 msg/s"),
    ("wall.build_p95_ms", lambda v: v < 50, "full wall refresh p95 < 50 ms"),
    ("wall.concurrent_vs_single", lambda v: v <= 2, "20 screens p95 <= 2 x single"),
    ("wall.http_concurrent_vs_single", lambda v: v <= 2, "20 screens over HTTP p95 <= 2 x single"),
    ("e2e.p95_ms", lambda v: v < 1500, "publish -> visible in Chromium p95 < 1.5 s"),
    ("coverage.coverage_full_s", lambda v: v < 0.5, "coverage full < 0.5 s"),
    ("coverage.coverage_incr_ms_p95", lambda v: v < 50, "coverage incremental p95 < 50 ms"),
]


def summary(results: dict) -> dict:
    return {k: _get(results, p) for k, p in SUMMARY_PATHS.items()}


def goals(results: dict) -> list[dict]:
    out = []
    for path, test, text in GOALS:
        value = _get(results, path)
        out.append({"figure": path, "goal": text, "value": value,
                    "met": None if value is None else bool(test(value))})
    return out


def document(ctx, facts: dict, errors: dict, stamp: str, duration: float) -> dict:
    return {
        "stamp": stamp,
        "logs": str(ctx.logs),
        "mode": "full" if ctx.full else "quick",
        "duration_s": round(duration, 1),
        "machine": facts,
        "sizes": ctx.sizes,
        "summary": summary(ctx.results),
        "goals": goals(ctx.results),
        "errors": errors,
        "results": ctx.results,
    }


def write(doc: dict, folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    path = folder / f"{stamp}.json"
    path.write_text(text + "\n")
    (folder / "latest.json").write_text(text + "\n")
    return path


def _fmt(value) -> str:
    if value is None:
        return "na"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


# (section, label, value path, baseline label, baseline path)
ROWS = [
    ("ingest", "worker, 1 process (msg/s)", "ingest.worker.msgs_per_s", "bare loop (msg/s)", "ingest.bare.msgs_per_s"),
    ("ingest", "worker / bare", "ingest.ingest_vs_bare", "goal", None),
    ("ingest", "bare loop, worker's client (msg/s)", "ingest.bare_buffered.msgs_per_s", "worker / it",
     "ingest.ingest_vs_bare_buffered"),
    ("ingest", "worker, 1 process (msg/s)", "ingest.worker.msgs_per_s", "naive worker (msg/s)", "ingest.naive.msgs_per_s"),
    ("ingest", "worker / naive", "ingest.ingest_vs_naive", "goal", None),
    ("ingest", "2 workers, $share (msg/s)", "ingest.two_workers.msgs_per_s", "1 worker (msg/s)", "ingest.worker.msgs_per_s"),
    ("ingest", "worker CPU (msg per CPU s)", "ingest.worker.msgs_per_cpu_s", "bare (msg per CPU s)", "ingest.bare.msgs_per_cpu_s"),
    ("ingest", "worker run: postgres CPU s", "ingest.worker.postgres_cpu_s", "broker CPU s", "ingest.worker.broker_cpu_s"),
    ("ingest", "bare run: postgres CPU s", "ingest.bare.postgres_cpu_s", "broker CPU s", "ingest.bare.broker_cpu_s"),
    ("ingest", "backlog fill (msg/s)", "ingest.worker.backlog_fill.msgs_per_s", "backlog", "ingest.backlog"),
    ("peer", "Node-RED flow (msg/s)", "peer.msgs_per_s", "worker (msg/s)", "ingest.worker.msgs_per_s"),
    ("peer", "worker / Node-RED", "peer.worker_vs_peer", "status", "peer.status"),
    ("latency", "publish->commit p50 (ms)", "latency.p50_ms", "rate (msg/s)", "latency.achieved_rate"),
    ("latency", "publish->commit p95 (ms)", "latency.p95_ms", "flush interval (ms)", "latency.flush_ms"),
    ("latency", "publish->commit p99 (ms)", "latency.p99_ms", "max (ms)", "latency.max_ms"),
    ("latency", "publish->txn start p99 (ms)", "latency.txn_start_p99_ms", "messages", "latency.messages"),
    ("wall", "full refresh, build p95 (ms)", "wall.build_p95_ms", "p50 (ms)", "wall.build_p50_ms"),
    ("wall", "build p95, start-up objects frozen", "wall.build_p95_ms", "not frozen p95 (ms)", "wall.build_unfrozen_p95_ms"),
    ("wall", "refresh incl. patches+render p95", "wall.refresh_p95_ms", "build p95 (ms)", "wall.build_p95_ms"),
    ("wall", "20 screens, cached p95 (ms)", "wall.concurrent_cached_p95_ms", "20 screens, no cache p95", "wall.concurrent_uncached_p95_ms"),
    ("wall", "20 screens / single (cached)", "wall.concurrent_vs_single", "no cache / single", "wall.uncached_vs_single"),
    ("wall", "HTTP callback, 1 screen p95 (ms)", "wall.http_single_p95_ms", "20 screens p95 (ms)", "wall.http_concurrent_p95_ms"),
    ("wall", "HTTP 20 screens / single", "wall.http_concurrent_vs_single", "requests/s served", "wall.http_concurrent_rps"),
    ("wall", "rows in vd_reading", "wall.rows", "detectors", "wall.detectors"),
    ("e2e", "publish -> visible p50 (ms)", "e2e.p50_ms", "refresh interval (ms)", "e2e.refresh_ms"),
    ("e2e", "publish -> visible p95 (ms)", "e2e.p95_ms", "publish->commit p95 (ms)", "e2e.commit_p95_ms"),
    ("e2e", "  wait for next refresh p50 (ms)", "e2e.phases.tick_wait.p50_ms", "p95 (ms)", "e2e.phases.tick_wait.p95_ms"),
    ("e2e", "  refresh callback p50 (ms)", "e2e.phases.server.p50_ms", "p95 (ms)", "e2e.phases.server.p95_ms"),
    ("e2e", "  browser applies it p50 (ms)", "e2e.phases.browser.p50_ms", "p95 (ms)", "e2e.phases.browser.p95_ms"),
    ("e2e", "at a faster refresh: p95 (ms)", "e2e.fast.p95_ms", "refresh (ms)", "e2e.fast.refresh_ms"),
    ("coverage", "full, 14,082 stations (s)", "coverage.coverage_full_s", "naive (s)", "coverage.coverage_full_naive_s"),
    ("coverage", "incremental p95 (ms)", "coverage.coverage_incr_ms_p95", "naive p95 (ms)", "coverage.coverage_incr_naive_ms_p95"),
    ("kpi", "evaluate a year (ms)", "kpi.kpi_eval_ms", "JSON parse only (ms)", "kpi.baseline_ms"),
    ("kpi", "evaluate / JSON parse", "kpi.eval_vs_baseline", "lines in the file", "kpi.lines"),
    ("memory", "worker peak RSS (MB)", "ingest.worker_peak_rss_mb", "bare loop (MB)", "ingest.bare.peak_rss_mb"),
    ("memory", "dashboard peak RSS (MB)", "wall.dashboard_peak_rss_mb", "Node-RED (MB)", "peer.peak_rss_mb"),
]


def table(doc: dict) -> str:
    r = doc["results"]
    m = doc["machine"]
    lines = [f"machine: {m.get('cpu_model')}, {m.get('cores')} cores, {m.get('ram_gb')} GB RAM; "
             f"PostgreSQL {m.get('postgres')}, TimescaleDB {m.get('timescaledb')}, {m.get('mosquitto')}; "
             f"load {m.get('load_avg_start')} -> {m.get('load_avg_end')}",
             f"mode: {doc['mode']}, {doc['duration_s']:.0f} s; commit {m.get('git_commit')}"
             f"{' (dirty)' if m.get('git_dirty') else ''}"]
    w = (10, 34, 12, 26, 12)
    lines.append(f"{'':{w[0]}} {'figure':{w[1]}} {'value':>{w[2]}}  {'baseline / context':{w[3]}} {'':>{w[4]}}")
    for section, label, path, base_label, base_path in ROWS:
        value = _get(r, path)
        if base_path is None:
            goal = next((g for g in doc["goals"] if g["figure"] == path), None)
            base_value = goal["goal"] if goal else ""
        else:
            base_value = _fmt(_get(r, base_path))
        lines.append(f"{section:{w[0]}} {label:{w[1]}} {_fmt(value):>{w[2]}}  {base_label:{w[3]}} {base_value:>{w[4]}}")
    lines.append("goals:")
    for g in doc["goals"]:
        mark = {True: "met", False: "MISSED", None: "not measured"}[g["met"]]
        lines.append(f"  {mark:13} {g['goal']:45} ({_fmt(g['value'])})")
    for name, error in doc["errors"].items():
        lines.append(f"  ERROR in {name}: {error}")
    return "\n".join(lines)


def summary_line(doc: dict) -> str:
    s = doc["summary"]
    return "bench: " + " ".join(f"{k}={_plain(s.get(k))}" for k in SUMMARY_KEYS)


def _plain(value) -> str:
    if value is None:
        return "na"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
