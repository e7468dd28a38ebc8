"""No hard-coded UI strings: every text in every page's layout, in both languages, comes from the
message catalogue of that language (or is data: place names, agency names, plan names)."""

from __future__ import annotations

import re
from functools import cache

import dash
import pytest
import yaml

from dashboard.access import ADMIN
from dashboard.auth.store import User
from dashboard.i18n import LANGS, catalogue
from schemas import path as schema_path

pytestmark = pytest.mark.integration

TEXT_PROPS = ("children", "title", "placeholder", "label", "alt", "value")
LETTERS = re.compile(r"[A-Za-z\u4e00-\u9fff]")


@cache
def data_strings() -> frozenset[str]:
    """Names that are data, not UI text (shown as they are in every language)."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            found.add(node.strip())

    for path in schema_path().glob("*.yaml"):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    from geo import boundaries

    for frame in (boundaries.districts(), boundaries.villages()):
        for column in ("TOWNNAME", "TOWNENG", "VILLNAME", "VILLENG"):
            if column in frame:
                found.update(str(v).strip() for v in frame[column])
    return frozenset(found)


@cache
def data_tokens() -> tuple[str, ...]:
    """Data strings long enough to be names, longest first (so a name wins over its parts)."""
    return tuple(sorted((s for s in data_strings() if len(s) >= 2), key=len, reverse=True))


def without_data(text: str) -> str:
    """The text with the names in it blanked out: "I1 研究成果採行情形" and "消防局 (fire)" are
    data put together, with nothing left for a translator."""
    for token in data_tokens():
        if token in text:
            text = text.replace(token, " ")
    return " ".join(re.sub(r"[()（）]", " ", text).split())


def catalogue_patterns(lang: str) -> list[re.Pattern]:
    patterns = []
    for text in catalogue(lang).values():
        parts = re.split(r"\{\w+\}", text)
        patterns.append(re.compile("^" + ".*?".join(re.escape(p) for p in parts) + "$", re.S))
    return patterns


def strings_of(node, found: list[str]) -> None:
    if node is None:
        return
    if isinstance(node, str):
        found.append(node)
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            strings_of(item, found)
        return
    if isinstance(node, (int, float, dict)):
        return
    for prop in TEXT_PROPS:
        value = getattr(node, prop, None)
        if prop == "value" and type(node).__name__ not in ("Button", "Option"):
            continue
        if isinstance(value, str) or prop == "children":
            strings_of(value, found)
    options = getattr(node, "options", None)
    if isinstance(options, list):
        for option in options:
            label = option.get("label") if isinstance(option, dict) else option
            strings_of(label, found)


def test_every_layout_string_is_from_the_catalogue(db, monkeypatch, tmp_path):
    monkeypatch.setenv("IOC_HOME", str(tmp_path))
    from dashboard.app import create_app

    app = create_app(db.url)
    problems = []
    for lang in LANGS:
        values = set(catalogue(lang).values())
        patterns = catalogue_patterns(lang)
        for page in dash.page_registry.values():
            with app.server.test_request_context(f"{page['path']}?lang={lang}"):
                from flask import g

                g.user = User(1, "scanner", ADMIN)
                layout = page["layout"](lang=lang) if callable(page["layout"]) else page["layout"]
                found: list[str] = []
                strings_of(layout, found)
            for text in found:
                s = text.strip()
                if not s or not LETTERS.search(s) or s in values or s in data_strings():
                    continue
                if any(p.match(s) for p in patterns):
                    continue
                rest = without_data(s)
                if not LETTERS.search(rest) or rest in values or any(p.match(rest) for p in patterns):
                    continue
                problems.append(f"{lang} {page['path']}: {s[:60]!r}")
    assert not problems, "hard-coded strings:\n" + "\n".join(problems[:40])
