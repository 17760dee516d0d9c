"""Onboarding and access, as people see them in a real browser."""

from __future__ import annotations

import re

from django.core import mail

from tests.factories import PASSWORD, give_totp, totp_now
from tests.payments.ops_support import make_gateway


def sign_in(page, email, password=PASSWORD):
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_owner_signs_in_with_totp_and_invites_someone_who_activates(e2e_world, new_page):
    world = e2e_world
    secret = give_totp(world.alice)

    # the Owner signs in with password and TOTP
    owner = new_page()
    sign_in(owner, "alice@loja.example")
    owner.wait_for_url("**/accounts/2fa/authenticate/")
    owner.fill("input[name=code]", totp_now(secret))
    owner.click("button[type=submit]")
    owner.wait_for_url("**/m/loja/transactions/")

    # and invites Nina as Finance from the Users page
    owner.click("[data-nav=users]")
    owner.fill("#id_email", "nina@loja.example")
    owner.select_option("#id_role", "finance")
    owner.click("[data-testid=invite-form] button[type=submit]")
    owner.wait_for_selector("text=Invitation sent to nina@loja.example")
    assert owner.locator("[data-testid=members]").inner_text().count("Waiting for activation") == 1

    # Nina reads the code in her e-mail
    assert len(mail.outbox) == 1
    code = re.search(r"activation code: ([A-Z0-9-]+)", mail.outbox[0].body).group(1)

    # and activates from the login page
    nina = new_page()
    nina.goto("/accounts/login/")
    nina.click("[data-testid=activate-link]")
    nina.fill("#id_email", "nina@loja.example")
    nina.fill("#id_code", code.lower())
    nina.fill("#id_password1", "a-long-and-new-password")
    nina.fill("#id_password2", "a-long-and-new-password")
    nina.click("button[type=submit]")
    nina.wait_for_url("**/m/loja/transactions/")
    assert "Your account is active" in nina.inner_text("main")
    nav = nina.inner_text("nav.sidenav")
    assert "Extracts" in nav and "Reconciliation" in nav and "Users" not in nav

    # the Owner sees her active now
    owner.reload()
    assert "Waiting for activation" not in owner.locator("[data-testid=members]").inner_text()


def test_wrong_code_is_explained_on_the_page(e2e_world, new_page):
    from backoffice import services
    from backoffice.access import Access
    from backoffice.audit import Actor
    from backoffice.roles import Role

    services.user_invite(
        access=Access.for_membership(e2e_world.m_alice),
        actor=Actor(user=e2e_world.alice),
        email="nina@loja.example",
        role=Role.VIEWER,
    )
    page = new_page()
    page.goto("/activate/?email=nina@loja.example")
    assert page.input_value("#id_email") == "nina@loja.example"
    page.fill("#id_code", "WRONG-CODE1")
    page.fill("#id_password1", "a-long-and-new-password")
    page.fill("#id_password2", "a-long-and-new-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=The e-mail or the activation code is not correct.")


def test_viewer_sees_no_user_management_nor_money_moving_entries(e2e_world, new_page):
    page = new_page()
    sign_in(page, "victor@loja.example")
    page.wait_for_url("**/m/loja/transactions/")
    nav = page.inner_text("nav.sidenav")
    for hidden in ["Users", "API keys", "Audit", "Webhooks", "Payment methods", "Extracts"]:
        assert hidden not in nav
    assert "Transactions" in nav and "Dashboards" in nav
    money = re.compile("refund|capture|cancel", re.I)
    # The list's filter tabs ("Refunded", "To capture") are links too; money moves only
    # through the action controls of a payment's page.
    assert page.get_by_role("button", name=money).count() == 0
    assert page.locator("a[href*='/refund/'], a[href*='/capture/'], a[href*='/cancel/']").count() == 0

    txn = make_gateway(e2e_world).paid(amount="50.00")
    page.goto(f"/m/loja/transactions/{txn.transaction_id}/")
    assert txn.transaction_id in page.inner_text("main")
    assert page.get_by_role("button", name=money).count() == 0
    assert page.locator("[data-testid^=op-open-], [data-testid^=op-dialog-]").count() == 0
    assert page.locator("form[action*='/refund/'], form[action*='/capture/'], form[action*='/cancel/']").count() == 0
    # typing the address does not help
    response = page.goto("/m/loja/users/")
    assert response.status == 403


def test_operator_without_totp_is_sent_to_set_it_up(e2e_world, new_page):
    page = new_page()
    sign_in(page, "bob@loja.example")
    page.wait_for_url("**/accounts/2fa/totp/activate/?required=1")
    assert page.locator("input[name=code]").count() == 1


def test_language_switch_to_portuguese(e2e_world, new_page):
    page = new_page()
    page.goto("/accounts/login/")
    # choosing a language submits the form: wait for the page it leads to, not just any load
    with page.expect_navigation(url="**/accounts/login/"):
        page.select_option("[data-testid=language-switch]", "pt")
    assert page.locator("[data-testid=activate-link]").inner_text() == "Ativar a sua conta"
