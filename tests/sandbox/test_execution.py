"""Executing a checkout: MB WAY, MULTIBANCO references, cards (3-D Secure), tokens, MIT, QR codes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from payments.sibs import parse_notification, parse_status_response
from sandbox import wire
from sandbox.models import SandboxNotification, SandboxPayment
from sandbox.tasks import sandbox_tick
from tests.sandbox.conftest import TERMINAL, card_body, checkout_body


def notifications(event: str | None = None) -> list[dict]:
    rows = SandboxNotification.objects.order_by("created_at", "pk")
    if event:
        rows = rows.filter(event=event)
    return [json.loads(row.payload) for row in rows]


# --- MB WAY -----------------------------------------------------------------------------------------


def test_mbway_purchase_succeeds_and_notifies(api):
    tx = api.checkout(amount="16.20").data["transactionID"]

    response = api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})

    assert response.status_code == 200
    assert response.data["paymentStatus"] == "Pending"  # SIBS answers Pending; the result comes by webhook
    assert response.data["returnStatus"]["statusCode"] == "000"
    [payload] = notifications("mbway")
    notification = parse_notification(json.dumps(payload))
    assert notification.transaction_id == tx
    assert notification.payment_status == "Success"
    assert notification.payment_method == "MBWAY"
    assert notification.amount == Decimal("16.20")
    assert notification.token.value == "351#912345678"
    assert payload["internalTransactionId"].startswith("S") and len(payload["internalTransactionId"]) == 16
    assert api.get(f"payments/{tx}/status").data["paymentStatus"] == "Success"


@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [("351#912345500", "Declined", "01.106.0004"), ("351#912345408", "Timeout", "00.110.1601")],
)
def test_mbway_magic_phones(api, phone, status, code):
    tx = api.checkout().data["transactionID"]

    api.execute(tx, "mbway-id/purchase", {"customerPhone": phone})

    [payload] = notifications("mbway")
    assert payload["paymentStatus"] == status
    assert payload["returnStatus"] == {"statusMsg": status, "statusCode": code}
    assert "internalTransactionId" not in payload
    assert api.get(f"payments/{tx}/status").data["paymentStatus"] == status


def test_the_mbway_customer_answers_after_the_configured_delay(api, loja):
    loja.customer_delay_seconds = 30
    loja.save()
    tx = api.checkout().data["transactionID"]
    api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})
    assert api.get(f"payments/{tx}/status").data["paymentStatus"] == "Pending"
    assert notifications("mbway") == []

    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        result = sandbox_tick()

    assert result["resolved"] == 1
    assert [p["paymentStatus"] for p in notifications("mbway")] == ["Success"]


def test_a_due_customer_acts_when_the_status_is_read(api, loja):
    loja.customer_delay_seconds = 5
    loja.save()
    tx = api.checkout().data["transactionID"]
    api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345500"})

    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        status = api.get(f"payments/{tx}/status")

    assert status.data["paymentStatus"] == "Declined"
    assert len(notifications("mbway")) == 1


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "12.110.1302", "customerPhone is missing"),
        ({"customerPhone": "912345678"}, "12.110.1301", "351#912345678"),
        ({"customerPhone": 351912345678}, "12.110.1301", "351#912345678"),
        ({"customerPhone": ["351#912345678"]}, "12.110.1301", "must be a string"),
        ({"customerPhone": "351#912345678", "mandate": {"useMBWAYMandate": True}}, "12.110.1301", "mandates"),
    ],
)
def test_mbway_validation(api, body, code, fragment):
    tx = api.checkout().data["transactionID"]

    response = api.execute(tx, "mbway-id/purchase", body)

    assert response.status_code == 400
    assert response.data["returnStatus"]["statusCode"] == code
    assert fragment in response.data["returnStatus"]["statusDescription"]


def test_a_processed_checkout_cannot_be_executed_again(api):
    tx = api.checkout().data["transactionID"]
    api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345500"})

    again = api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})
    by_card = api.execute(tx, "card/purchase", card_body())

    assert again.status_code == 400 and "already processed" in again.data["returnStatus"]["statusDescription"]
    assert by_card.status_code == 400


def test_a_method_not_offered_cannot_be_used(api):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]

    response = api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})

    assert response.status_code == 400
    assert "MBWAY was not offered" in response.data["returnStatus"]["statusDescription"]


def test_an_expired_checkout_cannot_be_executed(api):
    tx = api.checkout().data["transactionID"]

    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        response = api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})

    assert response.status_code == 400
    assert "expired" in response.data["returnStatus"]["statusDescription"]


# --- MULTIBANCO -------------------------------------------------------------------------------------


def test_reference_generation_answers_and_notifies_unpaid(api):
    tx = api.checkout(amount="20.00").data["transactionID"]

    response = api.execute(tx, "service-reference/generate", {})

    assert response.status_code == 200
    reference = response.data["paymentReference"]
    assert reference["entity"] == "24000" and reference["paymentEntity"] == "24000"
    assert len(reference["reference"]) == 9 and reference["reference"].isdigit()
    assert reference["status"] == "UNPAID"
    assert reference["amount"] == {"value": Decimal("20.00"), "currency": "EUR"}
    assert reference["expireDate"].startswith("2099-01-01")  # the checkout's finalDatetime
    assert response.data["paymentStatus"] == "Pending"
    [payload] = notifications("reference.generated")
    # SIBS reports a generated reference as a successful PREF whose reference is UNPAID.
    assert payload["paymentType"] == "PREF" and payload["paymentStatus"] == "Success"
    assert payload["paymentReference"]["status"] == "UNPAID"
    assert "expiryDate" in payload["paymentReference"]
    assert parse_notification(json.dumps(payload)).payment_reference.reference == reference["reference"]
    status = parse_status_response(api.get(f"payments/{tx}/status").content)
    assert status.payment_status == "Pending"
    assert status.payment_reference.status == "UNPAID"


def test_reference_with_magic_cents_is_paid(api):
    tx = api.checkout(amount="20.11").data["transactionID"]

    api.execute(tx, "service-reference/generate")

    events = [row.event for row in SandboxNotification.objects.order_by("pk")]
    assert events == ["reference.generated", "reference.paid"]
    [paid] = notifications("reference.paid")
    assert paid["paymentStatus"] == "Success" and paid["paymentType"] == "PREF"
    assert paid["paymentReference"]["status"] == "PAID"
    assert api.get(f"payments/{tx}/status").data["paymentReference"]["status"] == "PAID"


def test_reference_with_magic_cents_expires(api):
    tx = api.checkout(amount="20.22").data["transactionID"]

    api.execute(tx, "service-reference/generate")

    [expired] = notifications("reference.expired")
    assert expired["paymentStatus"] == "Expired"
    assert expired["returnStatus"]["statusCode"] == "E0612"
    assert api.get(f"payments/{tx}/status").data["paymentStatus"] == "Expired"
    # expired now: its expiry is not left days ahead
    expiry = expired["paymentReference"].get("expiryDate") or expired["paymentReference"].get("expireDate")
    assert expiry is not None and expiry <= wire.iso_millis(timezone.now())


def test_reference_paid_later_through_the_control_api(api):
    tx = api.checkout(amount="42.00").data["transactionID"]
    api.execute(tx, "service-reference/generate")

    scheduled = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "pay", "delaySeconds": 60})
    assert scheduled.status_code == 200
    assert notifications("reference.paid") == []
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        sandbox_tick()

    assert len(notifications("reference.paid")) == 1
    again = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "expire"})
    assert again.status_code == 400 and again.data["returnStatus"]["statusCode"] == "10.107.0013"


def test_reference_expires_at_its_final_datetime(api):
    body = checkout_body(amount="30.00", methods=["REFERENCE"])
    final = timezone.now() + timedelta(days=2)
    body["transaction"]["paymentReference"]["finalDatetime"] = final.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tx = api.checkout(body).data["transactionID"]
    api.execute(tx, "service-reference/generate")

    with time_machine.travel(final - timedelta(minutes=1), tick=False):
        sandbox_tick()
    assert notifications("reference.expired") == []
    with time_machine.travel(final + timedelta(minutes=1), tick=False):
        sandbox_tick()

    assert [p["paymentStatus"] for p in notifications("reference.expired")] == ["Expired"]


def test_control_api_validation(api):
    tx = api.checkout(amount="42.00").data["transactionID"]

    not_generated = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "pay"})
    api.execute(tx, "service-reference/generate")
    bad_outcome = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "steal"})
    bad_delay = api.post(f"/sandbox/control/payments/{tx}/reference", {"outcome": "pay", "delaySeconds": "soon"})

    assert not_generated.status_code == 400 and not_generated.data["returnStatus"]["statusCode"] == "10.107.0011"
    assert bad_outcome.status_code == 400 and bad_delay.status_code == 400


# --- cards and tokens -------------------------------------------------------------------------------


def test_card_purchase_succeeds(api):
    tx = api.checkout(amount="19.20", methods=["CARD"]).data["transactionID"]

    response = api.execute(tx, "card/purchase", card_body())

    assert response.status_code == 200
    assert response.data["paymentStatus"] == "Success"
    assert response.data["paymentMethod"] == "CARD"
    [payload] = notifications("card")
    assert payload["paymentType"] == "PURS" and payload["paymentStatus"] == "Success"
    assert SandboxPayment.objects.get(transaction_id=tx).card_masked_pan == "400000******0002"


@pytest.mark.parametrize(
    ("pan", "status", "code"),
    [
        ("4000000000000010", "Declined", "E0119"),
        ("4000000000000069", "Declined", "E0119"),
        ("4000000000000119", "Error", "90.000.0001"),
        ("5555555555554444", "Success", "000"),
        ("4242424242424242", "Success", "000"),
    ],
)
def test_magic_cards(api, pan, status, code):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]

    response = api.execute(tx, "card/purchase", card_body(pan))

    assert response.data["paymentStatus"] == status
    assert response.data["returnStatus"]["statusCode"] == code
    [payload] = notifications("card")
    assert payload["paymentStatus"] == status


def test_an_expired_card_is_declined(api):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]

    response = api.execute(tx, "card/purchase", card_body(validation="2020-01-31T00:00:00Z"))

    assert response.data["paymentStatus"] == "Declined"
    assert "expired" in response.data["returnStatus"]["statusDescription"]


def test_3ds_card_is_partial_until_the_action_is_processed(api):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]

    first = api.execute(tx, "card/purchase", card_body("4000000000003220"))
    assert first.data["paymentStatus"] == "Partial"
    assert first.data["actionResponse"]["type"] == "THREEDS_CHALLENGE"
    assert notifications() == []

    action = {
        "actionProcessed": {"id": first.data["actionResponse"]["id"], "type": "THREEDS_CHALLENGE", "executed": True}
    }
    second = api.execute(tx, "card/purchase", action)

    assert second.data["paymentStatus"] == "Success"
    assert [p["paymentStatus"] for p in notifications("card")] == ["Success"]


def test_3ds_not_executed_declines(api):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]
    api.execute(tx, "card/purchase", card_body("4000000000003220"))

    response = api.execute(tx, "card/purchase", {"actionProcessed": {"executed": False}})

    assert response.data["paymentStatus"] == "Declined"


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "12.110.1302", "cardInfo is missing"),
        ({"cardInfo": {"PAN": "4000000000000001", "validationDate": "2099-01-01T00:00:00Z"}}, "12.110.1301", "PAN"),
        ({"cardInfo": {"PAN": "4000000000000002"}}, "12.110.1302", "validationDate"),
        (
            {"cardInfo": {"PAN": "4000000000000002", "validationDate": "2099-01-01T00:00:00Z", "secureCode": "12"}},
            "12.110.1301",
            "secureCode",
        ),
        (
            {"cardInfo": {"PAN": "4000000000000002", "validationDate": "2099-01-01T00:00:00Z", "createToken": "yes"}},
            "12.110.1301",
            "createToken",
        ),
        ({"actionProcessed": {"executed": True}}, "12.110.1302", "cardInfo is missing"),
    ],
)
def test_card_validation(api, body, code, fragment):
    tx = api.checkout(methods=["CARD"]).data["transactionID"]

    response = api.execute(tx, "card/purchase", body)

    assert response.status_code == 400
    assert response.data["returnStatus"]["statusCode"] == code
    assert fragment in response.data["returnStatus"]["statusDescription"]


def test_token_generation_then_token_purchase(api):
    tx = api.checkout(
        amount="19.20",
        payment_type="AUTH",
        methods=["CARD"],
        tokenisation={"tokenisationRequest": {"tokeniseCard": True}},
    ).data["transactionID"]
    generated = api.execute(tx, "card/purchase", card_body())
    token = generated.data["token"]["value"]
    [generation] = notifications("card")
    assert generation["paymentType"] == "AUTH"
    assert generation["token"] == {"tokenType": "Card", "value": token}

    checkout = api.checkout(methods=["TOKEN"], tokenisation={"paymentTokens": [{"tokenType": "Card", "value": token}]})
    assert checkout.data["tokenList"][0]["value"] == token
    tx2 = checkout.data["transactionID"]
    purchase = api.execute(tx2, "token/purchase", {"tokenInfo": {"value": token, "tokenType": "Card"}})

    assert purchase.data["paymentStatus"] == "Success"
    [payload] = notifications("token")
    assert payload["paymentMethod"] == "TOKEN" and payload["paymentType"] == "PURS"
    assert payload["token"] == {"tokenType": "Card", "value": token}


def test_an_unknown_token_is_refused(api):
    tx = api.checkout(methods=["TOKEN"]).data["transactionID"]

    missing = api.execute(tx, "token/purchase", {})
    unknown = api.execute(tx, "token/purchase", {"tokenInfo": {"value": "nope"}})

    assert missing.status_code == 400 and missing.data["returnStatus"]["statusCode"] == "12.110.1302"
    assert unknown.status_code == 400 and "not a card token" in unknown.data["returnStatus"]["statusDescription"]


@pytest.mark.parametrize(("mit_type", "qualifier"), [("UCOF", "ESTIMATED"), ("RCRR", "ACTUAL")])
def test_cit_then_mit(api, mit_type, qualifier):
    cit = {"type": mit_type, "amountQualifier": qualifier, "validityDate": "2099-01-31T00:00:00Z"}
    tx = api.checkout(amount="102.38", payment_type="AUTH", methods=["CARD"], merchantInitiatedTransaction=cit)
    tx = tx.data["transactionID"]
    api.execute(tx, "card/purchase", card_body())
    [cit_payload] = notifications("card")
    assert cit_payload["merchantInitiatedTransaction"]["type"] == mit_type

    body = {
        "merchant": {"terminalId": TERMINAL, "merchantTransactionId": f"MIT-{mit_type}"},
        "transaction": {"amount": {"value": Decimal("5.16"), "currency": "EUR"}, "description": "Mensalidade"},
        "originalTransaction": {"id": tx},
    }
    response = api.post(f"payments/{tx}/mit", body)

    assert response.status_code == 200, response.data
    assert response.data["paymentType"] == "MITR" and response.data["paymentStatus"] == "Success"
    assert response.data["originalTransaction"] == {"id": tx}
    [payload] = notifications("mit")
    assert payload["paymentType"] == "MITR" and payload["paymentMethod"] == "CARD"
    assert payload["merchantInitiatedTransaction"] == {"type": mit_type, "amountQualifier": qualifier}
    assert payload["transactionID"] == response.data["transactionID"] != tx


def test_mit_needs_a_cit(api):
    tx = api.paid_card()
    body = {"merchant": {"merchantTransactionId": "MIT-1"}, "transaction": {"amount": {"value": 5, "currency": "EUR"}}}

    response = api.post(f"payments/{tx}/mit", body)

    assert response.status_code == 400
    assert "merchant-initiated" in response.data["returnStatus"]["statusDescription"]


def test_qr_code_purchase_notification_has_the_financial_operation(api):
    body = {
        "terminalId": TERMINAL,
        "product": {"productName": "Nome info", "productQuantity": 1, "productAmount": 1.5, "expeditionAmount": 0.1},
        "billingInfo": {"billingAddressCity": "Lisboa ", "billingTIN": "123456789"},
        "expeditionInfo": {"expeditionName": "Olga Rodrigues"},
    }

    response = api.post("/sandbox/control/qrcode-purchases", body)

    assert response.status_code == 200, response.data
    [payload] = notifications("qrcode")
    assert payload["paymentMethod"] == "STATIC_QRCODE" and payload["paymentType"] == "PURS"
    assert payload["merchant"] == {"terminalId": TERMINAL}  # no merchant transaction id (seed 002 #9)
    assert payload["amount"]["value"] == 1.6
    product = payload["financialOperation"]["product"]
    assert product["productName"] == "Nome info" and product["productAmount"] == 1.5
    assert payload["financialOperation"]["billingInfo"]["billingAddressCity"] == "Lisboa "
    assert payload["transactionID"].startswith("3W") and len(payload["transactionID"]) == 14
    notification = parse_notification(SandboxNotification.objects.get(event="qrcode").payload)
    assert notification.merchant_transaction_id is None
    assert notification.financial_operation.product["staticQRCodeId"]
