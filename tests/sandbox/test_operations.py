"""Refund, capture and cancellation, with SIBS's rules; forced declines, timeouts and slow answers."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from payments.sibs import parse_notification
from sandbox.models import SandboxNotification, SandboxOperation, SandboxPayment
from tests.sandbox.conftest import card_body, operation_body


def op_notifications(kind: str) -> list[dict]:
    return [json.loads(row.payload) for row in SandboxNotification.objects.filter(event=kind).order_by("pk")]


def assert_declined(response, code: str = "E0119", fragment: str = ""):
    assert response.status_code == 200, response.data
    assert response.data["paymentStatus"] == "Declined"
    assert response.data["returnStatus"]["statusCode"] == code
    assert response.data["returnStatus"]["statusMsg"] == "Declined"
    assert fragment in response.data["returnStatus"]["statusDescription"]


# --- refunds -------------------------------------------------------------------------------------------


def test_refund_answers_a_back_office_response_with_a_new_id(api):
    tx = api.paid_card(amount="50.00")

    response = api.post(f"payments/{tx}/refund", operation_body("20.00", merchant_tx="RF-1", original=tx))

    assert response.status_code == 200
    body = response.data
    assert body["returnStatus"] == {"statusCode": "000", "statusMsg": "Success", "statusDescription": "Success"}
    assert body["paymentStatus"] == "Success"
    assert body["transactionID"].startswith("s2") and body["transactionID"] != tx
    assert body["amount"] == {"value": Decimal("20.00"), "currency": "EUR"}
    assert body["merchant"]["merchantTransactionId"] == "RF-1"
    assert body["transactionTimestamp"].endswith("Z")
    [payload] = op_notifications("refund")
    assert payload["paymentType"] == "RFND" and payload["paymentStatus"] == "Success"
    assert payload["transactionID"] == body["transactionID"]
    assert payload["originalTransaction"] == {"id": tx}
    assert payload["merchant"]["transactionId"] == "RF-1"
    assert parse_notification(json.dumps(payload)).original_transaction_id == tx


def test_partial_refunds_up_to_exactly_the_total_then_one_cent_more_is_declined(api):
    tx = api.paid_card(amount="100.00")

    parts = [api.post(f"payments/{tx}/refund", operation_body(amount)) for amount in ("30.00", "50.00", "19.99")]
    last_cent = api.post(f"payments/{tx}/refund", operation_body("0.01"))
    one_more = api.post(f"payments/{tx}/refund", operation_body("0.01"))

    assert [r.data["paymentStatus"] for r in parts] == ["Success"] * 3
    assert last_cent.data["paymentStatus"] == "Success"
    assert_declined(one_more, fragment="fully refunded")
    assert SandboxPayment.objects.get(transaction_id=tx).refunded_amount == Decimal("100.00")
    assert len(op_notifications("refund")) == 4  # a refused request is answered, not notified


def test_a_refund_over_what_is_left_is_declined_with_the_balance(api):
    tx = api.paid_card(amount="40.00")
    api.post(f"payments/{tx}/refund", operation_body("25.00"))

    response = api.post(f"payments/{tx}/refund", operation_body("15.01"))

    assert_declined(response, fragment="15.01 EUR exceeds the refundable balance of 15.00 EUR")
    assert response.data["transactionID"].startswith("s2")
    assert SandboxOperation.objects.get(transaction_id=response.data["transactionID"]).status == "Declined"


def test_refund_without_amount_refunds_what_is_left(api):
    tx = api.paid_card(amount="40.00")
    api.post(f"payments/{tx}/refund", operation_body("10.00"))

    response = api.post(f"payments/{tx}/refund", {})

    assert response.data["amount"]["value"] == Decimal("30.00")


def test_the_same_merchant_transaction_id_is_an_idempotent_retry(api):
    tx = api.paid_card(amount="40.00")

    first = api.post(f"payments/{tx}/refund", operation_body("10.00", merchant_tx="RF-A"))
    again = api.post(f"payments/{tx}/refund", operation_body("10.00", merchant_tx="RF-A"))
    conflicting = api.post(f"payments/{tx}/refund", operation_body("12.00", merchant_tx="RF-A"))

    assert again.data["transactionID"] == first.data["transactionID"]
    assert conflicting.status_code == 400
    assert conflicting.data["returnStatus"]["statusCode"] == "E0101"
    assert SandboxPayment.objects.get(transaction_id=tx).refunded_amount == Decimal("10.00")
    assert len(op_notifications("refund")) == 1


def test_refund_of_an_uncaptured_authorisation_and_of_a_reference_are_declined(api):
    auth = api.paid_card(payment_type="AUTH")
    reference = api.checkout(amount="20.11", methods=["REFERENCE"]).data["transactionID"]
    api.execute(reference, "service-reference/generate")

    assert_declined(api.post(f"payments/{auth}/refund", {}), fragment="not captured")
    assert_declined(api.post(f"payments/{reference}/refund", {}), code="10.107.0014", fragment="MULTIBANCO")


def test_a_pending_payment_cannot_be_refunded(api):
    tx = api.checkout().data["transactionID"]

    assert_declined(api.post(f"payments/{tx}/refund", {}), fragment="Pending")


def test_an_mbway_purchase_can_be_refunded(api):
    tx = api.checkout(amount="16.20").data["transactionID"]
    api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})

    response = api.post(f"payments/{tx}/refund", operation_body("16.20"))

    assert response.data["paymentStatus"] == "Success"
    assert op_notifications("refund")[0]["paymentMethod"] == "MBWAY"


# --- captures -----------------------------------------------------------------------------------------


def test_partial_captures_up_to_the_authorised_amount(api):
    tx = api.paid_card(amount="80.00", payment_type="AUTH")

    first = api.post(f"payments/{tx}/capture", operation_body("50.00"))
    over = api.post(f"payments/{tx}/capture", operation_body("30.01"))
    rest = api.post(f"payments/{tx}/capture", operation_body("30.00"))
    nothing_left = api.post(f"payments/{tx}/capture", {})

    assert first.data["paymentStatus"] == "Success"
    assert_declined(over, fragment="exceeds the capturable balance of 30.00 EUR (80.00 EUR authorised)")
    assert rest.data["paymentStatus"] == "Success"
    assert_declined(nothing_left, fragment="Nothing left to capture")
    payloads = op_notifications("capture")
    assert [p["paymentType"] for p in payloads] == ["CAPT", "CAPT"]
    assert [p["amount"]["value"] for p in payloads] == [50.0, 30.0]


def test_a_captured_authorisation_can_be_refunded_up_to_what_was_captured(api):
    tx = api.paid_card(amount="80.00", payment_type="AUTH")
    api.post(f"payments/{tx}/capture", operation_body("50.00"))

    over = api.post(f"payments/{tx}/refund", operation_body("50.01"))
    exact = api.post(f"payments/{tx}/refund", operation_body("50.00"))

    assert_declined(over, fragment="refundable balance of 50.00 EUR")
    assert exact.data["paymentStatus"] == "Success"


def test_a_purchase_cannot_be_captured(api):
    tx = api.paid_card()

    assert_declined(api.post(f"payments/{tx}/capture", {}), fragment="Only an authorisation")


# --- cancellations ------------------------------------------------------------------------------------


def test_cancel_an_uncaptured_authorisation(api):
    tx = api.paid_card(amount="60.00", payment_type="AUTH")

    response = api.post(f"payments/{tx}/cancellation", operation_body(original=tx))
    capture_after = api.post(f"payments/{tx}/capture", {})
    again = api.post(f"payments/{tx}/cancellation", {})

    assert response.data["paymentStatus"] == "Success"
    assert response.data["amount"]["value"] == Decimal("60.00")
    [payload] = op_notifications("cancellation")
    assert payload["paymentType"] == "CAUT" and payload["originalTransaction"] == {"id": tx}
    assert_declined(capture_after, fragment="Nothing left to capture")
    assert_declined(again, fragment="already cancelled")


def test_cancellation_after_capture_is_declined(api):
    tx = api.paid_card(amount="60.00", payment_type="AUTH")
    api.post(f"payments/{tx}/capture", operation_body("10.00"))

    assert_declined(api.post(f"payments/{tx}/cancellation", {}), fragment="already captured")


def test_a_purchase_cannot_be_cancelled(api):
    tx = api.paid_card()

    assert_declined(api.post(f"payments/{tx}/cancellation", {}), fragment="refund a purchase instead")


def test_cancel_an_unpaid_reference(api):
    tx = api.checkout(amount="20.00", methods=["REFERENCE"]).data["transactionID"]
    api.execute(tx, "service-reference/generate")

    # FENIX puts originalTransaction at the top level of a cancellation: accepted too.
    response = api.post(f"payments/{tx}/cancellation", {"originalTransaction": {"id": tx}})

    assert response.data["paymentStatus"] == "Success"
    [payload] = op_notifications("cancellation")
    assert payload["paymentType"] == "CPRF" and payload["paymentMethod"] == "REFERENCE"
    assert api.get(f"payments/{tx}/status").data["paymentStatus"] == "Declined"
    # A cancelled reference can no longer be paid.
    pay = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "pay"})
    assert pay.data["returnStatus"]["statusCode"] == "10.107.0012"


def test_a_paid_reference_cannot_be_cancelled(api):
    tx = api.checkout(amount="20.11", methods=["REFERENCE"]).data["transactionID"]
    api.execute(tx, "service-reference/generate")

    assert_declined(api.post(f"payments/{tx}/cancellation", {}), code="10.107.0013", fragment="already paid")


def test_a_reference_is_cancelled_in_full(api):
    tx = api.checkout(amount="20.00", methods=["REFERENCE"]).data["transactionID"]
    api.execute(tx, "service-reference/generate")

    assert_declined(api.post(f"payments/{tx}/cancellation", operation_body("5.00")), fragment="in full")


# --- request validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"transaction": {"amount": {"value": Decimal("-5.00"), "currency": "EUR"}}}, "negative"),
        ({"transaction": {"amount": {"value": Decimal("5.001"), "currency": "EUR"}}}, "two decimal"),
        ({"transaction": {"amount": {"value": 0, "currency": "EUR"}}}, "greater than zero"),
        ({"transaction": {"amount": {"value": "5", "currency": "GBP"}}}, "EUR"),
        ({"transaction": {"amount": "5.00"}}, "JSON object"),
        ({"transaction": {"description": "d" * 71}}, "at most 70"),
        ({"transaction": {"originalTransaction": {"id": "s2someoneelse0000000"}}}, "does not match"),
        ({"originalTransaction": {"id": 12345}}, "must be a string"),
        ({"merchant": {"terminalId": 88845}}, "not the terminal"),
        ({"merchant": "me"}, "JSON object"),
    ],
)
def test_operation_validation(api, body, fragment):
    tx = api.paid_card()

    response = api.post(f"payments/{tx}/refund", body)

    assert response.status_code == 400, response.data
    assert response.data["returnStatus"]["statusCode"] == "E0101"
    assert fragment in response.data["returnStatus"]["statusDescription"]
    assert SandboxPayment.objects.get(transaction_id=tx).refunded_amount == 0


def test_operations_need_the_bearer_token(api):
    tx = api.paid_card()

    response = api.raw("POST", f"payments/{tx}/refund", {}, authorization=f"Digest {api.signatures[tx]}")

    assert response.status_code == 401


# --- behaviours on demand -----------------------------------------------------------------------------


def test_forced_decline_is_declined_and_notified(api):
    tx = api.paid_card(amount="30.00")

    response = api.post(f"payments/{tx}/refund", operation_body("10.00"), headers={"X-Sandbox-Outcome": "decline"})

    assert_declined(response, fragment="X-Sandbox-Outcome")
    [payload] = op_notifications("refund")
    assert payload["paymentStatus"] == "Declined"
    assert SandboxPayment.objects.get(transaction_id=tx).refunded_amount == 0


def test_forced_timeout_processes_the_request_but_loses_the_answer(api):
    tx = api.paid_card(amount="30.00")

    response = api.post(
        f"payments/{tx}/refund", operation_body("10.00", merchant_tx="RF-T"), headers={"X-Sandbox-Outcome": "timeout"}
    )
    retry = api.post(f"payments/{tx}/refund", operation_body("10.00", merchant_tx="RF-T"))

    assert response.status_code == 408
    assert response.data["returnStatus"]["statusCode"] == "T9999"
    # The money moved; the client's idempotent retry finds the refund that happened.
    assert retry.data["paymentStatus"] == "Success"
    assert SandboxPayment.objects.get(transaction_id=tx).refunded_amount == Decimal("10.00")
    assert len(op_notifications("refund")) == 1


def test_forced_error_changes_nothing(api):
    tx = api.paid_card(amount="30.00")

    response = api.post(f"payments/{tx}/capture", {}, headers={"X-Sandbox-Outcome": "error"})
    checkout = api.post("payments", {}, headers={"X-Sandbox-Outcome": "error"})

    assert response.status_code == 500
    assert response.data["returnStatus"]["statusCode"] == "90.000.0001"
    assert checkout.status_code == 500
    assert not SandboxOperation.objects.exists()


def test_forced_outcomes_on_execution_calls(api):
    declined = api.checkout(methods=["MBWAY"]).data["transactionID"]
    forced_ok = api.checkout(methods=["CARD"]).data["transactionID"]

    api.execute(
        declined, "mbway-id/purchase", {"customerPhone": "351#912345678"}, headers={"X-Sandbox-Outcome": "decline"}
    )
    card = api.execute(
        forced_ok, "card/purchase", card_body("4000000000000010"), headers={"X-Sandbox-Outcome": "success"}
    )

    assert api.get(f"payments/{declined}/status").data["paymentStatus"] == "Declined"
    assert card.data["paymentStatus"] == "Success"


def test_slow_answers_on_demand(api):
    tx = api.paid_card()

    started = time.monotonic()
    response = api.get(f"payments/{tx}/status", headers={"X-Sandbox-Delay": "0.3"})

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"X-Sandbox-Delay": "soon"}, "X-Sandbox-Delay"),
        ({"X-Sandbox-Delay": "31"}, "X-Sandbox-Delay"),
        ({"X-Sandbox-Outcome": "explode"}, "X-Sandbox-Outcome"),
    ],
)
def test_bad_test_headers_are_refused(api, headers, fragment):
    response = api.post("payments", {}, headers=headers)

    assert response.status_code == 400
    assert fragment in response.data["returnStatus"]["statusDescription"]
