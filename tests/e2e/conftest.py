from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser import launch
from tests.support.dashboard import start_dashboard
from tests.support.stack import start_worker
from tests.support.users import add_user


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def worker(db, broker, tmp_path):
    proc = start_worker(db, broker, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture
def dashboard(db, broker, tmp_path):
    proc, base = start_dashboard(db, broker, tmp_path / "dashboard.log")
    yield base
    proc.stop()


@pytest.fixture
def wall_user(db):
    return "wall-screen-1", add_user(db, "wall-screen-1", "wall")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-TW",
                                  timezone_id="Asia/Taipei")
    pg = context.new_page()
    yield pg
    context.close()
