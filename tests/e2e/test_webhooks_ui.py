"""Outbound webhooks in a real browser: create one, copy its key, test it, see which one applies."""

from __future__ import annotations

import pytest

from tests.factories import give_totp, totp_now
from tests.webhooks.endpoint import LoopbackEndpoint
from webhooks.models import OutboundWebhook


@pytest.fixture
def loopback_allowed(settings):
    # Development rules: the merchant's endpoint here is on 127.0.0.1, over plain http.
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_ALLOW_HTTP = True


def sign_in_with_totp(page, user):
    secret = give_totp(user)
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/**")


def create_webhook(page, *, name, scope, url, types):
    page.goto("/m/loja/webhooks/")
    page.click("[data-testid=new-webhook]")
    page.fill("#id_name", name)
    page.select_option("#id_scope", scope)
    for value in types:
        page.check(f"input[name=notification_types][value={value}]")
    page.fill("#id_url", url)
    page.fill("#id_failure_email", "ops@loja.example")
    page.click("[data-testid=save-webhook]")


def test_an_administrator_creates_tests_and_resolves_webhooks(e2e_world, new_page, loopback_allowed):
    world = e2e_world
    page = new_page()
    sign_in_with_totp(page, world.adam)

    with LoopbackEndpoint(key="") as endpoint:
        # an Administrator creates a URL webhook for the whole merchant with the suggested key
        create_webhook(page, name="ERP", scope="merchant", url=endpoint.url, types=["mbway", "card"])
        page.wait_for_selector("[data-testid=new-key]")
        key = page.inner_text("[data-testid=key-value]").strip()
        webhook = OutboundWebhook.objects.get(name="ERP")
        assert key == webhook.encryption_key and len(key) == 44
        # the merchant's system is configured with that key
        endpoint.key = key

        # the key is gone once the page is left
        page.click("text=Continue to the webhook")
        assert key not in page.content()
        assert webhook.key_hint in page.inner_text("[data-testid=key-hint]")

        # a test notification is encrypted, posted, decrypted and acknowledged
        page.click("[data-testid=send-test]")
        page.wait_for_selector("[data-verdict=acknowledged]")
        verdict = page.inner_text("[data-testid=test-verdict]")
        assert "Acknowledged" in verdict and "200" in verdict
        assert len(endpoint.received) == 1 and endpoint.received[0]["paymentMethod"] == "MBWAY"

    # a webhook for the Lisboa terminal, then: which one applies there?
    create_webhook(
        page,
        name="Lisboa till",
        scope=f"terminal:{world.t_lisboa.pk}",
        url="http://127.0.0.1:9/till",
        types=["mbway"],
    )
    page.wait_for_selector("[data-testid=new-key]")
    page.goto("/m/loja/webhooks/")
    page.click("[data-testid=resolution-link]")
    page.select_option("#id_terminal", f"terminal:{world.t_lisboa.pk}")
    page.select_option("#id_notification_type", "mbway")
    page.click("[data-testid=resolution-form] button[type=submit]")
    page.wait_for_selector("[data-testid=resolution]")
    assert page.inner_text("[data-testid=winner]") == "Lisboa till"
    assert "terminal webhook wins over store and merchant ones" in page.inner_text("[data-testid=reason]")
    rows = page.inner_text("[data-testid=resolution-rows]")
    assert "Lisboa till" in rows and "ERP" in rows
    assert page.locator("[data-testid=resolution-rows] tr[data-verdict=shadowed]").inner_text().count("ERP") == 1
