"""An Operator asks customers to pay from the backoffice, in Chromium.

The backoffice calls the built-in sandbox over real HTTP on the live server: checkout, then the
MB WAY purchase or the reference generation with the transaction signature. The simulated
customer answers after a moment and the open panel turns to paid without a reload."""

from __future__ import annotations

from django.core import mail

from payments.models import ApiRootPreset
from payments.requests.models import PaymentRequest
from payments.services import gateway
from sandbox.models import SandboxMerchant
from tests.e2e.test_refund import sign_in
from tests.factories import give_totp
from tests.payments.ops_support import CLIENT_ID, make_gateway


def _gateway_over_http(world, live_server):
    gw = make_gateway(world)
    # the simulated customer answers two seconds after the request reaches them
    SandboxMerchant.objects.filter(client_id=CLIENT_ID).update(customer_delay_seconds=2)
    gw.credential.api_root_preset = ApiRootPreset.CUSTOM
    gw.credential.custom_api_root = f"{live_server.url}/sandbox/api/v2"
    gw.credential.save()
    gateway._clients.clear()
    return gw


def _new_request(page, *, method: str, amount: str, order: str) -> None:
    page.goto("/m/loja/payment-requests/")
    page.click("[data-testid=pr-new]")
    form = page.locator("[data-testid=pr-form]")
    form.locator("select[name=terminal]").select_option(label="Lisboa · 11111")
    form.locator(f"input[name=method][value={method}]").check()
    form.locator("input[name=amount]").fill(amount)
    form.locator("input[name=order_reference]").fill(order)


def test_an_operator_asks_for_25_euros_by_mbway_and_sees_it_paid(e2e_world, new_page, live_server):
    world = e2e_world
    _gateway_over_http(world, live_server)
    page = new_page()
    sign_in(page, "bob@loja.example", give_totp(world.bob))

    _new_request(page, method="MBWAY", amount="25.00", order="TEL-2031")
    # the MULTIBANCO fields are out of the way for MB WAY
    assert not page.locator("input[name=reference_entity]").is_visible()
    page.fill("input[name=phone]", "912 345 678")
    page.click("[data-testid=pr-submit]")

    panel = page.locator("[data-testid=pr-panel]")
    panel.wait_for()
    assert panel.get_attribute("data-status") == "waiting_customer"
    assert "Waiting for the customer to accept in the MB WAY app" in panel.inner_text()
    url = page.url
    # the customer accepts in the app; the panel follows without a reload
    page.wait_for_selector("[data-testid=pr-panel][data-status=paid]", timeout=20_000)
    assert page.url == url
    assert "Paid" in page.locator("[data-testid=pr-status]").inner_text()

    request = PaymentRequest.objects.get()
    assert request.amount == 25 and request.transaction.state == "paid"
    # the request is an ordinary transaction, with who asked for it on its timeline
    page.click("[data-testid=pr-transaction]")
    page.wait_for_selector("[data-testid=transaction-detail]")
    body = page.inner_text("main")
    assert "Payment request of €25.00 sent by MB WAY" in body
    assert "bob@loja.example" in body


def test_an_operator_sends_a_multibanco_reference_by_email(
    e2e_world, new_page, live_server, settings, eager_celery_and_fresh_keyring
):
    world = e2e_world
    settings.PAYMENT_REQUEST_REFERENCE_CHECK_SECONDS = 1
    _gateway_over_http(world, live_server)
    page = new_page("pt-PT")
    sign_in(page, "bob@loja.example", give_totp(world.bob))

    # cents .11: the sandbox's customer pays the reference after a moment
    _new_request(page, method="REFERENCE", amount="42.11", order="ENC-88")
    page.fill("input[name=reference_entity]", "24000")
    page.fill("input[name=customer_email]", "cliente@example.pt")
    page.locator("[data-testid=pr-form] select[name=language]").select_option("pt")
    page.click("[data-testid=pr-submit]")

    panel = page.locator("[data-testid=pr-panel]")
    panel.wait_for()
    request = PaymentRequest.objects.get()
    reference = page.locator("[data-testid=pr-reference-number]").inner_text()
    assert reference.replace(" ", "") == request.reference_number and len(request.reference_number) == 9
    assert page.locator("[data-testid=pr-entity]").inner_text() == "24000"
    assert "42,11" in panel.inner_text()

    # the customer's e-mail, in Portuguese, with the same data
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cliente@example.pt"]
    assert "Referência MULTIBANCO" in message.subject
    assert reference in message.body and "24000" in message.body and "42,11" in message.body

    page.wait_for_selector("[data-testid=pr-panel][data-status=paid]", timeout=20_000)
    assert "Paga" in page.locator("[data-testid=pr-status]").inner_text()
