"""Documentation and catalogues that must not drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.i18n import LANGS, catalogue
from ingest.feeds import all_feeds
from ioc import settings

ROOT = Path(__file__).resolve().parents[2]


def readme_settings_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", text, re.S)
    assert m, "README.md lost its settings table markers"
    return m.group(1)


def test_readme_documents_every_setting_exactly():
    """Regenerate with: ioc settings --markdown (between the markers in README.md)."""
    assert readme_settings_block() == settings.markdown_table()


def test_no_code_reads_ioc_variables_around_the_settings_registry():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[-2:] == ("ioc", "settings.py") or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"environ(?:\.get)?\(?\[?[\"']IOC_", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"read IOC_* through ioc.settings instead: {offenders}"


def test_catalogues_have_the_same_keys_and_every_value_translated():
    zh, en = catalogue("zh-TW"), catalogue("en")
    assert set(zh) == set(en), f"only zh-TW: {sorted(set(zh) - set(en))[:10]}, only en: {sorted(set(en) - set(zh))[:10]}"
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        placeholders = lambda s: sorted(re.findall(r"{(\w+)}", s))  # noqa: E731
        assert placeholders(zh[key]) == placeholders(en[key]), key
    # English is English and Chinese is Chinese (catches a value pasted into the wrong file).
    han = re.compile(r"[\u4e00-\u9fff]")
    untranslated = [k for k in en if han.search(en[k]) and not k.startswith(("lang.", "nav.lang"))]
    assert not untranslated, f"Chinese text in en: {untranslated[:10]}"


def test_every_feed_has_a_name_and_description_in_every_language():
    for lang in LANGS:
        names = catalogue(lang)
        for feed in all_feeds():
            assert f"feed.{feed}" in names and f"feed_desc.{feed}" in names, (lang, feed)
