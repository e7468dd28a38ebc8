"""Staffing at the activation levels: seats filled against the seats the level asks for
(schemas/staffing.yaml), and which agencies are short (▲, so it reads without colour)."""

from __future__ import annotations

from datetime import datetime

from ..components.tile import tile
from ..data import shared
from ..i18n import t
from ..layers._common import ACTIVATION
from .base import Tile


@shared
def staffing_now(db, as_of: datetime) -> dict:
    from ioc.ops.levels import level_at
    from ioc.ops.staffing import staffing_at

    with db.connection() as conn:
        return staffing_at(conn, level_at(conn, as_of)["level"], as_of)


def render(data: dict, lang: str, as_of: datetime):
    from ioc.ops.agencies import agency

    totals = data["totals"]
    short = [r for r in data["agencies"] if r["missing"]]
    names = "、".join((agency(r["agency"]) or {}).get("name_zh" if lang == "zh-TW" else "name_en", r["agency"])
                     for r in short[:6])
    detail = (f"▲ {t('ops.tile_short', lang, agencies=names)}" if short else t("ops.tile_all_present", lang))
    present = [p["checked_in_at"] for people in data["checked_in"].values() for p in people]
    return tile("ops-staffing", t("ops.tile_staffing", lang), f"{totals['filled']}/{totals['required']}",
                   t("ops.tile_seats", lang), max(present, default=None), lang,
                   state="stale" if short else "ok", detail=detail)


OPS_STAFFING = Tile(id="ops-staffing", order=6, query=staffing_now, render=render, levels=ACTIVATION, section="ops")
