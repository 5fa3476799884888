"""The browser tests' shared page: Chromium through Playwright at a projector's 1280×720 on the studio.

:func:`projector_page` opens ``url`` and yields the page; the test is skipped when Playwright or a Chromium
binary is missing (``ZS_CHROMIUM`` names another binary) or when Chromium does not start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ZS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def projector_page(url: str, timeout_ms: int, before: Callable | None = None) -> Iterator:
    """A new 1280×720 page on ``url`` (``before(page)`` runs first, e.g. to listen to its requests)."""
    pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from bench.serving import CHROMIUM_ARGS, PROJECTOR

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium binary at {CHROMIUM} (set ZS_CHROMIUM)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.skip(f"Chromium does not start: {str(exc).splitlines()[0]}")
        try:
            page = browser.new_page(viewport=PROJECTOR)
            page.set_default_timeout(timeout_ms)
            if before is not None:
                before(page)
            page.goto(url, wait_until="domcontentloaded")
            yield page
        finally:
            browser.close()
