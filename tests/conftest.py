"""Shared fixtures: real TimescaleDB and Mosquitto, started here on free ports in temporary
folders (never the developer's own services), stopped at the end."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack():
    s = Stack.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def db(stack):
    """A fresh migrated database for one test."""
    return stack.new_database()


@pytest.fixture
def broker(stack):
    """A fresh Mosquitto for one test."""
    b = stack.new_broker()
    try:
        yield b
    finally:
        b.stop()
