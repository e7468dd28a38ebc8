"""Traffic tiles: detectors reporting and the city's mean speed."""

from __future__ import annotations

from datetime import datetime, timezone

from ..components.tile import tile
from ..data import shared
from ..i18n import fmt_number, t
from ..layers.detectors import latest_readings

# "Reporting" means within the detectors' cadence (tdx-vdlive: 2 minutes).
from ingest.feeds import get as feed

from .base import Tile


@shared
def traffic_summary(db, as_of: datetime) -> dict:
    data = latest_readings(db, as_of)
    since = (as_of - feed("tdx-vdlive").cadence).timestamp()
    fresh = [i for i, epoch in enumerate(data["epoch"]) if epoch > since]
    speeds = [data["speed"][i] for i in fresh if data["speed"][i] is not None]
    return {"reporting": len(fresh), "known": len(data["epoch"]),
            "mean_speed": sum(speeds) / len(speeds) if speeds else None,
            "data_time": _utc(max((data["epoch"][i] for i in fresh), default=None))}


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


def _render_detectors(data: dict, lang: str, as_of: datetime):
    return tile("detectors", t("tile.detectors", lang), fmt_number(data["reporting"], lang),
                t("unit.of_known", lang, n=data["known"]), data["data_time"], lang,
                state="ok" if data["reporting"] else "none")


def _render_speed(data: dict, lang: str, as_of: datetime):
    return tile("mean-speed", t("tile.mean_speed", lang), fmt_number(data["mean_speed"], lang, 1), "km/h",
                data["data_time"], lang, state="ok" if data["mean_speed"] is not None else "none")


DETECTORS_REPORTING = Tile(id="detectors", order=10, query=traffic_summary, render=_render_detectors)
MEAN_SPEED = Tile(id="mean-speed", order=11, query=traffic_summary, render=_render_speed)
