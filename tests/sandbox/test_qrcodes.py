"""QR Code Express in the sandbox: creating codes, the customer's purchase page, the notification."""

from __future__ import annotations

import json

import pytest

from sandbox.models import SandboxNotification, SandboxPayment, SandboxQrCode
from tests.sandbox.conftest import CLIENT_ID, TERMINAL, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}", "X-IBM-Client-Id": CLIENT_ID}


def _create(client, body, headers=AUTH):
    return client.post(
        "/sandbox/control/qrcodes", data=json.dumps(body), content_type="application/json", headers=headers
    )


def _code(client, **overrides):
    body = {
        "terminalId": TERMINAL,
        "productName": "Caneca",
        "productAmount": "1.50",
        "expeditionAmount": "0.10",
        "stockUnits": 3,
        **overrides,
    }
    response = _create(client, body)
    assert response.status_code == 200, response.content
    return SandboxQrCode.objects.get(qr_code_id=response.json()["qrCodeId"])


@pytest.mark.parametrize(
    "body",
    [
        {"terminalId": 12345, "productName": "x", "productAmount": "1"},
        {"terminalId": TERMINAL, "productName": "", "productAmount": "1"},
        {"terminalId": TERMINAL, "productName": "x" * 101, "productAmount": "1"},
        {"terminalId": TERMINAL, "productName": "x", "productAmount": "1.005"},
        {"terminalId": TERMINAL, "productName": "x", "productAmount": "-1"},
        {"terminalId": TERMINAL, "productName": "x", "productAmount": "1", "stockUnits": -1},
        {"terminalId": TERMINAL, "productName": "x", "productAmount": "1", "status": "ON"},
    ],
)
def test_bad_codes_are_refused(client, loja, body):
    response = _create(client, body)
    assert response.status_code == 400
    assert response.json()["returnStatus"]["statusCode"] == "E0101"
    assert not SandboxQrCode.objects.exists()


def test_creating_needs_the_clients_token(client, loja):
    response = _create(
        client,
        {"terminalId": TERMINAL, "productName": "x", "productAmount": "1"},
        headers={**AUTH, "Authorization": "Bearer nope"},
    )
    assert response.status_code == 401


def test_a_customer_buys_and_the_merchant_gets_the_static_qrcode_notification(client, loja):
    code = _code(client)
    page = client.get(f"/sandbox/qr/{code.qr_code_id}/")
    assert page.status_code == 200 and b"Caneca" in page.content
    form = {
        "quantity": "2",
        "name": "Olga Rodrigues",
        "address": "Rua D. João 8",
        "postal_code": "4646-846",
        "city": "Lisboa",
        "tin": "123456789",
        "phone": "934885128",
    }
    paid = client.post(f"/sandbox/qr/{code.qr_code_id}/", form)
    assert paid.status_code == 200 and b'data-testid="qr-paid"' in paid.content
    payment = SandboxPayment.objects.get(payment_method="STATIC_QRCODE")
    assert str(payment.amount) == "3.10"
    code.refresh_from_db()
    assert code.stock_units == 1
    payload = json.loads(SandboxNotification.objects.get(payment=payment).payload)
    assert payload["paymentMethod"] == "STATIC_QRCODE" and payload["paymentStatus"] == "Success"
    product = payload["financialOperation"]["product"]
    assert (product["staticQRCodeId"], product["productQuantity"]) == (code.qr_code_id, 2)
    assert payload["financialOperation"]["expeditionInfo"]["expeditionName"] == "Olga Rodrigues"
    # buying more than the stock: SIBS still takes the money, the units stop at zero
    client.post(f"/sandbox/qr/{code.qr_code_id}/", {**form, "quantity": "5"})
    code.refresh_from_db()
    assert code.stock_units == 0
    assert SandboxPayment.objects.count() == 2


def test_the_purchase_page_refuses_bad_input_suspended_codes_and_unknown_ones(client, loja):
    code = _code(client)
    bad = client.post(f"/sandbox/qr/{code.qr_code_id}/", {"quantity": "0", "postal_code": "1", "phone": "abc"})
    assert bad.status_code == 200 and b"field-error" in bad.content
    SandboxQrCode.objects.filter(pk=code.pk).update(status="SUS")
    form = {"quantity": "1", "name": "A", "address": "B", "postal_code": "1000-001", "city": "C", "phone": "912345678"}
    suspended = client.post(f"/sandbox/qr/{code.qr_code_id}/", form)
    assert b"suspended" in suspended.content
    assert not SandboxPayment.objects.exists()
    assert client.get("/sandbox/qr/nope/").status_code == 404
