"""Mobile coverage tile: the share of the city's people covered by 4G base stations now, the
people who lost coverage (against the same stations all up) and the stations down."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..components.tile import tile
from ..i18n import fmt_number, t
from ..layers.coverage import coverage_at
from .base import Tile

# The coverage-live job stores the city row at least every 5 minutes: older means it stopped.
STALE_AFTER = timedelta(minutes=11)


def _render(data: dict, lang: str, as_of: datetime):
    city = data["city"]
    if city is None:
        return tile("coverage", t("tile.coverage", lang), "—", "%", None, lang, state="none")
    detail = t("coverage.tile_detail", lang, lost=fmt_number(city["lost"], lang) if city["lost"] is not None else "—",
               down=fmt_number(city["stations_down"], lang))
    state = "ok" if city["time"] >= as_of - STALE_AFTER else "stale"
    return tile("coverage", t("tile.coverage", lang), fmt_number(city["pct_population"], lang, 2), "%",
                city["time"], lang, state=state, detail=detail)


COVERAGE = Tile(id="coverage", order=30, query=coverage_at, render=_render)
