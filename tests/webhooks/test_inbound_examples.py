"""Every SIBS example notification (seed 002, examples 3 to 18), encrypted as SIBS does and
posted to the inbound URL, is acknowledged, stored and turned into the right transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from backoffice.models import Store, Terminal
from payments.models import Transaction
from tests.payments.sibs.helpers import EXAMPLE_NUMBERS, example_bytes, example_dict
from tests.webhooks.support import add_secret, inbound_path, post_encrypted, processing
from webhooks.models import InboundNotification, InboundState

# What each example must become. Terminals 99978, 88845… are the examples' own; they are created
# for the merchant below, so terminal resolution is checked too.
EXPECTED: dict[int, dict] = {
    3: {
        "payment_method": "MBWAY",
        "payment_type": "PURS",
        "payment_status": "Success",
        "state": "paid",
        "amount": Decimal("16.20"),
        "currency": "EUR",
        "merchant_transaction_id": "863b730df285443ca404e0085fw234",
        "internal_transaction_id": "S14073500001359S",
        "terminal_number": 99978,
        "token_type": "MobilePhone",
        "mbway_alias_masked": "351#*****5678",
        "return_code": "000",
        "captured_amount": Decimal("16.20"),
        "transaction_datetime": datetime(2022, 11, 11, 16, 18, 53, 127000, tzinfo=UTC),
    },
    4: {
        "payment_status": "Declined",
        "state": "declined",
        "return_code": "01.106.0004",
        "return_message": "Declined",
        "mbway_alias_masked": "351#*****5500",
        "captured_amount": Decimal("0"),
    },
    5: {
        "payment_type": "AUTH",
        "state": "authorised",
        "amount": Decimal("1.96"),
        "mandate_id": "12345690656800744652",
        "mandate_action": "CRTN",
        "mandate_action_status": "SCCS",
        "mandate_type": "SBSC",
        "mandate_client_name": "Andresa COS",
        "mbway_alias_masked": "351#*****1580",
        "authorised_amount": Decimal("1.96"),
        "captured_amount": Decimal("0"),
    },
    6: {"state": "paid", "amount": Decimal("15.20"), "token_masked": "351#*****2314", "terminal_number": 99978},
    7: {
        "payment_method": "MANDATE",
        "payment_type": "CAUT",
        "payment_status": "Success",
        # An annulment that says Success is not a payment.
        "state": "succeeded",
        "original_unresolved": True,
        "captured_amount": Decimal("0"),
        "terminal_number": 96546,
    },
    8: {"payment_type": "CAUT", "payment_status": "Declined", "state": "declined", "return_code": "10.106.2662"},
    9: {
        "payment_method": "STATIC_QRCODE",
        "state": "paid",
        "amount": Decimal("1.60"),
        "merchant_transaction_id": None,
        "qr_code_id": "7ecf9d4e23334f7da6cb",
        "terminal_number": 46431,
    },
    10: {
        "payment_method": "REFERENCE",
        "payment_type": "PREF",
        "payment_status": "Success",
        "state": "awaiting_payment",
        "amount": Decimal("20.00"),
        "reference_entity": "40200",
        "reference_number": "256309828",
        "reference_payment_entity": "40200",
        "reference_amount": Decimal("20.00"),
        "reference_status": "UNPAID",
        "reference_expiry": datetime(2022, 1, 23, 10, 48, 39, 153000, tzinfo=UTC),
        "captured_amount": Decimal("0"),
        "terminal_number": 88845,
    },
    11: {
        "payment_method": "REFERENCE",
        "payment_type": "PREF",
        "state": "paid",
        "reference_status": "PAID",
        "reference_paid_at": datetime(2022, 12, 23, 10, 48, 39, 153000, tzinfo=UTC),
        "captured_amount": Decimal("20.00"),
    },
    12: {"payment_method": "CARD", "payment_type": "PURS", "state": "paid", "amount": Decimal("19.20")},
    13: {
        "payment_method": "CARD",
        "payment_type": "AUTH",
        "state": "authorised",
        "token_type": "Card",
        "token_masked": "****************56jv",
        "authorised_amount": Decimal("19.20"),
    },
    14: {"payment_method": "TOKEN", "state": "paid", "token_type": "Card", "token_masked": "*********************ger4"},
    15: {"payment_type": "MITR", "state": "paid", "mit_type": "UCOF", "mit_amount_qualifier": "ESTIMATED"},
    16: {"payment_type": "MITR", "state": "paid", "mit_type": "RCRR", "mit_amount_qualifier": "ACTUAL"},
    17: {
        "payment_type": "AUTH",
        "state": "authorised",
        "mit_type": "UCOF",
        "mit_validity_date": datetime(2023, 1, 31, tzinfo=UTC),
        "amount": Decimal("102.38"),
    },
    18: {"payment_type": "PURS", "state": "paid", "mit_type": "RCRR", "mit_amount_qualifier": "ACTUAL"},
}
assert set(EXPECTED) == set(EXAMPLE_NUMBERS)

EXAMPLE_TERMINALS = (99978, 45546, 96546, 46431, 88845, 66645, 77745)


@pytest.fixture
def loja(world):
    store = Store.objects.create(merchant=world.loja, code="exemplos", name="Exemplos")
    for number in EXAMPLE_TERMINALS:
        Terminal.objects.create(store=store, terminal_id=number, name=f"T{number}")
    world.secret = add_secret(world.loja)
    world.exemplos = store
    return world


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_example_is_acknowledged_stored_and_becomes_the_right_transaction(
    loja, client, django_capture_on_commit_callbacks, number
):
    # given
    sent = example_dict(number)
    # when
    with processing(django_capture_on_commit_callbacks):
        response = post_encrypted(client, inbound_path(loja.loja), loja.secret, example_bytes(number))
    # then: the acknowledgement echoes the notificationID exactly as sent
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "statusCode": "200",
        "statusMsg": "Success",
        "notificationID": sent["notificationID"],
    }
    inbound = InboundNotification.objects.get(merchant=loja.loja)
    assert inbound.state == InboundState.PROCESSED
    assert inbound.plaintext == example_bytes(number).decode()
    txn = Transaction.objects.get(merchant=loja.loja, transaction_id=sent["transactionID"].strip())
    for field, expected in EXPECTED[number].items():
        assert getattr(txn, field) == expected, f"example {number}: {field}"
    assert txn.store == loja.exemplos and not txn.terminal_unresolved
    # the full payload is kept (tokens masked) and the timeline has the notification
    assert txn.last_payload["notificationID"] == sent["notificationID"]
    assert txn.last_payload.get("token", {}).get("value", "*").count("*") >= 1
    assert "351#912345678" not in json.dumps(txn.last_payload)
    [event] = txn.events.all()
    assert event.kind == "notification" and event.outcome == "applied" and event.inbound == inbound


def test_example_quirks_are_kept(loja, client, django_capture_on_commit_callbacks):
    """Example 8's notificationID ends in a space: echoed with it, stored without it."""
    with processing(django_capture_on_commit_callbacks):
        response = post_encrypted(client, inbound_path(loja.loja), loja.secret, example_bytes(8))
    assert json.loads(response.content)["notificationID"] == "0d93a5ef-13e0-4a6b-9e40-h589085hnA "
    assert InboundNotification.objects.get().notification_id == "0d93a5ef-13e0-4a6b-9e40-h589085hnA"


