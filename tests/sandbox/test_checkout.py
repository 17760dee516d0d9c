"""Checkout and status: SIBS answers, SIBS authentication, and everything a client can get wrong."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from payments.sibs import parse_status_response
from sandbox import wire
from sandbox.models import SandboxPayment
from tests.sandbox.conftest import CLIENT_ID, TERMINAL, TOKEN, Api, checkout_body

# --- happy paths -------------------------------------------------------------------------------


def test_checkout_answers_like_sibs(api):
    # when
    response = api.checkout(amount="5.50", merchant_tx="Order ID: r1cm97qqjv")

    # then
    assert response.status_code == 200
    body = response.data
    assert body["returnStatus"] == {"statusCode": "000", "statusMsg": "Success", "statusDescription": "Success"}
    assert len(body["transactionID"]) == 20 and body["transactionID"].startswith("s2")
    assert body["amount"] == {"value": Decimal("5.50"), "currency": "EUR"}
    assert body["merchant"] == {
        "terminalId": str(TERMINAL),
        "channel": "web",
        "merchantTransactionId": "Order ID: r1cm97qqjv",
    }
    assert body["paymentMethodList"] == ["CARD", "MBWAY", "REFERENCE"]
    assert body["tokenList"] == []
    assert set(body["execution"]) == {"startTime", "endTime"}
    assert body["expiry"].endswith("Z")
    head = json.loads(base64.b64decode(body["transactionSignature"].split(".")[0]))
    assert head == {"txId": body["transactionID"], "mc": api_merchant_code(), "tc": TERMINAL}
    form = json.loads(base64.b64decode(body["formContext"]))
    assert form["PaymentMethod"] == ["CARD", "MBWAY", "REFERENCE"]
    # Amounts are JSON numbers with two decimals on the wire.
    assert b'"amount":{"value":5.50,"currency":"EUR"}' in response.content


def api_merchant_code() -> int:
    from sandbox.models import SandboxMerchant

    return SandboxMerchant.objects.get(client_id=CLIENT_ID).pk


def test_status_of_a_new_checkout_is_pending(api):
    tx = api.checkout(amount="12.30").data["transactionID"]

    response = api.get(f"payments/{tx}/status")

    assert response.status_code == 200
    status = parse_status_response(response.content)
    assert status.is_ok
    assert status.transaction_id == tx
    assert status.payment_status == "Pending"
    assert status.amount == Decimal("12.30")
    assert status.terminal_id == TERMINAL
    assert status.payment_type == "PURS"


def test_status_by_merchant_transaction_id(api):
    tx = api.checkout(merchant_tx="ORD-2026-0001").data["transactionID"]

    response = api.get("payments/status?merchantTransactionId=ORD-2026-0001")
    on_terminal = api.get(f"payments/status?merchantTransactionId=ORD-2026-0001&terminalId={TERMINAL}")
    unknown = api.get("payments/status?merchantTransactionId=nope")
    missing = api.get("payments/status")

    assert response.status_code == 200 and response.data["transactionID"] == tx
    assert on_terminal.data["transactionID"] == tx
    assert unknown.status_code == 404
    assert missing.status_code == 400 and "merchantTransactionId" in missing.data["returnStatus"]["statusDescription"]


def test_terminal_id_may_be_a_string_and_amount_a_numeric_string(api):
    response = api.checkout(checkout_body(terminal=str(TERMINAL), amount="7.5", methods=["CARD"]))

    assert response.status_code == 200
    assert response.data["amount"]["value"] == Decimal("7.50")


def test_unknown_fields_are_kept_and_ignored(api):
    body = checkout_body(methods=["MBWAY"], somethingNew={"nested": [1, 2, 3]})
    body["transaction"]["futureField"] = "x"

    response = api.checkout(body)

    assert response.status_code == 200
    payment = SandboxPayment.objects.get(transaction_id=response.data["transactionID"])
    assert payment.request_body["somethingNew"] == {"nested": [1, 2, 3]}
    assert payment.request_body["transaction"]["futureField"] == "x"


def test_an_auth_of_zero_is_allowed_but_not_a_purchase_of_zero(api):
    auth = api.checkout(amount="0", payment_type="AUTH", methods=["CARD"])
    purchase = api.checkout(amount="0", methods=["CARD"])

    assert auth.status_code == 200
    assert purchase.status_code == 400
    assert purchase.data["returnStatus"]["statusCode"] == "12.110.1201"


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "X-IBM-Client-Id"),
        ({"X-IBM-Client-Id": "who-is-this", "Authorization": f"Bearer {TOKEN}"}, "not registered"),
        ({"X-IBM-Client-Id": CLIENT_ID}, "Bearer"),
        ({"X-IBM-Client-Id": CLIENT_ID, "Authorization": "Bearer wrong"}, "not valid"),
        ({"X-IBM-Client-Id": CLIENT_ID, "Authorization": f"Basic {TOKEN}"}, "Bearer"),
        ({"X-IBM-Client-Id": CLIENT_ID, "Authorization": "Digest abc"}, "not Digest"),
    ],
)
def test_checkout_needs_client_id_and_bearer_token(client, loja, headers, fragment):
    response = client.post(
        "/sandbox/api/v2/payments", data=wire.dumps(checkout_body()), content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    body = response.json()
    assert body["httpCode"] == "401" and body["httpMessage"] == "Unauthorized"
    assert body["returnStatus"]["statusMsg"] == "Unauthorized"
    assert fragment in body["returnStatus"]["statusDescription"]
    assert not SandboxPayment.objects.exists()


def test_execution_calls_need_the_transaction_signature(api):
    tx = api.checkout().data["transactionID"]
    other = api.checkout().data["transactionID"]
    body = {"customerPhone": "351#912345678"}

    with_bearer = api.raw("POST", f"payments/{tx}/mbway-id/purchase", body, authorization=f"Bearer {TOKEN}")
    with_other_signature = api.raw(
        "POST", f"payments/{tx}/mbway-id/purchase", body, authorization=f"Digest {api.signatures[other]}"
    )
    with_nothing = api.raw("POST", f"payments/{tx}/mbway-id/purchase", body, authorization=None)

    assert with_bearer.status_code == 401 and "Digest" in with_bearer.data["moreInformation"]
    assert with_other_signature.status_code == 401
    assert with_nothing.status_code == 401
    assert SandboxPayment.objects.get(transaction_id=tx).status == "Pending"


def test_another_clients_transaction_does_not_exist(client, api, outra):
    tx = api.checkout().data["transactionID"]
    mallory = Api(client, client_id="outra-client", token="outra-token")

    status = mallory.get(f"payments/{tx}/status")
    refund = mallory.post(f"payments/{tx}/refund", {})

    assert status.status_code == 404
    assert refund.status_code == 404


def test_a_terminal_of_another_client_is_refused(api, outra):
    response = api.checkout(terminal=33333)

    assert response.status_code == 400
    assert response.data["returnStatus"]["statusCode"] == "12.110.1201"
    assert "33333" in response.data["returnStatus"]["statusDescription"]


# --- malformed and hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"x":' * 25 + b"1" + b"}" * 25, "nested"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(api, raw, fragment):
    response = api.raw("POST", "payments", raw, authorization=f"Bearer {TOKEN}")

    assert response.status_code == 400
    assert response.data["returnStatus"]["statusCode"] == "E0101"
    assert fragment in response.data["returnStatus"]["statusDescription"]


def test_a_huge_body_is_refused_before_it_is_read(api):
    body = checkout_body()
    body["padding"] = "x" * 70_000

    response = api.checkout(body)

    assert response.status_code == 413
    assert response.data["returnStatus"]["statusCode"] == "E0101"
    assert "larger than" in response.data["returnStatus"]["statusDescription"]


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda b: b.pop("merchant"), "12.110.1202", "merchant is missing"),
        (lambda b: b["merchant"].pop("terminalId"), "12.110.1202", "merchant.terminalId"),
        (lambda b: b["merchant"].update(terminalId=True), "12.110.1201", "merchant.terminalId"),
        (lambda b: b["merchant"].update(terminalId=-5), "12.110.1201", "merchant.terminalId"),
        (lambda b: b["merchant"].update(merchantTransactionId={"x": 1}), "12.110.1201", "merchantTransactionId"),
        (lambda b: b["merchant"].update(merchantTransactionId="x" * 65), "12.110.1201", "at most 64"),
        (lambda b: b.update(transaction="PURS"), "12.110.1201", "transaction must be a JSON object"),
        (lambda b: b["transaction"].pop("paymentType"), "12.110.1202", "paymentType"),
        (lambda b: b["transaction"].update(paymentType="GIFT"), "12.110.1201", "PURS or AUTH"),
        (lambda b: b["transaction"].update(paymentMethod="CARD"), "12.110.1201", "list of strings"),
        (lambda b: b["transaction"].update(paymentMethod=[]), "12.110.1202", "paymentMethod"),
        (lambda b: b["transaction"].update(paymentMethod=["BLIK"]), "12.110.1201", "BLIK"),
        (lambda b: b["transaction"].pop("amount"), "12.110.1202", "transaction.amount is missing"),
        (lambda b: b["transaction"]["amount"].update(value=Decimal("-1.00")), "12.110.1201", "negative"),
        (lambda b: b["transaction"]["amount"].update(value=Decimal("10.005")), "12.110.1201", "two decimal"),
        (lambda b: b["transaction"]["amount"].update(value="ten"), "12.110.1201", "must be a number"),
        (lambda b: b["transaction"]["amount"].update(value=True), "12.110.1201", "must be a number"),
        (lambda b: b["transaction"]["amount"].update(value=Decimal("1e400")), "12.110.1201", "exceed"),
        (lambda b: b["transaction"]["amount"].update(value=10**12), "12.110.1201", "exceed"),
        (lambda b: b["transaction"]["amount"].update(currency="USD"), "12.110.1201", "EUR"),
        (lambda b: b["transaction"].update(transactionTimestamp="yesterday"), "12.110.1201", "ISO 8601"),
        (lambda b: b["transaction"].update(moto="no"), "12.110.1201", "true or false"),
        (lambda b: b["transaction"].pop("paymentReference"), "12.110.1202", "paymentReference is missing"),
        (
            lambda b: b["transaction"]["paymentReference"].update(finalDatetime="2001-01-01T00:00:00Z"),
            "12.110.1201",
            "finalDatetime",
        ),
        (
            lambda b: b["transaction"]["paymentReference"].update(entity="ABC"),
            "12.110.1201",
            "entity must be 5 digits",
        ),
        (
            lambda b: b["transaction"]["paymentReference"].update(maxAmount={"value": 1, "currency": "EUR"}),
            "12.110.1201",
            "maxAmount",
        ),
        (
            lambda b: b.update(customer={"customerInfo": {"customerName": "N" * 46}}),
            "12.110.1201",
            "customerName must be at most 45",
        ),
        (
            lambda b: b.update(merchantInitiatedTransaction={"type": "WEEKLY"}),
            "12.110.1201",
            "UCOF or RCRR",
        ),
    ],
)
def test_checkout_validation_names_the_field(api, mutate, code, fragment):
    body = checkout_body()
    mutate(body)

    response = api.checkout(body)

    assert response.status_code == 400, response.data
    assert response.data["returnStatus"]["statusCode"] == code
    assert fragment in response.data["returnStatus"]["statusDescription"]
    assert not SandboxPayment.objects.exists()


def test_the_same_merchant_transaction_id_twice_is_refused(api):
    first = api.checkout(merchant_tx="ORD-42")
    second = api.checkout(merchant_tx="ORD-42")
    other_terminal = api.checkout(merchant_tx="ORD-42", terminal=88845)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.data["returnStatus"]["statusCode"] == "12.110.1201"
    assert first.data["transactionID"] in second.data["returnStatus"]["statusDescription"]
    assert other_terminal.status_code == 200
    assert SandboxPayment.objects.count() == 2


def test_wrong_method_and_unknown_transaction(api):
    listing = api.get("payments")
    unknown = api.get("payments/s2doesnotexist000000/status")

    assert listing.status_code == 405 and listing["Allow"] == "POST"
    assert unknown.status_code == 404
    assert unknown.data["returnStatus"]["statusCode"] == "E0101"


def test_checkout_is_not_csrf_protected(api, client):
    client.handler.enforce_csrf_checks = True

    assert api.checkout().status_code == 200


# --- switches ---------------------------------------------------------------------------------------


def test_every_sandbox_url_is_a_404_when_disabled(api, settings):
    tx = api.checkout().data["transactionID"]
    settings.SANDBOX_ENABLED = False

    assert api.checkout().status_code == 404
    assert api.get(f"payments/{tx}/status").status_code == 404
    assert api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"}).status_code == 404
    assert api.post(f"payments/{tx}/refund").status_code == 404
    assert api.post("/sandbox/control/tick").status_code == 404
    assert api.client.get("/sandbox/").status_code == 404


def test_overview_page_shows_activity_without_secrets(api, client):
    tx = api.checkout().data["transactionID"]

    page = client.get("/sandbox/")

    assert page.status_code == 200
    html = page.content.decode()
    assert tx in html and "Loja Sandbox" in html
    assert TOKEN not in html and CLIENT_ID not in html
