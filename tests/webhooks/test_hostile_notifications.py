"""Notifications we acknowledged always become a row an operator can see, and no date or string
in one can break a merchant's pages."""

from __future__ import annotations

import pytest

from payments.models import Transaction
from tests.webhooks.support import add_secret, deliver, inbound_path, notification, post_encrypted, processing
from webhooks.models import InboundNotification, InboundState

pytestmark = pytest.mark.django_db


def _pages_answer(client, txn: Transaction) -> None:
    base = "/m/loja/transactions/"
    for url in (
        base,
        f"{base}{txn.transaction_id}/",
        f"{base}{txn.transaction_id}/live/",
    ):
        assert client.get(url).status_code == 200, url
    listed = client.get("/api/v1/transactions")
    assert listed.status_code == 200, listed.content
    assert txn.transaction_id in [row["transaction_id"] for row in listed.json()["results"]]
    detail = client.get(f"/api/v1/transactions/{txn.transaction_id}")
    assert detail.status_code == 200, detail.content


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "1970-01-01T00:00:00Z"])
def test_an_impossible_date_is_kept_raw_flagged_and_never_shown(world, login, moment):
    # given an authenticated notification dated year 1 (or 9999, or 1970)
    outcome = deliver(world.loja, notification(transactionDateTime=moment))
    # then it is a transaction, flagged, with no SIBS date, the date kept in the payload
    assert outcome == "processed"
    txn = Transaction.objects.get()
    assert txn.transaction_datetime is None
    assert any("transactionDateTime" in warning for warning in txn.warnings)
    assert txn.last_payload["transactionDateTime"] == moment
    # and every page holding it answers
    _pages_answer(login(world.alice), txn)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "overrides",
    [
        {"returnStatus": {"statusMsg": "Suc\u0000cess", "statusCode": "000"}},
        {"merchant": {"transactionId": "order-nul", "terminalId": 11111, "merchantName": "Lo\u0000ja"}},
        {"someNewField": "a\u0000b"},
        {"someNewField": {"ke\u0000y": "\ud800x"}},
        {"paymentStatus": "S" * 41},
        {"paymentMethod": "M" * 300, "paymentType": "P" * 41},
    ],
)
def test_an_acknowledged_notification_always_becomes_a_row(
    world, client, login, overrides, django_capture_on_commit_callbacks
):
    # given an authenticated notification with NUL, a lone surrogate or an over-long enum value
    secret = add_secret(world.loja)
    payload = notification(**overrides)
    with processing(django_capture_on_commit_callbacks):
        response = post_encrypted(client, inbound_path(world.loja), secret, payload)
    # then it was acknowledged, stored and processed into a visible, flagged transaction
    assert response.status_code == 200
    assert InboundNotification.objects.get().state == InboundState.PROCESSED
    txn = Transaction.objects.get(transaction_id=payload["transactionID"])
    assert txn.warnings, "the cleaning is flagged on the transaction"
    assert "\u0000" not in str(txn.last_payload)
    if "paymentStatus" in overrides:
        assert txn.payment_status == "unknown" and txn.last_payload["paymentStatus"] == "S" * 41
    _pages_answer(login(world.alice), txn)
