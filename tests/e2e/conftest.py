from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.ui import DESKTOP, Tab, open_tab

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's 5 s default is shorter than a photo decode or a page's first
# fetches take on a CI box whose cores the rest of the suite keeps busy; a
# wait still ends as soon as its condition holds.
expect.set_options(timeout=15_000)


def _chromium() -> str | None:
    return os.environ.get("GRAMSTACK_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """The server under test: a real ``gramstack serve`` process, or the one
    named by GRAMSTACK_E2E_BASE_URL (to run the browser tests against a dev server)."""
    external = os.environ.get("GRAMSTACK_E2E_BASE_URL")
    if external:
        return external.rstrip("/")
    return str(request.getfixturevalue("server").base_url)


# Package scope, not session: while sync Playwright runs, its event loop counts
# as running in this thread, which would break the asyncio tests that follow.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        pytest.fail("chromium is not installed (make test-deps installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_tab(browser: Browser, base_url: str) -> Iterator[Callable[..., Tab]]:
    """Opens pages in fresh browser contexts (one per user); closes them after the test."""
    opened: list[Tab] = []

    def _open(viewport: dict[str, int] = DESKTOP) -> Tab:
        tab = open_tab(browser, base_url, viewport)
        opened.append(tab)
        return tab

    yield _open
    for tab in opened:
        tab.context.close()
