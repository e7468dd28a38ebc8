"""Benchmark of the population-coverage calculation (geo/), against the naive way.

    .venv/bin/python -m bench.bench_coverage [--full]

Station list: the generated layout for 2024-04 (14,082 4G stations, the NCC count).
* full: ``geo.coverage.compute_coverage`` from the lon/lat GeoDataFrame to the per-village
  result (validation, footprints, candidate pairs, covered areas, population). Targets < 0.5 s.
* naive full: a Python loop per village over every station (shapely scalar ``intersects``,
  then union and clip of the hits). Too slow to run on all 625 villages in quick mode, so it is
  timed on a random sample of villages and extrapolated (said so in the output).
* incremental: ``CoverageState.set_status`` on random stations, flipping up/down; p50/p95
  over the changes. Targets p95 < 50 ms.
* naive incremental: after a flip, a loop over the villages to find those the footprint
  touches, then for each a loop over all stations (as the naive full), on a sample of changes.
* partial: the full calculation for the 2015-06 layout (2,759 stations, ~96 % covered), where
  coverage edges run through many villages: the harder case for the method, no target.
Timings are wall-clock on a possibly shared machine; full runs are repeated, median shown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import shapely

from geo.coverage import compute_coverage
from geo.footprints import build_footprints
from geo.incremental import CoverageState
from geo.layout import generate_layout
from geo.population import villages_with_population
from geo.stations import COVERING, load_stations

PERIOD = "2024-04"
PARTIAL_PERIOD = "2015-06"
TARGET_FULL_S = 0.5
TARGET_INCR_MS = 50.0


def _naive_village_area(village, footprints, up) -> float:
    hits = []
    for fp, is_up in zip(footprints, up):  # one station at a time, on purpose
        if is_up and fp.intersects(village):
            hits.append(fp)
    return shapely.intersection(shapely.union_all(hits), village).area if hits else 0.0


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(quick: bool = True, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    layout = generate_layout(PERIOD)
    villages = villages_with_population("2021-03")
    n_villages = len(villages)

    # Full calculation.
    compute_coverage(layout)  # warm caches (boundaries, population) outside the timing
    repeats = 3 if quick else 7
    full_times = []
    for _ in range(repeats):
        seconds, result = _timed(lambda: compute_coverage(layout))
        full_times.append(seconds)
    fast_area = result.villages["covered_area_m2"].to_numpy()

    # Naive full, on a sample of villages (all of them with quick=False).
    stations = load_stations(layout)
    footprints = list(build_footprints(stations).geometry)
    up = list(np.isin(stations["status"].to_numpy(), list(COVERING)))
    geoms = villages.geometry.to_numpy()
    sample = np.sort(rng.choice(n_villages, 20, replace=False)) if quick else np.arange(n_villages)
    naive_seconds, naive_area = _timed(lambda: [_naive_village_area(geoms[v], footprints, up) for v in sample])
    naive_full_s = naive_seconds * n_villages / len(sample)
    agree = float(np.max(np.abs(np.array(naive_area) - fast_area[sample])))

    # Incremental: random flips on the live state.
    state = CoverageState(layout)
    ids = state.station_ids
    changes = 200
    incr_ms = []
    for i in rng.choice(len(ids), changes):
        station = ids[i]
        new = "down" if state.status(station) == "up" else "up"
        seconds, _ = _timed(lambda: state.set_status(station, new))
        incr_ms.append(seconds * 1000)

    # Naive incremental on a sample of flips.
    naive_changes = 10 if quick else 50
    naive_incr_ms = []
    up_now = list(np.isin(np.array([state.status(s) for s in ids], dtype=object), list(COVERING)))
    for i in rng.choice(len(ids), naive_changes):
        up_now[i] = not up_now[i]

        def naive_update(i=i):
            touched = [v for v in range(n_villages) if footprints[i].intersects(geoms[v])]
            return {v: _naive_village_area(geoms[v], footprints, up_now) for v in touched}

        seconds, _ = _timed(naive_update)
        naive_incr_ms.append(seconds * 1000)

    partial_layout = generate_layout(PARTIAL_PERIOD)
    partial_times = [_timed(lambda: compute_coverage(partial_layout))[0] for _ in range(repeats)]

    summary = result.summary()
    return {
        "stations": len(layout),
        "villages": n_villages,
        "period": PERIOD,
        "coverage_full_s": round(statistics.median(full_times), 4),
        "coverage_full_min_s": round(min(full_times), 4),
        "coverage_full_repeats": repeats,
        "coverage_full_naive_s": round(naive_full_s, 2),
        "coverage_full_naive_note": (
            f"extrapolated from {len(sample)} of {n_villages} villages" if len(sample) < n_villages else "all villages"
        ),
        "naive_vs_fast_max_abs_diff_m2": agree,
        "coverage_incr_ms_p50": round(float(np.percentile(incr_ms, 50)), 3),
        "coverage_incr_ms_p95": round(float(np.percentile(incr_ms, 95)), 3),
        "coverage_incr_changes": changes,
        "coverage_incr_naive_ms_p95": round(float(np.percentile(naive_incr_ms, 95)), 1),
        "coverage_incr_naive_changes": naive_changes,
        "speedup_full": round(naive_full_s / statistics.median(full_times), 1),
        "speedup_incr_p95": round(float(np.percentile(naive_incr_ms, 95) / np.percentile(incr_ms, 95)), 1),
        "target_full_s": TARGET_FULL_S,
        "target_incr_ms_p95": TARGET_INCR_MS,
        "targets_met": bool(
            statistics.median(full_times) < TARGET_FULL_S and np.percentile(incr_ms, 95) < TARGET_INCR_MS
        ),
        "coverage_full_partial_s": round(statistics.median(partial_times), 4),
        "partial_period": PARTIAL_PERIOD,
        "partial_stations": len(partial_layout),
        "pct_population": summary["pct_population"],
        "pct_area": summary["pct_area"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="naive runs on all 625 villages and 50 changes (about a minute)"
    )
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=not args.full), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
