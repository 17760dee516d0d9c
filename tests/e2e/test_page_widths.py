"""Every main page fits a 1280 px laptop and a 390 px phone: no page wider than the screen, and
on the laptop no main table scrolling sideways (columns give way by priority instead)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.e2e.test_onboarding import sign_in
from tests.factories import give_totp, totp_now
from tests.payments.test_listing import make_txn
from tests.webhooks.outbound_support import make_webhook
from tests.webhooks.support import add_secret

PAGES = (
    "/m/loja/transactions/",
    "/m/loja/transactions/{txn}/",
    "/m/loja/payment-methods/",
    "/m/loja/webhooks/",
    "/m/loja/webhooks/{webhook}/",
    "/m/loja/webhooks/deliveries/",
    "/m/loja/users/",
    "/m/loja/api-keys/",
    "/m/loja/audit/",
    "/sandbox/",
)

# What the page measures: the document's width, and every scrolling box in <main> whose content
# is wider than the box (a table hidden behind a side scroll).
MEASURE = """() => {
  const over = [];
  for (const el of document.querySelectorAll('main *')) {
    const x = getComputedStyle(el).overflowX;
    if ((x === 'auto' || x === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      over.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
    }
  }
  return {doc: document.documentElement.scrollWidth, over: over};
}"""


def _busy(world):
    from payments.models import GatewayCredential
    from webhooks.models import WebhookDelivery

    txn = make_txn(
        world,
        transaction_id="s2LongTransactionId0001",
        merchant_transaction_id="ORD-2612081234-LISBOA-CHIADO-0001",
        payment_method="REFERENCE",
        payment_type="PREF",
        state="partially_refunded",
        amount=Decimal("1234.56"),
        reference_entity="21312",
        reference_number="123456789",
    )
    make_txn(world, transaction_id="s2LongTransactionId0002", payment_type="MITR", payment_method="CARD")
    make_txn(world, transaction_id="s2LongTransactionId0003", payment_type="RFND", payment_method="CARD")
    GatewayCredential.objects.create(
        merchant=world.loja,
        name="Production credential for the Lisboa store",
        terminal_number=11111,
        client_id="7f4048fc-a229-4068-9378-b45ec3cc88bb",
        bearer_token="x" * 40,
        token_hint="xxxx",
    )
    add_secret(world.loja, label="Main secret from the SIBS Backoffice")
    webhook = make_webhook(world.loja, url="https://erp.loja.example/hooks/sibs/notifications", key="k" * 44)
    for n in range(3):
        WebhookDelivery.objects.create(
            webhook=webhook,
            merchant=world.loja,
            transaction=txn,
            notification_id=f"3f1c2d9e-7a6b-4c1d-9e8f-00000000000{n}",
            notification_type="payment",
            attempts=3,
            last_http_status=400,
            last_error="not acknowledged: HTTP status 400, expected 200",
            next_attempt_at=timezone.now() + timedelta(minutes=30),
        )
    return {"txn": txn.transaction_id, "webhook": webhook.pk}


def test_main_pages_fit_a_laptop_and_a_phone(e2e_world, new_page):
    ids = _busy(e2e_world)
    page = new_page(locale="pt-PT")
    secret = give_totp(e2e_world.alice)  # the Owner sees every section
    sign_in(page, "alice@loja.example")
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/transactions/")
    problems = []
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in PAGES:
            page.goto(path.format(**ids))
            measured = page.evaluate(MEASURE)
            if measured["doc"] > width:
                problems.append(f"{width}px {path}: page is {measured['doc']}px wide")
            if measured["over"]:
                problems.append(f"{width}px {path}: scrolls sideways: {measured['over']}")
    assert problems == [], "\n".join(problems)


def test_phone_header_keeps_language_merchant_and_current_section_visible(e2e_world, new_page):
    from backoffice.roles import Role
    from tests.factories import make_membership, make_merchant

    other = make_merchant(name="Loja Demo do Porto e Norte", slug="porto-norte", nif="503504564")
    make_membership(e2e_world.fiona, other, Role.FINANCE)
    page = new_page(locale="pt-PT")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "fiona@loja.example")
    page.goto("/m/loja/reconciliation/")
    language = page.locator("[data-testid=language-switch]")
    assert language.bounding_box()["width"] >= 48
    assert language.evaluate("el => el.options[el.selectedIndex].text") == "PT"
    switcher = page.locator("[data-testid=merchant-switcher]")
    assert switcher.evaluate("el => el.scrollWidth <= el.clientWidth + 1 && el.clientWidth > 250")
    active = page.locator(".sidenav a.active").bounding_box()
    assert active["x"] >= 0 and active["x"] + active["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
