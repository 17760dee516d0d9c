"""A refund or capture moves the payment's ``updated_at``, and ``updated_since`` finds it."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from payments.models import Transaction
from tests.payments.test_api_transactions import api, assert_error, key_for
from tests.payments.test_listing import make_txn


def test_a_change_after_the_payment_moves_updated_at_and_is_found_by_updated_since(world):
    key = key_for(world)
    old = make_txn(world, minutes_ago=120)
    untouched = make_txn(world, minutes_ago=90)
    long_ago = timezone.now() - timedelta(hours=1)
    Transaction.objects.filter(pk__in=[old.pk, untouched.pk]).update(changed_at=long_ago)
    mark = timezone.now() - timedelta(seconds=1)

    # a refund changes the payment's state and balances (the ledger saves the row)
    old.refresh_from_db()
    old.state = "partially_refunded"
    old.save(update_fields=["state"])

    client = api(key)
    body = client.get(f"/api/v1/transactions/{old.transaction_id}").json()
    assert body["updated_at"] >= mark.isoformat()[:19]
    rows = client.get("/api/v1/transactions", {"updated_since": mark.isoformat()}).json()["results"]
    assert [r["transaction_id"] for r in rows] == [old.transaction_id]
    # an unencoded "+" (a space by then) and "Z" are read as meant
    spaced = client.get("/api/v1/transactions?updated_since=" + mark.isoformat().replace("+", " ")).json()
    assert [r["transaction_id"] for r in spaced["results"]] == [old.transaction_id]
    zulu = mark.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    assert len(client.get("/api/v1/transactions", {"updated_since": zulu}).json()["results"]) == 1


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-12-08", "2026-12-08T10:00:00", "2026-13-40T99:00:00+00:00", "x" * 60]
)
def test_updated_since_needs_a_date_time_with_offset(world, value):
    error = assert_error(
        api(key_for(world)).get("/api/v1/transactions", {"updated_since": value}),
        400,
        "validation_error",
        "updated_since",
    )
    assert error["code"] == "invalid"
