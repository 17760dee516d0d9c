"""Builders for settlement files and the transactions they settle."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from backoffice.audit import Actor
from payments.models import Transaction, TransactionState
from reconciliation.services.importing import settlement_file_import

DAY = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


def make_txn(terminal, transaction_id: str, amount: str = "20.00", **fields) -> Transaction:
    defaults = {
        "merchant": terminal.merchant,
        "store": terminal.store,
        "terminal": terminal,
        "terminal_number": terminal.terminal_id,
        "transaction_id": transaction_id,
        "merchant_transaction_id": f"order-{transaction_id}",
        "payment_method": "CARD",
        "payment_type": "PURS",
        "payment_status": "Success",
        "state": TransactionState.PAID,
        "amount": Decimal(amount),
        "currency": "EUR",
        "transaction_datetime": DAY,
        "created_at": DAY,
    }
    defaults.update(fields)
    return Transaction.objects.create(**defaults)


def line(
    transaction_id: str,
    gross: str = "20.00",
    fee: str = "0.30",
    *,
    net: str | None = None,
    terminal: int | str = 11111,
    payout: str = "PAY-20261202",
    settlement_date: str = "2026-12-02",
    mtid: str | None = None,
    currency: str = "EUR",
    payment_type: str = "PURS",
    when: str = "2026-12-01T10:30:00Z",
) -> str:
    net_value = net if net is not None else str(Decimal(gross) - Decimal(fee))
    return ";".join(
        [
            settlement_date,
            payout,
            transaction_id,
            mtid if mtid is not None else f"order-{transaction_id}",
            str(terminal),
            when,
            "CARD",
            payment_type,
            gross,
            fee,
            net_value,
            currency,
        ]
    )


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def do_import(merchant, data: bytes, name: str = "SIBS_Reconciliation_20261202001500.csv", **kwargs):
    return settlement_file_import(
        merchant=merchant, name=name, stream=io.BytesIO(data), actor=kwargs.pop("actor", Actor()), **kwargs
    )
