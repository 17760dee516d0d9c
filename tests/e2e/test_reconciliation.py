"""A Finance user uploads the sandbox's settlement file with a difference, sees the payout,
opens the amount exception, resolves it with a reason, and the payout becomes reconciled."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from playwright.sync_api import expect

from reconciliation.models import ExceptionState, ReconciliationException
from sandbox.models import SandboxMerchant, SandboxPayment
from sandbox.settlement import settlement_file
from tests.factories import PASSWORD
from tests.reconciliation.support import make_txn

WHEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_finance_reconciles_a_payout_with_an_amount_difference(e2e_world, new_page, tmp_path):
    world = e2e_world
    gateway = SandboxMerchant.objects.create(client_id="e2e", merchant_name="Loja", terminal_ids=[11111])
    for i, amount in enumerate(["10.00", "20.00", "30.00"], start=1):
        SandboxPayment.objects.create(
            merchant=gateway,
            transaction_id=f"SBXE2E{i}",
            merchant_transaction_id=f"order-{i}",
            terminal_id=11111,
            payment_type="PURS",
            payment_method="CARD",
            amount=Decimal(amount),
            status="Success",
            created_at=WHEN,
            executed_at=WHEN,
        )
        make_txn(world.t_lisboa, f"SBXE2E{i}", amount, merchant_transaction_id=f"order-{i}")
    name, content = settlement_file(gateway, date(2026, 12, 2), ("cent",))
    path = tmp_path / name
    path.write_bytes(content)

    page = new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", world.fiona.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/loja/transactions/")

    # upload
    page.goto("/m/loja/reconciliation/files/")
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-testid=upload] button[type=submit]")
    page.wait_for_url("**/m/loja/reconciliation/payouts/")
    payout = page.locator("[data-testid=payouts] tbody tr").first
    expect(payout).to_contain_text("SBX-20261202")
    expect(payout.locator("[data-testid=payout-state]")).to_have_text("Not reconciled")
    expect(payout).to_contain_text("66 %")  # rounded down: 100 % only when all are

    # the payout's lines, then the exception
    payout.locator("a").first.click()
    expect(page.locator("[data-line=SBXE2E2]")).to_contain_text("Amount difference")
    page.goto("/m/loja/reconciliation/exceptions/?state=open&kind=amount_difference")
    rows = page.locator("[data-testid=exceptions] tbody tr[data-exception]")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    expect(page.locator("[data-testid=explanation]")).to_contain_text("gross amount: €20.01 in the file, €20.00 here")

    # resolve with a reason
    page.check("input[name=resolution][value=accepted]")
    page.select_option("select[name=reason]", "fee_adjustment")
    page.fill("textarea[name=comment]", "SIBS confirmed the extra cent")
    page.click("[data-testid=resolve] button[type=submit]")
    expect(page.locator("[data-testid=exception-summary]")).to_have_attribute("data-state", "resolved")
    expect(page.locator("[data-testid=history]")).to_contain_text("SIBS confirmed the extra cent")

    page.goto("/m/loja/reconciliation/payouts/")
    expect(page.locator("[data-testid=payouts] tbody tr").first.locator("[data-testid=payout-state]")).to_have_text(
        "Reconciled"
    )
    exception = ReconciliationException.objects.get()
    assert exception.state == ExceptionState.RESOLVED and exception.resolution_reason == "fee_adjustment"
