"""The transaction detail page in real Chromium: the timeline in order, kept current, on a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payments.models import Transaction
from payments.services import ledger
from tests.e2e.test_transactions_list import server_lock  # noqa: F401 - polls kept off the database between tests
from tests.factories import PASSWORD
from tests.webhooks.support import again, deliver, notification

T0 = datetime(2026, 3, 12, 10, 0, 0, tzinfo=UTC)  # 10:00 WET in Lisbon


@pytest.fixture
def paid(e2e_world, eager_celery_and_fresh_keyring):
    """Pending, Success, the Pending again late (out of order), the Success again (duplicate), a refund."""
    loja = e2e_world.loja
    pending = notification(paymentStatus="Pending", amount={"value": "1234.56", "currency": "EUR"})
    success = again(pending, paymentStatus="Success")
    refund = notification(
        paymentType="RFND",
        token=None,
        amount={"value": "234.56", "currency": "EUR"},
        merchant={"transactionId": "refund-1", "terminalId": 11111},
        originalTransaction={"id": pending["transactionID"], "datetime": "2026-03-12T10:48:44Z"},
    )
    for seconds, payload in [(0, pending), (60, success), (120, again(pending)), (180, again(success)), (240, refund)]:
        assert deliver(loja, payload, received_at=T0 + timedelta(seconds=seconds)) == "processed"
    return Transaction.objects.get(transaction_id=pending["transactionID"])


def sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/transactions/")


def timeline_rows(page) -> list[tuple[str, str, str]]:
    rows = []
    for entry in page.locator("[data-testid=timeline-entry]").all():
        rows.append(
            (
                entry.locator("time").get_attribute("datetime"),
                entry.locator(".tl-when").inner_text().strip(),
                entry.locator(".tl-title").inner_text().strip(),
            )
        )
    return rows


def test_detail_page_shows_the_timeline_in_order_and_keeps_it_current(paid, new_page, server_lock):  # noqa: F811
    page = new_page()
    sign_in(page, "victor@loja.example")
    page.goto(f"/m/loja/transactions/{paid.transaction_id}/")

    assert page.locator("[data-testid=state]").inner_text().strip() == "Partially refunded"
    assert page.locator("[data-balance=refundable]").inner_text().strip() == "€1,000.00"

    rows = timeline_rows(page)
    assert [when for _, when, _ in rows] == [
        "12/03/2026 10:00:00 WET",
        "12/03/2026 10:01:00 WET",
        "12/03/2026 10:02:00 WET",
        "12/03/2026 10:03:00 WET",
        "12/03/2026 10:04:00 WET",
    ]
    assert [iso for iso, _, _ in rows] == sorted(iso for iso, _, _ in rows)
    titles = [title for _, _, title in rows]
    assert titles[0].startswith("Notification received: Pending")
    assert titles[1].startswith("Notification received: Success")
    assert "Out of order" in titles[2]
    assert "Duplicate" in titles[3]
    assert "Refund: Success" in titles[4]
    # a Viewer gets no raw payload, anywhere
    assert page.locator("[data-testid=raw-payload]").count() == 0
    assert "returnStatus" not in page.content()

    # a status inquiry fails meanwhile: it shows up without reloading the page
    page.evaluate("window.__notReloaded = true")
    with server_lock:
        ledger.inquiry_failed(
            transaction_pk=paid.pk, occurred_at=T0 + timedelta(minutes=30), detail="E0503: busy", http_status=503
        )
    page.locator("[data-testid=timeline-entry]").nth(5).wait_for(timeout=15_000)
    rows = timeline_rows(page)
    assert rows[-1][1] == "12/03/2026 10:30:00 WET"
    assert rows[-1][2].startswith("Error") and "Status inquiry failed (HTTP 503)" in rows[-1][2]
    assert page.evaluate("window.__notReloaded") is True

    # the refund's own page links back to its original
    page.click("[data-testid=timeline-entry] >> text=Refund: Success")
    page.wait_for_selector("[data-linked=original]")
    assert paid.transaction_id in page.locator("[data-linked=original]").inner_text()


def test_detail_page_in_portuguese_on_a_phone(paid, new_page):
    page = new_page(locale="pt-PT")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "fiona@loja.example")
    page.goto(f"/m/loja/transactions/{paid.transaction_id}/")
    assert page.locator("[data-testid=amount]").inner_text().strip() == "1\u202f234,56\u00a0€"
    assert page.locator("[data-testid=timeline-entry] .tl-when").first.inner_text().strip() == "12/03/2026 10:00:00 WET"
    # nothing wider than the phone: no sideways scrolling of the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # balances stack as label and amount on a phone
    refundable = page.locator("[data-balance=refundable]")
    assert refundable.is_visible()
    box = refundable.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 391
