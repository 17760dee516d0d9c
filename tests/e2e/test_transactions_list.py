"""The transaction list in a real browser: filters and search, live arrivals, store limits."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests

from payments.sibs.envelope import CONTENT_TYPE, encrypt
from tests.e2e.test_onboarding import sign_in
from tests.factories import give_totp, totp_now
from tests.payments.test_listing import make_txn
from tests.webhooks.support import add_secret, again, as_bytes, inbound_path, notification

LIST = "/m/loja/transactions/"


@pytest.fixture(autouse=True)
def _one_request_at_a_time_on_in_memory_sqlite(monkeypatch):
    """The test server hands its threads the test's single in-memory SQLite connection; the
    page polls while other requests run, so serve one request at a time there (PostgreSQL,
    and SQLite files as ``make run`` uses, give each thread its own connection)."""
    from django.core.handlers.base import BaseHandler
    from django.db import connection

    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        return
    lock = threading.RLock()
    original = BaseHandler.get_response

    def get_response(self, request):
        with lock:
            return original(self, request)

    monkeypatch.setattr(BaseHandler, "get_response", get_response)


@pytest.fixture
def inbound(e2e_world, live_server, eager_celery_and_fresh_keyring):
    """Post a notification to the running server, encrypted as SIBS does."""
    secret = add_secret(e2e_world.loja)
    url = live_server.url + inbound_path(e2e_world.loja)

    def post(payload: dict) -> None:
        envelope = encrypt(as_bytes(payload), secret=secret)
        response = requests.post(
            url,
            data=envelope.body.encode(),
            headers={
                "Content-Type": CONTENT_TYPE,
                "X-Initialization-Vector": envelope.iv,
                "X-Authentication-Tag": envelope.tag,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text

    return post


def rows(page) -> list[str]:
    return page.locator("[data-testid=txn-row]").evaluate_all("rows => rows.map(r => r.dataset.txn)")


def test_filters_and_search_narrow_the_list(e2e_world, new_page):
    world = e2e_world
    make_txn(world, transaction_id="s2e2e-mbway", minutes_ago=3, amount=Decimal("16.20"))
    make_txn(world, transaction_id="s2e2e-card", minutes_ago=2, terminal=world.t_porto, payment_method="CARD")
    make_txn(
        world,
        transaction_id="s2e2e-ref",
        minutes_ago=1,
        payment_method="REFERENCE",
        state="awaiting_payment",
        reference_entity="40200",
        reference_number="256309828",
    )
    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    assert rows(page) == ["s2e2e-ref", "s2e2e-card", "s2e2e-mbway"]

    # a filter narrows the list in place and lands in the address bar
    page.select_option("[data-testid=method]", "CARD")
    page.wait_for_url("**method=CARD**")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 1")
    assert rows(page) == ["s2e2e-card"]

    # the address is a bookmark: opening it again shows the same
    page.goto(page.url)
    assert rows(page) == ["s2e2e-card"]

    # search, after clearing the filter
    page.click("[data-testid=clear-filters]")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 3")
    page.fill("[data-testid=search]", "256 309 828")
    page.wait_for_url("**q=256**")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 1")
    assert rows(page) == ["s2e2e-ref"]
    page.fill("[data-testid=search]", "16,20")
    page.wait_for_function("document.querySelector('[data-testid=txn-row]')?.dataset.txn === 's2e2e-mbway'")
    assert rows(page) == ["s2e2e-mbway"]

    # tabs carry counts, loaded after the page
    page.fill("[data-testid=search]", "")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 3")
    page.wait_for_selector("[data-tab=pending] .count")
    assert page.inner_text("[data-tab=pending] .count") == "1"
    page.click("[data-tab=pending]")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 1")
    assert rows(page) == ["s2e2e-ref"]


def test_a_notification_posted_while_the_page_is_open_appears_without_reload(e2e_world, new_page, inbound):
    world = e2e_world
    make_txn(world, transaction_id="s2e2e-older", minutes_ago=5)
    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    page.evaluate("window.__sameDocument = true")

    pending = notification(paymentStatus="Pending", transactionID="s2e2e-live-1")
    inbound(pending)
    page.wait_for_selector("[data-txn=s2e2e-live-1]", timeout=15_000)
    assert rows(page) == ["s2e2e-live-1", "s2e2e-older"]
    assert "Pending" in page.inner_text("[data-txn=s2e2e-live-1]")

    # a change of state updates the row in place
    inbound(again(pending, paymentStatus="Success"))
    page.wait_for_function(
        "document.querySelector('[data-txn=s2e2e-live-1] [data-state]').dataset.state === 'paid'", timeout=15_000
    )
    assert rows(page) == ["s2e2e-live-1", "s2e2e-older"]
    assert page.evaluate("window.__sameDocument") is True

    # on a filtered list, a new match is announced instead of moving the rows
    page.select_option("[data-testid=method]", "MBWAY")
    page.wait_for_url("**method=MBWAY**")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 2")
    inbound(notification(transactionID="s2e2e-live-2"))
    marker = page.locator("[data-testid=new-marker]")
    marker.wait_for(state="visible", timeout=15_000)
    assert marker.inner_text() == "1 new transaction — show"
    assert rows(page) == ["s2e2e-live-1", "s2e2e-older"]
    marker.click()
    page.wait_for_selector("[data-txn=s2e2e-live-2]")
    assert rows(page)[0] == "s2e2e-live-2"
    assert page.evaluate("window.__sameDocument") is True


def test_a_store_limited_user_never_sees_another_stores_transaction(e2e_world, new_page, inbound):
    world = e2e_world
    make_txn(world, transaction_id="s2e2e-lisboa", minutes_ago=2, amount=Decimal("16.20"))
    make_txn(world, transaction_id="s2e2e-porto", minutes_ago=1, terminal=world.t_porto, amount=Decimal("16.20"))
    secret = give_totp(world.paula)
    page = new_page()
    sign_in(page, "paula@loja.example")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    page.wait_for_url(f"**{LIST}")
    assert rows(page) == ["s2e2e-porto"]
    page.wait_for_selector("[data-tab=all] .count")
    assert page.inner_text("[data-tab=all] .count") == "1"

    # not by search either
    page.fill("[data-testid=search]", "16.20")
    page.wait_for_url("**q=16.20**")
    assert rows(page) == ["s2e2e-porto"]
    page.fill("[data-testid=search]", "")
    page.wait_for_url(f"**{LIST}")

    # nor live: a Lisboa payment never shows up, the Porto one posted after it does
    inbound(notification(transactionID="s2e2e-live-lisboa", merchant={"terminalId": 11111}))
    inbound(notification(transactionID="s2e2e-live-porto", merchant={"terminalId": 22222}))
    page.wait_for_selector("[data-txn=s2e2e-live-porto]", timeout=15_000)
    page.wait_for_timeout(2_000)  # more than one poll later
    assert "s2e2e-live-lisboa" not in page.content()
    assert "s2e2e-lisboa" not in page.content()
    assert sorted(rows(page)) == ["s2e2e-live-porto", "s2e2e-porto"]
