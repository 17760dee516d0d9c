"""Refund, capture and cancellation calls of the SIBS client against a local server, and every
result code SIBS can answer them with surfaced to people in words."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payments.models import ApiRootPreset, GatewayCredential, OperationKind, OperationState, Transaction
from payments.services import gateway
from payments.services import operations as ops
from payments.sibs.client import SibsClient, SibsHttpError, SibsTransportError, encode_body
from payments.sibs.errors import CATALOGUE, describe
from tests.payments.fake_sibs import FakeSibs
from tests.payments.ops_support import access_of, actor_of


@pytest.fixture
def sibs():
    with FakeSibs() as fake:
        yield fake


def client(root: str, **kwargs) -> SibsClient:
    return SibsClient(api_root=root, client_id="client-uuid", bearer_token="tok.en.value", **kwargs)


def backoffice_answer(tx="s2op", status="Success", code="000", message="Success", description="Success"):
    return {
        "merchant": {"terminalId": "11111", "merchantTransactionId": "bo-re-1"},
        "transactionID": tx,
        "transactionTimestamp": "2026-03-12T10:50:00.000Z",
        "amount": {"value": 12.5, "currency": "EUR"},
        "paymentStatus": status,
        "returnStatus": {"statusCode": code, "statusMsg": message, "statusDescription": description},
    }


ARGS = {
    "terminal_id": 11111,
    "merchant_transaction_id": "bo-re-1",
    "amount": Decimal("12.50"),
    "currency": "EUR",
    "original_datetime": datetime(2026, 3, 12, 10, 48, 44, 127000, tzinfo=UTC),
    "description": "Backoffice refund",
    "timestamp": datetime(2026, 3, 12, 10, 50, tzinfo=UTC),
}


@pytest.mark.parametrize("action", ["refund", "capture", "cancellation"])
def test_each_operation_posts_the_documented_body_to_its_path(sibs, action):
    sibs.answer("*", 200, backoffice_answer())
    payload, response = getattr(client(sibs.root), action)("s2orig", **ARGS)

    [request] = sibs.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/api/v2/payments/s2orig/{action}"
    assert request["headers"]["Authorization"] == "Bearer tok.en.value"
    assert request["headers"]["X-IBM-Client-Id"] == "client-uuid"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {
        "merchant": {"terminalId": 11111, "channel": "web", "merchantTransactionId": "bo-re-1"},
        "transaction": {
            "transactionTimestamp": "2026-03-12T10:50:00.000Z",
            "description": "Backoffice refund",
            "amount": {"value": 12.5, "currency": "EUR"},
            "originalTransaction": {"id": "s2orig", "datetime": "2026-03-12T10:48:44.127Z"},
        },
    }
    assert b'"value":12.50,' in request["body"]  # two decimals, a number
    assert payload.transaction_id == "s2op" and payload.payment_status == "Success"
    assert payload.amount == Decimal("12.50") and response.http_status == 200


def test_cancellation_is_spelled_with_a_double_l(sibs):
    sibs.answer("*", 200, backoffice_answer())
    client(sibs.root).cancellation("s2orig", **ARGS)
    assert sibs.requests[0]["path"].endswith("/cancellation")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("1.001"), Decimal("NaN"), 12.5])
def test_impossible_amounts_never_leave(sibs, amount):
    with pytest.raises(ValueError):
        client(sibs.root).refund("s2orig", **{**ARGS, "amount": amount})
    assert sibs.requests == []


def test_amounts_are_encoded_exactly_and_text_cannot_forge_them():
    body = encode_body({"a": Decimal("0.1"), "b": Decimal("1234567.89"), "c": "0.10", "d": {"e": Decimal("7")}})
    assert body == b'{"a":0.10,"b":1234567.89,"c":"0.10","d":{"e":7.00}}'


@pytest.mark.parametrize("status", [400, 408, 500, 503])
def test_a_money_call_is_never_retried(sibs, status):
    sibs.answer("*", status, {"returnStatus": {"statusCode": "E0101", "statusMsg": "Error"}})
    with pytest.raises(SibsHttpError):
        client(sibs.root).refund("s2orig", **ARGS)
    assert len(sibs.requests) == 1


def test_a_slow_answer_times_out_as_possibly_sent(sibs):
    sibs.answer("*", 200, backoffice_answer(), delay=1.0)
    with pytest.raises(SibsTransportError) as caught:
        client(sibs.root, read_timeout=0.2).refund("s2orig", **ARGS)
    assert caught.value.sent is True and "in time" in caught.value.message
    assert len(sibs.requests) == 1


def test_a_refused_connection_is_known_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SibsTransportError) as caught:
        client(f"http://127.0.0.1:{port}/api/v2").refund("s2orig", **ARGS)
    assert caught.value.sent is False


def test_the_default_timeouts_are_5_and_30_seconds():
    assert client("https://example.invalid/api/v2").timeout == (5.0, 30.0)


def test_status_by_merchant_transaction_id(sibs):
    sibs.answer("*", 200, {**backoffice_answer(), "paymentType": "RFND"})
    payload, _ = client(sibs.root).status_by_merchant_transaction("bo re/1", terminal_id=11111)
    assert sibs.requests[0]["path"] == "/api/v2/payments/status?merchantTransactionId=bo%20re%2F1&terminalId=11111"
    assert payload.payment_type == "RFND"


# --- every result code, in words ------------------------------------------------------------


@pytest.fixture
def paid(world, sibs, db):
    gateway._clients.clear()
    GatewayCredential.objects.create(
        merchant=world.loja,
        terminal_number=11111,
        client_id="client-uuid",
        bearer_token="tok.en.value",
        api_root_preset=ApiRootPreset.CUSTOM,
        custom_api_root=sibs.root,
    )
    return Transaction.objects.create(
        merchant=world.loja,
        store=world.lisboa,
        terminal=world.t_lisboa,
        terminal_number=11111,
        transaction_id="s2orig",
        payment_type="PURS",
        payment_method="CARD",
        payment_status="Success",
        state="paid",
        amount=Decimal("50.00"),
        currency="EUR",
        authorised_amount=Decimal("50.00"),
        captured_amount=Decimal("50.00"),
    )


def _refund(world, txn, key):
    return ops.operation_request(
        access=access_of(world.m_bob),
        actor=actor_of(world.bob),
        txn=txn,
        kind=OperationKind.REFUND,
        amount=Decimal("12.50"),
        reason="customer_request",
        idempotency_key=key,
    ).operation


DECLINE_CODES = sorted(code for code in CATALOGUE if code != "000")


@pytest.mark.parametrize("code", DECLINE_CODES)
def test_every_decline_code_is_surfaced_in_words(world, sibs, paid, code):
    sibs.answer("*", 200, backoffice_answer(tx=f"s2-{code}", status="Declined", code=code, message="Declined",
                                           description="Refused by the acquirer"))  # fmt: skip
    op = _refund(world, paid, f"decline-{code}")

    assert op.state == OperationState.DECLINED
    words = describe(code).merchant_message
    assert words and words in op.outcome_detail
    assert f"({code})" in op.outcome_detail
    assert "Refused by the acquirer" in op.outcome_detail
    paid.refresh_from_db()
    assert paid.refundable_amount == Decimal("50.00")


@pytest.mark.parametrize("code", ["E0101", "12.110.1201", "E0119"])
def test_a_400_refusal_fails_in_words_and_moves_nothing(world, sibs, paid, code):
    sibs.answer("*", 400, {"returnStatus": {"statusCode": code, "statusMsg": "Error", "statusDescription": "Bad"}})
    op = _refund(world, paid, f"bad-{code}")
    assert op.state == OperationState.FAILED
    assert describe(code).merchant_message in op.outcome_detail and "HTTP 400" in op.outcome_detail


@pytest.mark.parametrize("status", [408, 500, 503, 504])
def test_an_ambiguous_http_answer_is_unknown(world, sibs, paid, status):
    sibs.answer("*", status, {"returnStatus": {"statusCode": "T9999", "statusMsg": "Error"}})
    op = _refund(world, paid, f"amb-{status}")
    assert op.state == OperationState.UNKNOWN
    assert describe("T9999").merchant_message in op.outcome_detail
    paid.refresh_from_db()
    assert paid.refundable_amount == Decimal("37.50")


def test_an_unreadable_2xx_is_unknown(world, sibs, paid):
    sibs.answer("*", 200, b"<html>ok</html>")
    assert _refund(world, paid, "html").state == OperationState.UNKNOWN


def test_a_pending_answer_stays_unknown_until_its_status_says_otherwise(world, sibs, paid):
    sibs.answer("*", 200, backoffice_answer(tx="s2pend", status="Pending"))
    op = _refund(world, paid, "pending")
    assert op.state == OperationState.UNKNOWN and op.result.transaction_id == "s2pend"

    sibs.answer("*", 200, {**backoffice_answer(tx="s2pend", status="Success"), "paymentType": "RFND"})
    assert ops.operation_inquire(operation_pk=op.pk) == OperationState.SUCCEEDED
    assert sibs.requests[-1]["path"] == "/api/v2/payments/s2pend/status"
    paid.refresh_from_db()
    assert paid.refunded_amount == Decimal("12.50")
