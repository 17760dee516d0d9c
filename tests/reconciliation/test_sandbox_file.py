"""The sandbox writes a settlement file from its own settled transactions; with differences on
demand, each one lands on the status it is meant to show."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from reconciliation.models import LineStatus, SettlementLine
from sandbox.models import SandboxMerchant, SandboxOperation, SandboxPayment
from sandbox.settlement import fee_for, settlement_file
from tests.reconciliation.support import do_import, make_txn

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def gateway(world):
    merchant = SandboxMerchant.objects.create(client_id="c1", merchant_name="Loja", terminal_ids=[11111])
    for i, amount in enumerate(["10.00", "20.00", "30.00", "40.00"], start=1):
        p = SandboxPayment.objects.create(
            merchant=merchant,
            transaction_id=f"SBX{i}",
            merchant_transaction_id=f"order-{i}",
            terminal_id=11111,
            payment_type="PURS",
            payment_method="CARD" if i % 2 else "MBWAY",
            amount=Decimal(amount),
            status="Success",
            created_at=WHEN,
            executed_at=WHEN,
        )
        make_txn(world.t_lisboa, p.transaction_id, amount, merchant_transaction_id=p.merchant_transaction_id)
    SandboxOperation.objects.create(
        payment=p,
        kind="refund",
        transaction_id="SBXR",
        merchant_transaction_id="refund-4",
        payment_type="RFND",
        amount=Decimal("5.00"),
        status="Success",
        return_code="000",
        return_message="Success",
        created_at=WHEN,
    )
    make_txn(world.t_lisboa, "SBXR", "5.00", payment_type="RFND", state="succeeded", merchant_transaction_id="refund-4")
    # Not settled: pending, and a payment after the cut-off
    SandboxPayment.objects.create(
        merchant=merchant, transaction_id="PEND", terminal_id=11111, payment_type="PURS", amount=1, created_at=WHEN
    )
    SandboxPayment.objects.create(
        merchant=merchant,
        transaction_id="LATE",
        terminal_id=11111,
        payment_type="PURS",
        payment_method="CARD",
        amount=1,
        status="Success",
        created_at=WHEN,
        executed_at=datetime(2026, 12, 2, 0, 11, tzinfo=UTC),
    )
    return merchant


def test_a_clean_file_matches_every_line_with_fees(world, gateway):
    name, content = settlement_file(gateway, datetime(2026, 12, 2).date())
    assert name == "SIBS_Reconciliation_20261202001500.csv"
    lines = content.decode().splitlines()
    assert len(lines) == 5
    assert lines[0].split(";")[8:] == ["10.00", "0.19", "9.81", "EUR"]
    assert lines[-1].split(";")[8:] == ["-5.00", "0.00", "-5.00", "EUR"]
    with time_machine.travel(datetime(2026, 12, 2, 9, tzinfo=UTC), tick=False):
        result = do_import(world.loja, content, name=name)
    assert result.imported, result.errors
    assert set(SettlementLine.objects.values_list("status", flat=True)) == {LineStatus.MATCHED}


def test_every_deliberate_difference_shows_as_its_status(world, gateway):
    _, content = settlement_file(
        gateway, datetime(2026, 12, 2).date(), ("missing", "cent", "unknown", "duplicate", "currency")
    )
    with time_machine.travel(datetime(2026, 12, 2, 9, tzinfo=UTC), tick=False):
        result = do_import(world.loja, content)
    assert result.imported, result.errors
    by_id = {}
    for line in SettlementLine.objects.all():
        by_id.setdefault(line.sibs_transaction_id, []).append(line.status)
    assert "SBX1" not in by_id  # missing: left out of the file
    assert by_id["SBX2"] == [LineStatus.AMOUNT]
    assert by_id["SBX3"] == [LineStatus.CURRENCY]
    assert by_id["SBXUNKNOWN20261202"] == [LineStatus.MISSING_HERE]
    assert sorted(by_id["SBX4"]) == [LineStatus.DUPLICATE, LineStatus.MATCHED]


def test_fees_round_half_up_and_refunds_carry_none():
    assert fee_for("CARD", Decimal("10.00")) == Decimal("0.19")
    assert fee_for("MBWAY", Decimal("0.50")) == Decimal("0.00")
    assert fee_for("REFERENCE", Decimal("99.99")) == Decimal("0.35")
    assert fee_for("CARD", Decimal("-5.00")) == Decimal("0.00")


def test_the_download_refuses_unknown_differences(client, gateway, settings):
    settings.SANDBOX_ENABLED = True
    assert client.get("/sandbox/settlement-file?differences=everything").status_code == 400
    response = client.get("/sandbox/settlement-file?terminal=11111&date=2026-12-02&differences=cent")
    assert response.status_code == 200
    assert 'filename="SIBS_Reconciliation_20261202001500.csv"' in response["Content-Disposition"]
    assert b"20.01" in response.content


def test_the_daily_file_is_written_whole_into_the_sandbox_outbox(world, gateway, settings, tmp_path):
    from sandbox.settlement import write_daily_files

    settings.VAR_DIR = tmp_path
    (written,) = write_daily_files(datetime(2026, 12, 2).date())
    assert written.endswith(f"/sandbox/sftp/{gateway.pk}/SIBS_Reconciliation_20261202001500.csv")
    content = Path(written).read_bytes()
    assert content.count(b"\r\n") == 5
    assert not list(tmp_path.rglob("*.part"))
    # a day without settled payments writes nothing
    assert write_daily_files(datetime(2026, 11, 1).date()) == []
