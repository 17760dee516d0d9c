"""An Administrator enables MB WAY on a terminal, runs Check with SIBS against the sandbox (over
real HTTP on the live server), sees its answer on the matrix, and requests XPAY for a store."""

from __future__ import annotations

from django.core import mail

from payments.methods.models import MethodRequest, MethodSetting
from payments.models import ApiRootPreset
from payments.services import gateway
from sandbox.gateway import KNOWN_METHODS
from sandbox.models import SandboxMerchant
from sandbox.services import terminal_methods_set
from tests.e2e.test_refund import sign_in
from tests.factories import give_totp
from tests.payments.ops_support import make_gateway


def test_an_administrator_checks_a_terminal_with_sibs_and_requests_xpay(e2e_world, new_page, live_server, settings):
    world = e2e_world
    settings.PLATFORM_SUPPORT_EMAIL = "support@platform.example"
    gw = make_gateway(world)
    gw.credential.api_root_preset = ApiRootPreset.CUSTOM
    gw.credential.custom_api_root = f"{live_server.url}/sandbox/api/v2"
    gw.credential.save()
    gateway._clients.clear()
    # the gateway has MB WAY and card active for terminal 11111
    terminal_methods_set(
        merchant=SandboxMerchant.objects.get(), terminal_id=11111, methods=["MBWAY", "CARD"], known=KNOWN_METHODS
    )

    page = new_page()
    sign_in(page, "adam@loja.example", give_totp(world.adam))
    page.goto("/m/loja/payment-methods/")

    # enable MB WAY on the Lisboa terminal
    page.click('tr[data-terminal="11111"] td[data-method="MBWAY"] a')
    page.select_option("[data-testid=method-setting-form] select[name=enabled]", "on")
    page.click("[data-testid=method-setting-form] button[type=submit]")
    page.wait_for_selector("text=MB WAY saved.")
    cell = page.locator('tr[data-terminal="11111"] td[data-method="MBWAY"]')
    assert cell.get_attribute("data-enabled") == "yes" and cell.get_attribute("data-inherited") == "no"
    assert MethodSetting.objects.get().terminal == world.t_lisboa

    # Check with SIBS: the sandbox answers MB WAY and card
    page.click("[data-testid=check-11111]")
    page.wait_for_selector("text=Active at SIBS but not offered here: Card.")
    row = page.locator('tr[data-terminal="11111"]')
    assert row.locator("[data-testid=active-at-sibs]").inner_text() == "MBWAY, CARD"
    assert row.locator('td[data-method="CARD"]').get_attribute("data-flag") == "not_here"
    assert row.locator('td[data-method="MBWAY"]').get_attribute("data-flag") is None

    # request XPAY for the Porto store
    page.click("[data-testid=request-new]")
    form = page.locator("[data-testid=request-form]")
    form.locator("select[name=method]").select_option("XPAY")
    form.locator(f'input[name=stores][value="{world.porto.pk}"]').check()
    form.locator("input[name=expected_volume]").fill("200 payments a month")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=the platform team will write to you at each step")
    requests_panel = page.locator("[data-testid=method-requests]")
    assert "XPAY" in requests_panel.inner_text() and "Requested" in requests_panel.inner_text()
    request = MethodRequest.objects.get()
    assert list(request.stores.all()) == [world.porto] and request.requested_by == world.adam
    assert any(m.to == ["support@platform.example"] for m in mail.outbox)
