from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import Transaction

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def extract_storage(settings, tmp_path):
    """Files of each test in their own directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "extracts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "extracts")},
        },
    }
    return tmp_path / "extracts"


def make_txn(world, *, terminal=None, minutes_ago: float = 0, **fields) -> Transaction:
    n = next(_n)
    terminal = terminal if terminal is not None else world.t_lisboa
    at = fields.pop("created_at", timezone.now() - timedelta(minutes=minutes_ago))
    values = {
        "transaction_id": f"s2x{n:012d}",
        "merchant_transaction_id": f"order-{n}",
        "payment_method": "MBWAY",
        "payment_type": "PURS",
        "payment_status": "Success",
        "state": "paid",
        "amount": Decimal("10.00"),
        "currency": "EUR",
        "captured_amount": Decimal("10.00"),
        "authorised_amount": Decimal("10.00"),
        **fields,
    }
    return Transaction.objects.create(
        merchant=terminal.store.merchant,
        store=terminal.store,
        terminal=terminal,
        terminal_number=terminal.terminal_id,
        created_at=at,
        updated_at=at,
        transaction_datetime=at,
        **values,
    )
