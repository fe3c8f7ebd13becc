"""A real headless Chromium for the browser tests, through Playwright's Python API.

Debian's `chromium` (installed by .ci/run) is used as it is: Playwright never downloads a
browser here. Tests skip, with the reason, only where Chromium or Playwright is absent.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from typing import Any, Iterator

import pytest


def chromium_path() -> str | None:
    """GRADSTEP_CHROMIUM, else chromium (or chromium-browser) on PATH."""
    return os.environ.get("GRADSTEP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install playwright)"
    return None


needs_chromium = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


class Page:
    """One browser tab with every console error and uncaught exception it reports."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))


@contextmanager
def browser_page(width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """A fresh headless Chromium with one page open."""
    from playwright.sync_api import sync_playwright  # deferred: only the browser tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield Page(browser.new_page(viewport={"width": width, "height": height}))
        finally:
            browser.close()
