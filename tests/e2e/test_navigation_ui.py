"""Back from a transaction to the list as it was; confirmations in the backoffice's own dialog."""

from __future__ import annotations

from tests.e2e.test_onboarding import sign_in
from tests.factories import give_totp, totp_now
from tests.payments.test_listing import make_txn


def _owner(page, world):
    secret = give_totp(world.alice)
    sign_in(page, "alice@loja.example")
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/transactions/")


def test_back_from_a_transaction_returns_to_the_filtered_list(e2e_world, new_page):
    make_txn(e2e_world, transaction_id="s2backlink0000000001", merchant_transaction_id="ORD-261208-0042")
    make_txn(e2e_world, transaction_id="s2backlink0000000002", merchant_transaction_id="WEB-1")
    page = new_page()
    _owner(page, e2e_world)
    page.goto("/m/loja/transactions/?q=ORD-2612")
    page.click("text=s2backlink0000000001")
    page.wait_for_url("**/transactions/s2backlink0000000001/")
    page.click("[data-testid=back-to-list]")
    page.wait_for_url("**/m/loja/transactions/?q=ORD-2612")
    rows = page.locator("[data-testid=txn-row]")
    assert rows.count() == 1 and rows.first.get_attribute("data-txn") == "s2backlink0000000001"


def test_remove_asks_in_a_dialog_and_cancel_keeps_the_person(e2e_world, new_page):
    page = new_page()
    _owner(page, e2e_world)
    page.goto("/m/loja/users/")
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    row = page.locator("[data-testid=members] tr", has_text="bob@loja.example")
    row.locator("button", has_text="Remove").click()
    dialog = page.locator("[data-testid=confirm-dialog]")
    assert dialog.is_visible() and "Remove this person" in dialog.inner_text()
    dialog.locator("[data-confirm-no]").click()
    assert not dialog.is_visible() and native == []
    e2e_world.m_bob.refresh_from_db()
    assert e2e_world.m_bob.is_active
    row.locator("button", has_text="Remove").click()
    dialog.locator("[data-confirm-yes]").click()
    page.wait_for_selector("text=no longer has access")
    e2e_world.m_bob.refresh_from_db()
    assert not e2e_world.m_bob.is_active
