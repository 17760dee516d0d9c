"""The QR Code Manager sells two units of a new product through the sandbox, in Chromium.

Everything runs for real on the live server: the product's QR code is created in the sandbox
(as in SIBS Backoffice), the customer buys on the sandbox's purchase page, the sandbox sends the
encrypted STATIC_QRCODE notification to the backoffice's inbound URL, and the purchase takes its
units from the stock, crossing the low-stock threshold (one e-mail, written to a mail folder as
the default run does under var/mail/)."""

from __future__ import annotations

from pathlib import Path

from payments.models import GatewayCredential
from qrexpress.models import Purchase, QrProduct
from sandbox.services import sandbox_configure
from tests.factories import PASSWORD
from tests.payments.ops_support import CLIENT_ID, TOKEN
from tests.webhooks.support import add_secret, inbound_path


def test_the_qr_code_manager_sells_two_units_through_the_sandbox(
    e2e_world, new_page, live_server, settings, tmp_path, eager_celery_and_fresh_keyring
):
    world = e2e_world
    mail_dir = tmp_path / "var" / "mail"
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(mail_dir)
    secret = add_secret(world.loja)
    sandbox_configure(
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        terminal_ids=[11111],
        notification_url=live_server.url + inbound_path(world.loja),
        notification_secret=secret,
        merchant_name="Loja",
        notification_style="plain",
        customer_delay_seconds=0,
    )
    GatewayCredential.objects.create(
        merchant=world.loja, terminal_number=11111, client_id=CLIENT_ID, bearer_token=TOKEN, token_hint=TOKEN[-4:]
    )

    page = new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", "quinn@loja.example")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/**")

    # the QR Code Manager creates a product with 3 units and a low-stock threshold of 1
    page.goto("/m/loja/qr-express/")
    page.click("[data-testid=new-product]")
    page.select_option("#id_terminal", label=str(world.t_lisboa))
    page.fill("#id_product_name", "Caneca Loja")
    page.fill("#id_description", "Caneca branca 33 cl")
    page.fill("#id_price", "5.00")
    page.fill("#id_expedition_amount", "1.00")
    page.fill("#id_initial_units", "3")
    page.fill("#id_low_stock_threshold", "1")
    page.click("[data-testid=save-product]")
    page.wait_for_selector("[data-testid=product-name]")
    assert page.inner_text("[data-testid=stock-units]") == "3"
    assert page.locator("[data-testid=qr-image] svg").count() == 1

    # the QR code points at the sandbox purchase page; a customer buys there twice
    purchase_url = page.get_attribute("[data-testid=qr-content]", "href")
    assert purchase_url.startswith(f"{live_server.url}/sandbox/qr/")
    customer = new_page()
    customer.goto(purchase_url)
    assert customer.inner_text("[data-testid=qr-product-name]") == "Caneca Loja"
    for name in ("Olga Rodrigues", "Rui Costa"):
        customer.fill("#id_name", name)
        customer.fill("#id_address", "Rua D. João 8")
        customer.fill("#id_postal_code", "4646-846")
        customer.fill("#id_city", "Lisboa")
        customer.fill("#id_tin", "123456789")
        customer.click("[data-testid=qr-buy]")
        customer.wait_for_selector("[data-testid=qr-paid]")

    # the manager sees stock 1, the low-stock e-mail, and the purchases with shipping details
    page.reload()
    assert page.inner_text("[data-testid=stock-units]") == "1"
    ledger = page.inner_text("[data-testid=ledger]")
    assert ledger.count("Purchase 3W") == 2  # one ledger row per purchase, with its transaction
    mails = [p.read_text() for p in Path(mail_dir).glob("*.log")]
    low_stock = [m for m in mails if "Low stock: Caneca Loja has 1 units left" in m]
    assert len(low_stock) == 1, mails
    assert "quinn@loja.example" in low_stock[0]

    page.goto("/m/loja/qr-express/")
    page.click("[data-testid=tab-purchases]")
    page.wait_for_url("**/qr-express/purchases/")
    purchases = page.inner_text("[data-testid=purchases]")
    assert "Olga Rodrigues" in purchases and "Rui Costa" in purchases
    assert "4646-846 Lisboa" in purchases
    product = QrProduct.objects.get()
    assert product.stock_units == 1
    assert Purchase.objects.filter(product=product, oversold_units=0).count() == 2