def test_every_example_in_one_merchant_gives_sixteen_transactions(loja, client, django_capture_on_commit_callbacks):
    with processing(django_capture_on_commit_callbacks):
        for number in EXAMPLE_NUMBERS:
            assert (
                post_encrypted(client, inbound_path(loja.loja), loja.secret, example_bytes(number)).status_code == 200
            )
    assert Transaction.objects.filter(merchant=loja.loja).count() == 16
    assert InboundNotification.objects.filter(state=InboundState.PROCESSED).count() == 16
    # examples 10 and 11 carry different transactionIDs and merchant ids: nothing ties them,
    # so the "paid" one stands alone and is flagged for a person to look at.
    paid = Transaction.objects.get(transaction_id="s2jfvbiurbg8956vng")
    assert "reference_payment_unmatched" in paid.warnings
    assert Transaction.objects.get(transaction_id="s24587y857mtjgnbt").state == "awaiting_payment"


def test_mandate_expiration_and_schedule(loja, client, django_capture_on_commit_callbacks):
    with processing(django_capture_on_commit_callbacks):
        post_encrypted(client, inbound_path(loja.loja), loja.secret, example_bytes(18))
    txn = Transaction.objects.get(transaction_id="s24nZiFtu15SCiW9vpDm")
    assert txn.mit_schedule["interval"] == "DAILY"
    assert txn.mit_schedule["initialDate"].startswith("2022-12-27")
    assert txn.mit_validity_date == datetime(2023, 6, 30, 0, 0, tzinfo=UTC)
