"""Message catalogues: every string the dashboard shows comes from here.

Each language is a folder of YAML files (one per area: core, feeds, kpi, ops, ...), merged;
a key may appear in only one file. `zh-TW` is the default and the reference; `en` must have
the same keys (a test checks both are complete). Dates and numbers are formatted for the language, times in Asia/Taipei, and
dates also in the ROC calendar (民國) in Chinese.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

LANGS = ("zh-TW", "en")
DEFAULT_LANG = "zh-TW"
TAIPEI = ZoneInfo("Asia/Taipei")
_DIR = Path(__file__).parent


@cache
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((_DIR / lang).glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            flat = _flatten(yaml.safe_load(f) or {})
        clash = merged.keys() & flat.keys()
        if clash:
            raise ValueError(f"{path}: keys defined twice: {sorted(clash)[:5]}")
        merged.update(flat)
    return merged


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


LANG_COOKIE = "ioc_lang"


def lang_or_default(lang: str | None) -> str:
    """The language asked for; else the one this browser chose last (a cookie); else zh-TW."""
    if lang in LANGS:
        return lang
    from flask import has_request_context, request

    if has_request_context():
        remembered = request.cookies.get(LANG_COOKIE)
        if remembered in LANGS:
            return remembered
    return DEFAULT_LANG


def t(key: str, lang: str | None = None, **values) -> str:
    """The text for `key` in `lang`; a missing key shows itself (and a test catches it)."""
    text = catalogue(lang_or_default(lang)).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG).get(key, key)
    return text.format(**values) if values else text


def fmt_number(value, lang: str | None = None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def fmt_time(dt: datetime | None, lang: str | None = None, *, seconds: bool = True) -> str:
    """A moment in Taipei time: `11/27 10:03:12` style, the date in the ROC calendar in Chinese."""
    if dt is None:
        return "—"
    local = dt.astimezone(TAIPEI)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{local.month}/{local.day} {clock}"


def fmt_date(dt: datetime, lang: str | None = None) -> str:
    local = dt.astimezone(TAIPEI)
    if lang_or_default(lang) == "zh-TW":
        return f"民國{local.year - 1911}年{local.month}月{local.day}日"
    return local.strftime("%d %b %Y")


def fmt_age(seconds: float | None, lang: str | None = None) -> str:
    """How long ago, in the largest sensible unit."""
    if seconds is None:
        return t("time.never", lang)
    seconds = max(0, int(seconds))
    if seconds < 90:
        return t("time.seconds_ago", lang, n=seconds)
    if seconds < 90 * 60:
        return t("time.minutes_ago", lang, n=round(seconds / 60))
    if seconds < 36 * 3600:
        return t("time.hours_ago", lang, n=round(seconds / 3600))
    return t("time.days_ago", lang, n=round(seconds / 86400))
