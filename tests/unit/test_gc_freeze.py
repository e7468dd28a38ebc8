"""`ioc dashboard` keeps its start-up objects out of the garbage collector's full passes (in the
wall benchmark those passes took 72-105 ms each, four times in 60 refreshes, before the freeze)."""

from __future__ import annotations

import gc

import dashboard.snapshot  # noqa: F401 - the registries a dashboard loads at start-up
from dashboard.app import freeze_start_up_objects


def test_start_up_objects_are_frozen_and_a_full_pass_skips_them():
    try:
        frozen = freeze_start_up_objects()
        assert frozen > 10_000 and gc.get_freeze_count() == frozen
        assert len(gc.get_objects(generation=2)) < frozen / 10  # what a full pass still walks
    finally:
        gc.unfreeze()
