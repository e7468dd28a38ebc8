"""The wall's coverage layer and tile without a database: traces in both languages, which
villages count as having lost coverage, the patch, and the tile's states."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboard.figures import base_map, trace_slots
from dashboard.i18n import LANGS
from dashboard.layers.coverage import COVERAGE_LOST, has_lost_coverage
from dashboard.tiles.coverage import COVERAGE, STALE_AFTER

AS_OF = datetime(2026, 9, 24, 7, 0, tzinfo=timezone.utc)
HEPING_VILLAGE = "66000290001"


def village(code: str, population: int, covered: float, baseline: float | None) -> dict:
    return {"scope": "village", "code": code, "population": population, "covered_population": covered,
            "baseline_covered_population": baseline, "lost": None if baseline is None else max(0.0, baseline - covered),
            "time": AS_OF}


def test_traces_build_in_both_languages_and_the_layer_is_on_only_when_activated():
    for lang in LANGS:
        traces = COVERAGE_LOST.traces(lang)
        assert len(traces) == len(trace_slots()["coverage-lost"]) == 2
        assert all(tr.legendgroup == "coverage-lost" for tr in traces)
    assert "normal" not in COVERAGE_LOST.levels and "level2" in COVERAGE_LOST.levels
    first = trace_slots()["coverage-lost"][0]
    visible = [base_map("zh-TW", level).data[first].visible for level in ("normal", "level1")]
    assert visible == ["legendonly", None]


@pytest.mark.parametrize(("population", "covered", "baseline", "lost"), [
    (1000, 1000.0, 1000.0, False),  # nothing lost
    (1000, 995.0, 1000.0, False),  # 5 people: under 1 % of the village
    (1000, 980.0, 1000.0, True),  # 20 people, 2 %
    (50, 49.4, 50.0, False),  # under one person
    (50, 48.0, 50.0, True),
    (0, 0.0, 0.0, False),  # nobody lives there
    (1000, 400.0, 400.0, False),  # poorly covered, but as poorly as with every station up
    (1000, 400.0, None, False),  # no baseline: nothing can be said
])
def test_which_villages_have_lost_coverage(population, covered, baseline, lost):
    assert has_lost_coverage(village("x", population, covered, baseline)) is lost


def test_patch_draws_the_villages_that_lost_coverage():
    data = {"city": None, "districts": [], "villages": [
        village(HEPING_VILLAGE, 1200, 300.0, 1200.0), village("66000010001", 900, 900.0, 900.0)]}
    for lang in LANGS:
        fills, points = COVERAGE_LOST.patch(data, lang)
        assert fills["x"] and None in fills["x"] and len(fills["x"]) == len(fills["y"])
        assert len(points["x"]) == len(points["text"]) == 1
        assert "900" in points["text"][0] and "75.0" in points["text"][0]
    empty = COVERAGE_LOST.patch({"city": None, "districts": [], "villages": []}, "zh-TW")
    assert empty[0]["x"] == [] and empty[1]["x"] == []


def city(time: datetime, pct: float = 99.5, lost: float | None = 1234.0, down: int = 7) -> dict:
    return {"scope": "city", "code": "66000", "time": time, "population": 2_821_322, "pct_population": pct,
            "lost": lost, "stations_down": down}


def test_tile_shows_the_city_share_the_people_lost_and_the_stations_down():
    rendered = str(COVERAGE.render({"city": city(AS_OF - timedelta(minutes=2)), "villages": []}, "en", AS_OF))
    assert "99.50" in rendered and "1,234" in rendered and "7 stations down" in rendered
    assert "tile-ok" in rendered
    stale = str(COVERAGE.render({"city": city(AS_OF - STALE_AFTER - timedelta(seconds=1))}, "zh-TW", AS_OF))
    assert "tile-stale" in stale
    none = str(COVERAGE.render({"city": None}, "zh-TW", AS_OF))
    assert "tile-none" in none
