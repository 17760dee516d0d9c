"""Every status from fixtures; idempotency; corrections; whole-or-nothing; tolerance; window."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from backoffice.models import AuditEvent
from payments.models import TransactionState
from reconciliation.models import (
    ExceptionAction,
    ExceptionKind,
    ExceptionState,
    ImportAttempt,
    ImportOutcome,
    LineStatus,
    ReconciliationException,
    ReconciliationSettings,
    SettlementFile,
    SettlementLine,
)
from reconciliation.services.importing import rematch
from tests.reconciliation.support import csv_bytes, do_import, line, make_txn

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    # The day after the file: nothing is overdue yet (2 business days).
    with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=False):
        yield


def status_of(merchant, transaction_id: str) -> str:
    return SettlementLine.objects.get(merchant=merchant, sibs_transaction_id=transaction_id, is_current=True).status


def test_every_line_status_is_reached(world):
    # given
    t = world.t_lisboa
    make_txn(t, "OK1", "20.00")
    make_txn(t, "AMT", "19.99")
    make_txn(t, "CUR", "20.00", currency="USD")
    make_txn(t, "DEC", "20.00", state=TransactionState.DECLINED)
    make_txn(world.t_porto, "TRM", "20.00")
    make_txn(t, "OTHERID", "20.00", merchant_transaction_id="order-BYORDER")
    data = csv_bytes(
        line("OK1"),
        line("AMT"),
        line("CUR"),
        line("DEC"),
        line("TRM"),
        line("UNKNOWN"),
        line("BYORDER"),
        line("OK1"),
    )
    # when
    result = do_import(world.loja, data)
    # then
    assert result.imported, result.errors
    assert status_of(world.loja, "OK1") == LineStatus.MATCHED
    assert status_of(world.loja, "AMT") == LineStatus.AMOUNT
    assert status_of(world.loja, "CUR") == LineStatus.CURRENCY
    assert status_of(world.loja, "DEC") == LineStatus.STATUS
    assert status_of(world.loja, "TRM") == LineStatus.TERMINAL
    assert status_of(world.loja, "UNKNOWN") == LineStatus.MISSING_HERE
    assert status_of(world.loja, "BYORDER") == LineStatus.MATCHED
    dup = SettlementLine.objects.get(file=result.file, line_number=8)
    assert dup.status == LineStatus.DUPLICATE and not dup.is_current
    assert dup.related_line.line_number == 1
    amt = SettlementLine.objects.get(merchant=world.loja, sibs_transaction_id="AMT")
    assert amt.amount_delta == Decimal("0.01")
    kinds = sorted(ReconciliationException.objects.filter(state="open").values_list("kind", flat=True))
    assert kinds == sorted(
        [
            ExceptionKind.AMOUNT,
            ExceptionKind.CURRENCY,
            ExceptionKind.STATUS,
            ExceptionKind.TERMINAL,
            ExceptionKind.MISSING_HERE,
            ExceptionKind.DUPLICATE,
        ]
    )
    assert result.file.exception_count == 6
    assert result.file.line_count == 8
    assert result.file.gross_total == Decimal("160.00")
    assert ExceptionAction.objects.filter(action="opened").count() == 6
    assert AuditEvent.objects.filter(action="reconciliation.file_imported").count() == 1


def test_the_same_file_twice_is_one_import(world):
    make_txn(world.t_lisboa, "A1")
    data = csv_bytes(line("A1"), line("ZZ"))
    first = do_import(world.loja, data)
    second = do_import(world.loja, data)
    assert first.imported
    assert second.outcome == ImportOutcome.ALREADY_IMPORTED and second.file == first.file
    assert SettlementFile.objects.count() == 1
    assert SettlementLine.objects.count() == 2
    assert ReconciliationException.objects.count() == 1


def test_a_resent_file_under_another_name_counts_no_money_twice(world):
    make_txn(world.t_lisboa, "A1")
    data = csv_bytes(line("A1"))
    do_import(world.loja, data)
    again = do_import(world.loja, data, name="SIBS_Reconciliation_20261202050000.csv")
    assert again.imported
    resent = SettlementLine.objects.get(file=again.file)
    assert resent.status == LineStatus.RESENT and not resent.is_current
    assert SettlementLine.objects.filter(is_current=True).count() == 1
    assert not ReconciliationException.objects.exists()


def test_the_same_transaction_in_another_payout_is_a_duplicate(world):
    make_txn(world.t_lisboa, "A1")
    do_import(world.loja, csv_bytes(line("A1")))
    later = do_import(
        world.loja,
        csv_bytes(line("A1", payout="PAY-20261203", settlement_date="2026-12-03")),
        name="SIBS_Reconciliation_20261203001500.csv",
    )
    dup = SettlementLine.objects.get(file=later.file)
    assert dup.status == LineStatus.DUPLICATE and not dup.is_current
    assert ReconciliationException.objects.get().kind == ExceptionKind.DUPLICATE


def test_a_corrected_file_changes_only_what_changed(world):
    # given a file with a one-cent difference on one line
    make_txn(world.t_lisboa, "A1", "20.00")
    make_txn(world.t_lisboa, "B1", "10.00")
    first = do_import(world.loja, csv_bytes(line("A1", "20.01", "0.30"), line("B1", "10.00", "0.10")))
    exception = ReconciliationException.objects.get()
    assert exception.kind == ExceptionKind.AMOUNT
    b_line = SettlementLine.objects.get(file=first.file, sibs_transaction_id="B1")
    # when SIBS sends a corrected file for the same payout
    second = do_import(
        world.loja,
        csv_bytes(line("A1", "20.00", "0.30"), line("B1", "10.00", "0.10")),
        name="SIBS_Reconciliation_20261202060000.csv",
    )
    # then the corrected line replaces the old one, the unchanged line stays where it was
    assert second.file.superseding_count == 1
    assert status_of(world.loja, "A1") == LineStatus.MATCHED
    old = SettlementLine.objects.get(file=first.file, sibs_transaction_id="A1")
    assert old.status == LineStatus.SUPERSEDED and old.related_line.file == second.file
    assert SettlementLine.objects.get(merchant=world.loja, sibs_transaction_id="B1", is_current=True) == b_line
    assert SettlementLine.objects.filter(is_current=True).count() == 2
    exception.refresh_from_db()
    assert exception.state == ExceptionState.RESOLVED and exception.resolution == "auto"
    assert list(exception.actions.values_list("action", flat=True)) == ["opened", "auto_resolved"]


def test_a_bad_file_leaves_nothing_behind(world):
    make_txn(world.t_lisboa, "A1")
    data = csv_bytes(line("A1"), "2026-12-02;PAY;B1", line("C1", "1.00", "0.10", net="0.80"))
    result = do_import(world.loja, data)
    assert result.outcome == ImportOutcome.REFUSED
    assert [(e.line, e.message[:12]) for e in result.errors] == [(2, "3 columns wh"), (3, "gross - fee ")]
    assert not SettlementFile.objects.exists()
    assert not SettlementLine.objects.exists()
    assert not ReconciliationException.objects.exists()
    attempt = ImportAttempt.objects.get()
    assert attempt.outcome == ImportOutcome.REFUSED and attempt.error_count == 2
    # and the same file fixed imports fine afterwards
    assert do_import(world.loja, csv_bytes(line("A1"))).imported


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe2\x000\x002\x006\x00", "not UTF-8"),
        (b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n", "no PGP private key"),
    ],
)
def test_empty_wrongly_encoded_and_keyless_pgp_files_are_refused(world, data, reason):
    result = do_import(world.loja, data)
    assert result.outcome == ImportOutcome.REFUSED
    assert reason in result.errors[0].message
    assert not SettlementLine.objects.exists()


def test_tolerance_matches_small_differences(world):
    ReconciliationSettings.objects.create(merchant=world.loja, tolerance=Decimal("0.02"))
    make_txn(world.t_lisboa, "A1", "19.99")
    make_txn(world.t_lisboa, "B1", "19.97")
    do_import(world.loja, csv_bytes(line("A1"), line("B1")))
    a1 = SettlementLine.objects.get(sibs_transaction_id="A1")
    assert (a1.status, a1.match_method, a1.reconciled) == (LineStatus.MATCHED, "tolerance", True)
    assert status_of(world.loja, "B1") == LineStatus.AMOUNT


def test_a_late_notification_rematches(world):
    do_import(world.loja, csv_bytes(line("LATE")))
    exception = ReconciliationException.objects.get()
    assert exception.kind == ExceptionKind.MISSING_HERE
    # the transaction arrives afterwards
    make_txn(world.t_lisboa, "LATE")
    rematch(merchant=world.loja)
    assert status_of(world.loja, "LATE") == LineStatus.MATCHED
    exception.refresh_from_db()
    assert exception.state == ExceptionState.RESOLVED


def test_refunds_settle_as_negative_lines(world):
    payment = make_txn(world.t_lisboa, "P1", "20.00", state=TransactionState.PARTIALLY_REFUNDED)
    make_txn(
        world.t_lisboa,
        "R1",
        "5.00",
        payment_type="RFND",
        state=TransactionState.SUCCEEDED,
        original=payment,
        merchant_transaction_id="refund-1",
    )
    do_import(world.loja, csv_bytes(line("P1"), line("R1", "-5.00", "0.00", payment_type="RFND", mtid="refund-1")))
    assert status_of(world.loja, "P1") == LineStatus.MATCHED
    assert status_of(world.loja, "R1") == LineStatus.MATCHED


def test_expected_until_n_business_days_then_missing(world):
    # Tuesday 1 December 2026 is a public holiday (Restoration of Independence), 8 December too.
    make_txn(world.t_lisboa, "LATE", transaction_datetime=datetime(2026, 11, 30, 12, tzinfo=UTC))
    make_txn(world.t_lisboa, "A1")
    do_import(world.loja, csv_bytes(line("A1")))  # sets the window's start on 1 December
    ReconciliationSettings.objects.filter(merchant=world.loja).update(expected_from="2026-11-30")
    # Monday 30 November + 2 business days (2 Dec, 3 Dec): expected until the end of Thursday 3rd.
    with time_machine.travel(datetime(2026, 12, 3, 23, 0, tzinfo=UTC), tick=False):
        rematch(merchant=world.loja)
    assert not ReconciliationException.objects.filter(kind=ExceptionKind.MISSING_IN_SETTLEMENT).exists()
    with time_machine.travel(datetime(2026, 12, 4, 8, 0, tzinfo=UTC), tick=False):
        rematch(merchant=world.loja)
    missing = ReconciliationException.objects.get(kind=ExceptionKind.MISSING_IN_SETTLEMENT)
    assert missing.transaction.transaction_id == "LATE"
    assert str(missing.value_date) == "2026-11-30"
    # a later file settles it: the exception closes itself
    with time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False):
        do_import(
            world.loja,
            csv_bytes(line("LATE", when="2026-11-30T12:00:00Z", payout="P2", settlement_date="2026-12-04")),
            name="SIBS_Reconciliation_20261204001500.csv",
        )
    missing.refresh_from_db()
    assert missing.state == ExceptionState.RESOLVED


def test_another_merchants_transaction_is_never_matched(world):
    make_txn(world.t_outra, "THEIRS")
    do_import(world.loja, csv_bytes(line("THEIRS")))
    assert status_of(world.loja, "THEIRS") == LineStatus.MISSING_HERE


def test_text_is_stored_exactly_as_the_file_has_it(world):
    weird = 'PAY\\2026;"x"'
    data = csv_bytes(line("A\\1", terminal="", payout='"PAY\\2026;""x"""', mtid="ordem-ç"))
    result = do_import(world.loja, data)
    assert result.imported, result.errors
    stored = SettlementLine.objects.get()
    assert (stored.sibs_transaction_id, stored.payout_reference, stored.merchant_transaction_id) == (
        "A\\1",
        weird,
        "ordem-ç",
    )
    assert stored.terminal_number is None
