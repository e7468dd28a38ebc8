"""KPI evaluation of a measurement file, as `ioc kpi evaluate --measurements FILE --year Y` does it.

The file: thousands of valid measurement lines (every indicator, both plan years, ratios, counts
and parts, some with recorded_at), written to a temporary folder. Timed, median of repeats:
* kpi_eval_ms: `ioc.kpi.evaluate_file(path, year, as_of)` as the command calls it (the
  definitions through `load_definitions()`, which keeps them after the first call);
* the same with the definitions passed in, and `load_definitions()` alone;
* baseline: the floor any evaluation pays, reading the file and `json.loads` of every line (the
  decoder the measurements use) with nothing validated or evaluated.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ioc.kpi.definitions import load_definitions
from ioc.kpi.evaluate import evaluate_file


def _record(rng: random.Random, ind, year: int) -> dict:
    spec = ind.years[year]
    as_of = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    rec: dict = {"indicator": ind.id, "as_of": as_of.isoformat()}
    if ind.form == "ratio":
        den = rng.randint(1, 400)
        rec.update(numerator=rng.randint(0, den), denominator=den)
    elif ind.form == "count":
        rec["count"] = rng.randint(0, int(spec.target * 1.3) + 1)
    elif spec.parts:
        rec["parts"] = {name: [rng.randint(0, int(p.planned)), p.planned] for name, p in spec.parts.items()}
    else:
        rec["parts"] = {"phase2": [rng.randint(0, 4), 4], "platform": [rng.choice((0, 0.5, 1)), 1]}
    if rng.random() < 0.5:
        rec["recorded_at"] = datetime(year, as_of.month, as_of.day, 9, rng.randrange(60),
                                      tzinfo=timezone.utc).isoformat()
        rec["source"] = "form"
    return rec


def write_file(path: Path, lines: int, seed: int = 3) -> list[int]:
    defs = load_definitions()
    rng = random.Random(seed)
    years = list(defs.years)
    items = [(ind, y) for ind in defs.indicators.values() for y in years if y in ind.years]
    with path.open("w", encoding="utf-8") as f:
        for _ in range(lines):
            ind, year = rng.choice(items)
            f.write(json.dumps(_record(rng, ind, year), ensure_ascii=False) + "\n")
    return years


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def run(ctx) -> dict:
    lines = 50_000 if ctx.full else 5_000
    repeats = 15 if ctx.full else 7
    with tempfile.TemporaryDirectory(prefix="ioc-bench-kpi-") as folder:
        path = Path(folder) / "measurements.jsonl"
        years = write_file(path, lines)
        defs = load_definitions()
        per_year = {}
        for year in years:
            result = evaluate_file(path, year, f"{year}-12-31")  # warm, and checks the file is valid
            per_year[year] = {
                "eval_ms": _median_ms(lambda: evaluate_file(path, year, f"{year}-12-31"), repeats),
                "eval_loaded_defs_ms": _median_ms(
                    lambda: evaluate_file(path, year, f"{year}-12-31", definitions=defs), repeats),
                "score": round(result["score"], 2) if result["score"] is not None else None,
            }
        defs_ms = _median_ms(load_definitions, repeats)

        def parse_only():
            for raw in path.read_bytes().split(b"\n"):
                if raw.strip():
                    json.loads(raw)

        parse_ms = _median_ms(parse_only, repeats)
    last = years[-1]
    out = {
        "lines": lines, "years": years, "per_year": per_year,
        "kpi_eval_ms": per_year[last]["eval_ms"], "kpi_eval_year": last,
        "definitions_load_ms": defs_ms,
        "baseline_ms": parse_ms, "baseline": "read + json.loads of every line",
        "eval_vs_baseline": round(per_year[last]["eval_ms"] / parse_ms, 2),
        "us_per_line": round(per_year[last]["eval_loaded_defs_ms"] * 1000 / lines, 1),
    }
    ctx.say(f"kpi: {out['kpi_eval_ms']} ms for {lines:,} lines (parse alone {parse_ms} ms)")
    return out
