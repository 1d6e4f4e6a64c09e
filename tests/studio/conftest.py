"""Fixtures for the Studio tests: a real `rookdb serve` process and Debian's Chromium.

Chromium comes from `apt-get install chromium` (scripts/test-deps.sh); when it
is missing these tests fail rather than skip, so a broken set-up is noticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from .harness import BROWSER_ZONE, CHROMIUM, CHROMIUM_ARGS, StudioServer, start_server, stop_server


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    """A fresh data dir served by a real `rookdb serve` process (one per test module)."""
    server = start_server(tmp_path_factory.mktemp("studio-data"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; a missing browser is a failure, not a skip."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run scripts/test-deps.sh (apt-get install chromium)"
    )
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab at 1280 px in a non-UTC time zone."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id=BROWSER_ZONE, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
