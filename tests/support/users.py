"""Users of each role in a test database, and signing in over HTTP the way a browser does."""

from __future__ import annotations

import re
import secrets

import httpx

from dashboard.access import ROLES
from dashboard.auth import store
from ioc.db import connect


def add_user(db, name: str, role: str) -> str:
    password = secrets.token_urlsafe(16)
    with connect(db.url, autocommit=True) as conn:
        store.add_user(conn, name, role, password, actor="test")
    return password


def add_users_for_every_role(db) -> dict[str, tuple[str, str]]:
    """role -> (name, password)"""
    return {role: (f"u-{role}", add_user(db, f"u-{role}", role)) for role in ROLES}


def sign_in(base: str, name: str, password: str, client: httpx.Client | None = None) -> httpx.Client:
    """A client holding a signed-in session (and its CSRF cookie), via the real sign-in form."""
    client = client or httpx.Client(base_url=base, timeout=10)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    response = client.post("/login", data={"name": name, "password": password, "csrf": csrf, "next": "/wall"},
                           headers={"Origin": base})
    assert response.status_code == 303, response.text
    return client


def sign_in_page(page, base: str, name: str, password: str, path: str = "/wall") -> None:
    page.goto(f"{base}{path}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}*")
