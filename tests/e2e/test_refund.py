"""An Operator refunds part of a payment in Chromium and sees the timeline update.

The page calls the built-in sandbox over real HTTP on the live server (so the gateway call
happens while the database is free, outside any transaction), and the sandbox applies SIBS's
rules to the refund."""

from __future__ import annotations

from decimal import Decimal

from payments.models import ApiRootPreset, OperationState, PaymentOperation
from payments.services import gateway
from sandbox.models import SandboxPayment
from tests.factories import PASSWORD, give_totp, totp_now
from tests.payments.ops_support import make_gateway


def sign_in(page, email, secret):
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/**")


def test_an_operator_refunds_part_of_a_payment_and_sees_the_timeline(e2e_world, new_page, live_server):
    world = e2e_world
    gw = make_gateway(world)
    txn = gw.paid(amount="50.00")
    # From now on the backoffice reaches the sandbox over HTTP, on the live server.
    gw.credential.api_root_preset = ApiRootPreset.CUSTOM
    gw.credential.custom_api_root = f"{live_server.url}/sandbox/api/v2"
    gw.credential.save()
    gateway._clients.clear()

    secret = give_totp(world.bob)
    page = new_page()
    sign_in(page, "bob@loja.example", secret)
    page.goto(f"/m/loja/transactions/{txn.transaction_id}/")
    timeline = page.locator("[data-testid=operations]")
    assert "Requests" not in timeline.inner_text()

    page.click("[data-testid=op-open-refund]")
    dialog = page.locator("[data-testid=op-dialog-refund]")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=refund-amount]").fill("12.50")
    # the confirmation says exactly what will happen, with the amount typed
    assert "SIBS will return €12.50 to the customer" in dialog.locator("[data-testid=op-confirm-text]").inner_text()
    dialog.locator("select[name=refund-reason]").select_option("returned_goods")
    dialog.locator("textarea[name=refund-comment]").fill("Returned in store")
    dialog.locator("input[name=refund-password]").fill(PASSWORD)
    dialog.locator("[data-testid=op-submit-refund]").click()

    page.wait_for_selector("text=Refund of €12.50 done: SIBS confirmed it.")
    request = page.locator("[data-testid=op-request]")
    assert request.get_attribute("data-state") == OperationState.SUCCEEDED
    assert "Returned in store" in request.inner_text()
    body = page.inner_text("main")
    # the timeline shows the staff request and SIBS's refund on the payment
    assert "Refund of €12.50 requested" in body
    assert "bob@loja.example" in body
    op = PaymentOperation.objects.get()
    assert op.result.transaction_id in page.content()

    txn.refresh_from_db()
    assert (txn.refunded_amount, txn.refundable_amount, txn.state) == (
        Decimal("12.50"),
        Decimal("37.50"),
        "partially_refunded",
    )
    assert SandboxPayment.objects.get(transaction_id=txn.transaction_id).refunded_amount == Decimal("12.50")
    # what is left to refund is offered next
    assert "At most €37.50" in page.locator("[data-testid=op-dialog-refund]").inner_text()


def test_the_refund_dialog_reads_and_writes_amounts_the_portuguese_way(e2e_world, new_page):
    gw = make_gateway(e2e_world)
    txn = gw.paid(amount="84.51")
    secret = give_totp(e2e_world.bob)
    page = new_page(locale="pt-PT")
    sign_in(page, "bob@loja.example", secret)
    page.goto(f"/m/loja/transactions/{txn.transaction_id}/")
    page.click("[data-testid=op-open-refund]")
    dialog = page.locator("[data-testid=op-dialog-refund]")
    dialog.wait_for(state="visible")
    amount = dialog.locator("input[name=refund-amount]")
    confirm = dialog.locator("[data-testid=op-confirm-text]")
    assert amount.input_value() == "84,51"  # pre-filled as the hint writes it
    assert "84,51\u00a0€" in confirm.inner_text()
    amount.fill("1.234,56")
    assert "1\u202f234,56\u00a0€" in confirm.inner_text()
    amount.fill("12,5")
    assert "12,50\u00a0€" in confirm.inner_text() and "€ 12" not in confirm.inner_text()
