"""Headless Chromium (Debian's) driven by Playwright; Playwright's own browser download is not used."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("IOC_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Quiet on a closed network: no background connections, no component updates.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
        # Wall screens are set up to play the alarm without a click (kiosk Chromium does the same).
        "--autoplay-policy=no-user-gesture-required"]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
