"""Real Chromium (Debian's package) driven by Playwright against the live test server."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True, scope="package")
def _allow_orm_beside_playwright():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps (and the database flush after each) are ordinary synchronous code
    # and safe here. Scoped to this package so it never leaks into other tests' subprocesses.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    contexts = []
    refused = []  # what the Content-Security-Policy blocked: a page relying on inline script

    def _new_page(locale: str = "en-GB"):
        context = browser.new_context(base_url=live_server.url, locale=locale, timezone_id="Europe/Lisbon")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
        )
        return page

    yield _new_page
    for context in contexts:
        context.close()
    assert not refused, refused


@pytest.fixture
def e2e_world(transactional_db):
    from tests.conftest import World

    return World()
