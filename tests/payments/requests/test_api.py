"""POST /api/v1/payment-requests and GET /api/v1/payment-requests/{id}: same rules as the page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backoffice.roles import Role
from payments.requests.models import PaymentRequest
from sandbox.models import SandboxPayment
from tests.payments.ops_support import make_gateway
from tests.payments.test_api_operations import api, error, key_for

pytestmark = pytest.mark.django_db

MBWAY = {"terminal": 11111, "method": "MBWAY", "amount": "25.00", "order_reference": "API-1", "phone": "912345678"}


@pytest.fixture
def gw(world):
    return make_gateway(world)


def post(client, body, *, key="k-1", raw=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post("/api/v1/payment-requests", data=data, content_type="application/json", headers=headers)


def test_an_mbway_request_through_the_api_and_its_replay(world, gw):
    client = api(key_for(world))
    response = post(client, MBWAY)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "sent" and body["status"] == "waiting_customer"
    assert body["amount"] == "25.00" and body["phone"] != "351#912345678" and body["phone"].endswith("678")
    assert body["transaction_id"] == PaymentRequest.objects.get().sibs_transaction_id
    again = post(client, MBWAY)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == body["id"]
    assert SandboxPayment.objects.count() == 1
    other = post(client, {**MBWAY, "amount": "26.00"})
    error(other, 422, "idempotency_key_reused")
    detail = client.get(f"/api/v1/payment-requests/{body['id']}")
    assert detail.status_code == 200 and detail.json()["id"] == body["id"]


def test_a_reference_through_the_api(world, gw):
    client = api(key_for(world))
    until = (timezone.now() + timedelta(days=2)).isoformat()
    body = {
        "terminal": 11111,
        "method": "REFERENCE",
        "amount": 30,
        "order_reference": "API-2",
        "entity": "24000",
        "valid_until": until,
        "customer_email": "c@example.pt",
        "language": "en",
    }
    response = post(client, body)
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    assert reference["entity"] == "24000" and len(reference["reference"]) == 9 and reference["amount"] == "30.00"
    assert response.json()["status"] == "awaiting_payment"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**MBWAY, "amount": "0"}, 400, "invalid_amount"),
        ({**MBWAY, "amount": "1e9"}, 400, "invalid_amount"),
        ({**MBWAY, "amount": True}, 400, "invalid_amount"),
        ({**MBWAY, "amount": ["1"]}, 400, "invalid_amount"),
        ({**MBWAY, "amount": "10000.01"}, 400, "amount_too_large"),
        ({**MBWAY, "phone": "12"}, 400, "invalid_phone"),
        ({**MBWAY, "phone": 912345678}, 400, "invalid_phone"),
        ({**MBWAY, "method": "CARD"}, 400, "invalid_method"),
        ({**MBWAY, "terminal": 99999}, 404, "unknown_terminal"),
        ({**MBWAY, "terminal": "abc"}, 400, "invalid_terminal"),
        ({**MBWAY, "order_reference": ""}, 400, "order_reference_required"),
        ({**MBWAY, "order_reference": "x" * 300}, 400, "invalid_order_reference"),
        # refused by the API's JSON parser before the field is read (backoffice.untrusted)
        ({**MBWAY, "order_reference": "bad\u0000"}, 400, "unsafe_characters"),
        ({**MBWAY, "customer_email": "nope"}, 400, "invalid_email"),
        ({**MBWAY, "hack": 1}, 400, "unknown_field"),
        ({**MBWAY, "method": "REFERENCE", "entity": "24000", "valid_until": "tomorrow"}, 400, "invalid_validity"),
        ({**MBWAY, "method": "REFERENCE", "entity": "1"}, 400, "invalid_entity"),
        ({"method": "MBWAY", "amount": "1", "order_reference": "x", "phone": "912345678"}, 400, "terminal_required"),
    ],
)
def test_malformed_and_hostile_bodies_are_refused(world, gw, body, status, code):
    error(post(api(key_for(world)), body), status, code)
    assert not PaymentRequest.objects.exists()


@pytest.mark.parametrize("raw", ["[]", "not json", '"text"', "{"])
def test_a_body_that_is_not_an_object_is_refused(world, gw, raw):
    assert post(api(key_for(world)), None, raw=raw).status_code == 400


def test_a_missing_idempotency_key_is_a_clear_400(world, gw):
    error(post(api(key_for(world)), MBWAY, key=None), 400, "idempotency_key_missing")


def test_a_sibs_refusal_is_a_failed_request(world, gw):
    from tests.factories import make_terminal

    make_terminal(world.lisboa, 44444)
    response = post(api(key_for(world)), {**MBWAY, "terminal": 44444})
    assert response.status_code == 201
    assert response.json()["state"] == "failed" and response.json()["status"] == "failed"
    assert "HTTP 400" in response.json()["message"]


@pytest.mark.parametrize("role", [Role.FINANCE, Role.VIEWER, Role.QR_MANAGER])
def test_roles_without_the_capability_get_403(world, gw, role):
    assert post(api(key_for(world, role=role)), MBWAY).status_code == 403


def test_another_store_or_merchant_sees_nothing(world, gw):
    pr_id = post(api(key_for(world)), MBWAY).json()["id"]
    porto = api(key_for(world, stores=[world.porto]))
    assert porto.get(f"/api/v1/payment-requests/{pr_id}").status_code == 404
    error(post(porto, {**MBWAY, "amount": "2"}, key="p"), 404, "unknown_terminal")
    assert Client().get(f"/api/v1/payment-requests/{pr_id}").status_code in (401, 403)


def test_the_schema_documents_the_endpoints(world, login):
    text = login(world.alice).get("/api/v1/schema/").content.decode()
    assert "/api/v1/payment-requests" in text and "/api/v1/payment-requests/{id}" in text
    assert "Idempotency-Key" in text
