"""Agencies that receive tasks, kept as data in schemas/agencies.yaml."""

from __future__ import annotations

from functools import cache

import yaml

from schemas import path as schema_path


@cache
def _data() -> dict:
    with open(schema_path("agencies.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def agencies() -> list[dict]:
    return list(_data()["agencies"])


@cache
def agency_codes() -> frozenset[str]:
    return frozenset(a["code"] for a in agencies())


def agency(code: str) -> dict | None:
    return next((a for a in agencies() if a["code"] == code), None)


def ack_minutes(priority: int) -> int:
    return int(_data()["deadlines"]["ack_minutes"][priority])
