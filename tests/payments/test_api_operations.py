"""POST /api/v1/transactions/{id}/refunds|captures|cancellations: same rules as the page."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from backoffice.roles import Role
from payments.models import OperationPolicy, PaymentOperation
from tests.payments.ops_support import make_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def key_for(world, *, role=Role.OPERATOR, stores=()):
    _key, plaintext = services.api_key_create(
        access=Access.for_membership(world.m_alice),
        actor=Actor(user=world.alice),
        name=f"key-{role}-{len(stores)}",
        role=role,
        **({"stores": list(stores)} if stores else {}),
    )
    return plaintext


def api(key):
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def post(client, txn_id, body, *, key="k-1", what="refunds", raw=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post(
        f"/api/v1/transactions/{txn_id}/{what}", data=data, content_type="application/json", headers=headers
    )


def error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert set(body) == {"type", "code", "message", "fields"} and body["message"]
    assert body["code"] == code, body
    return body


def test_a_partial_refund_through_the_api(world, gw):
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "12.50", "reason": "returned_goods"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "succeeded" and body["amount"] == "12.50" and body["kind"] == "refund"
    assert body["operation_transaction_id"] and body["requested_by"].startswith("api-key:")
    assert body["balances"]["refunded"] == "12.50" and body["balances"]["refundable"] == "37.50"
    assert "Idempotent-Replayed" not in response
    assert AuditEvent.objects.filter(action="payment.refund_requested", actor_label__startswith="api-key:").exists()

    listed = api(key_for(world, role=Role.VIEWER)).get(f"/api/v1/transactions/{txn.transaction_id}/refunds")
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [body["id"]]


def test_the_same_idempotency_key_replays_without_a_second_call(world, gw):
    txn = gw.paid(amount="50.00")
    client = api(key_for(world))
    first = post(client, txn.transaction_id, {"amount": 10, "reason": "customer_request"}, key="order-7-refund")
    again = post(client, txn.transaction_id, {"amount": 10, "reason": "customer_request"}, key="order-7-refund")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(gw.adapter.money_calls()) == 1

    other = post(client, txn.transaction_id, {"amount": 11, "reason": "customer_request"}, key="order-7-refund")
    error(other, 422, "idempotency_key_reused")
    assert len(gw.adapter.money_calls()) == 1


def test_a_missing_idempotency_key_is_a_clear_400(world, gw):
    txn = gw.paid(amount="50.00")
    body = error(post(api(key_for(world)), txn.transaction_id, {"reason": "customer_request"}, key=None), 400,
                 "idempotency_key_missing")  # fmt: skip
    assert "Idempotency-Key" in body["message"]
    assert not PaymentOperation.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [({"amount": "10.001", "reason": "customer_request"}, "invalid_amount"),
     ({"amount": "-5", "reason": "customer_request"}, "invalid_amount"),
     ({"amount": "1e2", "reason": "customer_request"}, "invalid_amount"),
     ({"amount": {"value": 1}, "reason": "customer_request"}, "invalid_amount"),
     ({"amount": "5"}, "invalid_reason"),
     ({"amount": "5", "reason": "<script>"}, "invalid_reason"),
     ({"amount": "5", "reason": "customer_request", "comment": ["x"]}, "invalid_comment"),
     ({"amount": "5", "reason": "customer_request", "ammount": "9"}, "unknown_field"),
     ({"amount": "5", "reason": "other"}, "comment_required")],
)  # fmt: skip
def test_malformed_and_hostile_bodies_are_refused(world, gw, body, code):
    txn = gw.paid(amount="50.00")
    error(post(api(key_for(world)), txn.transaction_id, body), 400, code)
    assert not gw.adapter.money_calls()


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_an_object_is_refused(world, gw, raw):
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, None, raw=raw)
    assert response.status_code == 400
    assert not gw.adapter.money_calls()


def test_more_than_refundable_is_a_422_in_words(world, gw):
    txn = gw.paid(amount="50.00")
    body = error(post(api(key_for(world)), txn.transaction_id, {"amount": "50.01", "reason": "customer_request"}),
                 422, "amount_exceeds_available")  # fmt: skip
    assert "€50.01 is more than the €50.00" in body["message"]


def test_an_impossible_action_is_a_409(world, gw):
    txn = gw.paid(amount="50.00")
    body = error(post(api(key_for(world)), txn.transaction_id, {"reason": "shipped"}, what="captures"), 409,
                 "not_possible")  # fmt: skip
    assert "Only an authorisation can be captured" in body["message"]


def test_capture_and_cancellation_through_the_api(world, gw):
    auth = gw.paid(amount="80.00", payment_type="AUTH")
    client = api(key_for(world))
    captured = post(
        client, auth.transaction_id, {"amount": "30", "reason": "partial_shipment"}, what="captures", key="c"
    )
    assert captured.status_code == 201 and captured.json()["state"] == "succeeded"
    refused = post(client, auth.transaction_id, {"reason": "order_cancelled"}, what="cancellations", key="x")
    error(refused, 409, "not_possible")

    other = gw.paid(amount="20.00", payment_type="AUTH")
    cancelled = post(client, other.transaction_id, {"reason": "order_cancelled"}, what="cancellations", key="y")
    assert cancelled.status_code == 201 and cancelled.json()["amount"] == "20.00"


def test_a_refund_above_the_threshold_is_accepted_and_waits(world, gw):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("10"))
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "30", "reason": "customer_request"})
    assert response.status_code == 202 and response.json()["state"] == "pending_approval"
    assert Decimal(response.json()["balances"]["refundable"]) == Decimal("20.00")
    assert not gw.adapter.money_calls()


def test_a_lost_answer_is_202_unknown(world, gw, monkeypatch):
    from payments.services import operations as ops

    txn = gw.paid(amount="50.00")
    real = ops.operation_request
    monkeypatch.setattr(
        ops, "operation_request", lambda **kw: real(**kw, gateway_headers={"X-Sandbox-Outcome": "timeout"})
    )
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "5", "reason": "customer_request"})
    assert response.status_code == 202 and response.json()["state"] == "unknown"
    assert "may or may not" in response.json()["message"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.FINANCE, Role.QR_MANAGER])
def test_roles_without_the_capability_get_403(world, gw, role):
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world, role=role)), txn.transaction_id, {"amount": "1", "reason": "customer_request"})
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_denied"
    assert not PaymentOperation.objects.exists()


def test_a_key_of_another_store_or_merchant_sees_nothing(world, gw):
    lisboa = gw.paid(amount="50.00", terminal=11111)
    porto_key = key_for(world, stores=[world.porto])
    response = post(api(porto_key), lisboa.transaction_id, {"amount": "1", "reason": "customer_request"})
    assert response.status_code == 404

    _k, outra_key = services.api_key_create(
        access=Access.for_membership(world.m_mallory), actor=Actor(user=world.mallory), name="o", role=Role.OWNER
    )
    response = post(api(outra_key), lisboa.transaction_id, {"amount": "1", "reason": "customer_request"})
    assert response.status_code == 404
    assert not PaymentOperation.objects.exists()


def test_without_credentials_401(world, gw):
    txn = gw.paid(amount="50.00")
    response = post(Client(), txn.transaction_id, {"amount": "1", "reason": "customer_request"})
    assert response.status_code in (401, 403)


def test_the_schema_documents_the_endpoints(world, login):
    response = login(world.alice).get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/transactions/{transaction_id}/refunds" in text and "Idempotency-Key" in text


# --- four eyes through the API ------------------------------------------------------------------


def _pending(world, gw, amount="30.00"):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("10"))
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, {"amount": amount, "reason": "customer_request"})
    assert response.status_code == 202 and response.json()["state"] == "pending_approval"
    return txn, response.json()["id"]


def decide(client, pk, what, body=None, raw=None):
    data = raw if raw is not None else json.dumps(body or {})
    return client.post(f"/api/v1/operations/{pk}/{what}", data=data, content_type="application/json")


def test_another_person_approves_through_the_api_with_their_password(world, gw, login):
    from tests.factories import PASSWORD

    _txn, pk = _pending(world, gw)
    adam = login(world.adam)
    error(decide(adam, pk, "approve", {}), 403, "wrong_password")
    error(decide(adam, pk, "approve", {"password": "nope"}), 403, "wrong_password")
    assert AuditEvent.objects.filter(action="payment.password_failed", actor=world.adam).count() == 2
    assert not gw.adapter.money_calls()

    ok = decide(adam, pk, "approve", {"password": PASSWORD})
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert (body["state"], body["approved_by"], body["balances"]["refunded"]) == (
        "succeeded",
        "adam@loja.example",
        "30.00",
    )
    # approving again (a retry) answers the settled request and sends nothing more
    again = decide(adam, pk, "approve", {"password": PASSWORD})
    assert again.status_code == 201 and again.json()["state"] == "succeeded"
    assert len(gw.adapter.money_calls()) == 1
    assert AuditEvent.objects.filter(action="payment.refund_approved", actor=world.adam).count() == 1
    # and anyone who may see it can follow it
    seen = api(key_for(world, role=Role.VIEWER)).get(f"/api/v1/operations/{pk}")
    assert seen.status_code == 200 and seen.json()["state"] == "succeeded"


def test_an_api_key_cannot_approve_nor_a_person_their_own_request(world, gw, login):
    from tests.factories import PASSWORD

    txn, pk = _pending(world, gw)
    error(
        decide(api(key_for(world, role=Role.OWNER)), pk, "approve", {"password": "x"}), 403, "approval_needs_a_person"
    )

    bob = login(world.bob)  # bob asks through the API, signed in
    response = bob.post(
        f"/api/v1/transactions/{txn.transaction_id}/refunds",
        data=json.dumps({"amount": "15.00", "reason": "customer_request"}),
        content_type="application/json",
        headers={"Idempotency-Key": "bob-1"},
    )
    assert response.status_code == 202, response.content
    error(decide(bob, response.json()["id"], "approve", {"password": PASSWORD}), 403, "own_request")
    assert not gw.adapter.money_calls()


def test_a_rejection_through_the_api_releases_the_amount(world, gw):
    _txn, pk = _pending(world, gw)
    key = api(key_for(world))
    rejected = decide(key, pk, "reject", {"comment": "Customer changed their mind"})
    assert rejected.status_code == 201, rejected.content
    assert rejected.json()["state"] == "rejected" and rejected.json()["balances"]["refundable"] == "50.00"
    error(decide(key, pk, "reject", {}), 409, "not_pending")
    assert not gw.adapter.money_calls()


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("[]", 400, "invalid_body"),
        ('{"password": 123}', 400, "invalid_password"),
        ('{"amount": "1"}', 400, "unknown_field"),
        ("{", 400, "parse_error"),
    ],
)
def test_hostile_decisions_are_refused(world, gw, login, raw, status, code):
    _txn, pk = _pending(world, gw)
    response = decide(login(world.adam), pk, "approve", raw=raw)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code, response.json()
    assert PaymentOperation.objects.get(pk=pk).state == "pending_approval"


def test_another_merchant_store_or_role_cannot_touch_a_request(world, gw):
    _txn, pk = _pending(world, gw)  # a Lisboa payment
    for client in (
        api(key_for(world, stores=[world.porto])),  # another store: not found
        api(_mallory_key(world)),  # another merchant: not found
    ):
        assert client.get(f"/api/v1/operations/{pk}").status_code == 404
        assert decide(client, pk, "reject").status_code == 404
    viewer = api(key_for(world, role=Role.VIEWER))
    error(decide(viewer, pk, "reject"), 403, "permission_denied")
    assert Client().post(f"/api/v1/operations/{pk}/reject").status_code == 401
    assert PaymentOperation.objects.get(pk=pk).state == "pending_approval"


def _mallory_key(world):
    _key, plaintext = services.api_key_create(
        access=Access.for_membership(world.m_mallory), actor=Actor(user=world.mallory), name="outra", role=Role.OWNER
    )
    return plaintext
