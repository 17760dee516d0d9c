"""The transaction list in a real browser: filters and search, live arrivals, store limits."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import expect

from payments.sibs.envelope import CONTENT_TYPE, encrypt
from tests.e2e.test_onboarding import sign_in
from tests.factories import give_totp, totp_now
from tests.payments.test_listing import make_txn
from tests.webhooks.support import add_secret, again, as_bytes, inbound_path, notification

LIST = "/m/loja/transactions/"


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll an expression through the debugging protocol: the page's Content-Security-Policy
    forbids the string evaluation ``wait_for_function`` relies on."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(100)


@pytest.fixture(autouse=True)
def server_lock(transactional_db):
    """Pages here keep polling; this keeps those polls off the database when it is not theirs.

    - On the in-memory SQLite of the default test run, the test server hands its threads the
      test's single connection: requests are served one at a time, and a test touching the ORM
      while a page is open does it holding the lock this fixture yields. (PostgreSQL, and the
      SQLite file ``make run`` uses, give each thread its own connection.)
    - When the test ends, requests still arriving from a page are answered 503 without touching
      the database, and the fixture waits for those in flight before the database is flushed
      (otherwise a poll landing then fails with "Database access not allowed")."""
    from django.core.handlers.base import BaseHandler
    from django.db import connection
    from django.http import HttpResponse

    serial = connection.vendor == "sqlite" and connection.is_in_memory_db()
    lock = threading.RLock()
    idle = threading.Condition()
    state = {"in_flight": 0, "closing": False}
    original = BaseHandler.get_response

    def get_response(self, request):
        with idle:
            if state["closing"]:
                return HttpResponse(status=503)
            state["in_flight"] += 1
        try:
            if serial:
                with lock:
                    return original(self, request)
            return original(self, request)
        finally:
            with idle:
                state["in_flight"] -= 1
                idle.notify_all()

    BaseHandler.get_response = get_response
    try:
        yield lock
    finally:
        with idle:
            state["closing"] = True
            idle.wait_for(lambda: state["in_flight"] == 0, timeout=15)
        BaseHandler.get_response = original


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


def pick(page, name: str, value: str) -> None:
    """Tick one choice of a multi-choice filter menu (and close the menu)."""
    page.click(f"[data-testid={name}] > summary")
    page.check(f"[data-testid={name}] input[value={value}]")
    page.click("h1")


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
    pick(page, "method", "CARD")
    page.wait_for_url("**method=CARD**")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(1)
    assert rows(page) == ["s2e2e-card"]

    # the address is a bookmark: opening it again shows the same
    page.goto(page.url)
    assert rows(page) == ["s2e2e-card"]

    # search, after clearing the filter
    page.click("[data-testid=clear-filters]")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(3)
    page.fill("[data-testid=search]", "256 309 828")
    page.wait_for_url("**q=256**")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(1)
    assert rows(page) == ["s2e2e-ref"]
    page.fill("[data-testid=search]", "16,20")
    expect(page.locator("[data-testid=txn-row]").first).to_have_attribute("data-txn", "s2e2e-mbway")
    assert rows(page) == ["s2e2e-mbway"]

    # tabs carry counts, loaded after the page
    page.fill("[data-testid=search]", "")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(3)
    page.wait_for_selector("[data-tab=pending] .count")
    assert page.inner_text("[data-tab=pending] .count") == "1"
    page.click("[data-tab=pending]")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(1)
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
    expect(page.locator("[data-txn=s2e2e-live-1] [data-state]")).to_have_attribute("data-state", "paid", timeout=15_000)
    assert rows(page) == ["s2e2e-live-1", "s2e2e-older"]
    assert page.evaluate("window.__sameDocument") is True

    # on a filtered list, a new match is announced instead of moving the rows
    pick(page, "method", "MBWAY")
    page.wait_for_url("**method=MBWAY**")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(2)
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


def test_several_choices_of_one_filter_and_live_counts(e2e_world, new_page, inbound):
    world = e2e_world
    make_txn(world, transaction_id="s2e2e-multi-mbway", minutes_ago=3)
    make_txn(world, transaction_id="s2e2e-multi-card", minutes_ago=2, payment_method="CARD")
    make_txn(world, transaction_id="s2e2e-multi-ref", minutes_ago=1, payment_method="REFERENCE")
    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    pick(page, "method", "CARD")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(1)
    pick(page, "method", "REFERENCE")
    page.wait_for_url("**method=CARD&method=REFERENCE**")
    expect(page.locator("[data-testid=txn-row]")).to_have_count(2)
    assert rows(page) == ["s2e2e-multi-ref", "s2e2e-multi-card"]
    assert page.inner_text("[data-testid=method] [data-multi-summary]") == "Card +1"
    # the bookmark ticks the same boxes
    page.goto(page.url)
    assert rows(page) == ["s2e2e-multi-ref", "s2e2e-multi-card"]
    assert page.locator("[data-testid=method] input:checked").count() == 2

    # the tab counts follow new transactions without a reload
    page.goto(LIST)
    page.wait_for_selector("[data-tab=all] .count")
    assert page.inner_text("[data-tab=all] .count") == "3"
    page.evaluate("window.__sameDocument = true")
    inbound(notification(transactionID="s2e2e-multi-live"))
    expect(page.locator("[data-tab=all] .count")).to_have_text("4", timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True


def test_a_reader_scrolled_down_the_first_page_keeps_their_place(e2e_world, new_page, inbound):
    world = e2e_world
    for n in range(55):
        make_txn(world, transaction_id=f"s2e2e-scroll-{n:02d}", minutes_ago=100 - n)
    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    wait_until(page, "window.scrollY > 300")
    top_before = rows(page)[0]
    scrolled = page.evaluate("window.scrollY")

    inbound(notification(transactionID="s2e2e-scroll-new"))
    marker = page.locator("[data-testid=new-marker]")
    marker.wait_for(state="visible", timeout=15_000)
    # the marker is where the reader looks, and the rows did not move under them
    assert "floating" in marker.get_attribute("class")
    box = marker.bounding_box()
    assert box is not None and 0 <= box["y"] < 100
    assert rows(page)[0] == top_before and "s2e2e-scroll-new" not in rows(page)
    assert page.evaluate("window.scrollY") == scrolled

    marker.click()
    page.wait_for_selector("[data-txn=s2e2e-scroll-new]")
    assert rows(page)[0] == "s2e2e-scroll-new"
    wait_until(page, "window.scrollY === 0")
    assert marker.is_hidden()


def test_an_open_list_goes_to_the_sign_in_once_the_session_has_ended(e2e_world, new_page):
    from django.contrib.sessions.models import Session

    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    Session.objects.all().delete()  # what the idle timeout does, without waiting 15 minutes
    page.wait_for_url("**/accounts/login/**", timeout=15_000)
    assert page.locator("#id_login").count() == 1


def test_a_click_anywhere_on_a_row_opens_its_transaction(e2e_world, new_page):
    make_txn(e2e_world, transaction_id="s2e2e-click", minutes_ago=1, amount=Decimal("16.20"))
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "fiona@loja.example")
    page.wait_for_url(f"**{LIST}")
    page.click("[data-txn=s2e2e-click] [data-testid=amount]")
    page.wait_for_url("**/transactions/s2e2e-click/")
    assert "s2e2e-click" in page.inner_text("main")
