"""Strings from outside that cannot be stored (NUL, lone surrogates) are refused with a 400."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from payments.models import OperationPolicy, PaymentOperation
from tests.payments.ops_support import make_gateway
from tests.payments.test_api_operations import api, decide, error, key_for, post

pytestmark = pytest.mark.django_db

HOSTILE = ["bad\u0000comment", "\ud800x", "x\udfff"]


@pytest.fixture
def gw(world):
    return make_gateway(world)


@pytest.mark.parametrize("comment", HOSTILE)
@pytest.mark.parametrize("what", ["refunds", "captures", "cancellations"])
def test_a_money_request_with_an_unstorable_comment_is_a_400(world, gw, what, comment):
    txn = gw.paid(amount="50.00", payment_type="AUTH" if what != "refunds" else "PURS")
    body = {"amount": "10.00", "reason": "customer_request", "comment": comment}
    if what == "cancellations":
        body.pop("amount")
    response = post(api(key_for(world)), txn.transaction_id, body, what=what)
    error(response, 400, "unsafe_characters")
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()


def _pending(world, gw):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("10"))
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "30.00", "reason": "customer_request"})
    assert response.status_code == 202
    return response.json()["id"]


@pytest.mark.parametrize("comment", HOSTILE)
def test_a_rejection_with_an_unstorable_comment_is_a_400(world, gw, comment):
    pk = _pending(world, gw)
    error(decide(api(key_for(world)), pk, "reject", {"comment": comment}), 400, "unsafe_characters")
    assert PaymentOperation.objects.get(pk=pk).state == "pending_approval"


@pytest.mark.parametrize("password", ["\ud800x", "pass\u0000word"])
def test_an_approval_with_an_unstorable_password_is_a_400(world, gw, login, password):
    pk = _pending(world, gw)
    error(decide(login(world.adam), pk, "approve", {"password": password}), 400, "unsafe_characters")
    assert PaymentOperation.objects.get(pk=pk).state == "pending_approval"


def test_a_query_string_with_nul_is_a_400_naming_it(world):
    response = api(key_for(world)).get("/api/v1/transactions", {"q": "a\u0000b"})
    assert error(response, 400, "invalid")["fields"] == {"q": [json.loads(response.content)["error"]["message"]]}


def test_the_audit_log_up_to_the_last_day_there_is(world, login):
    client = login(world.alice)
    assert client.get("/m/loja/audit/?until=9999-12-31").status_code == 200
    assert client.get("/m/loja/audit/?since=0001-01-01&until=9999-12-31").status_code == 200


@pytest.mark.parametrize("name", ["period", "tab", "method", "status", "store"])
def test_an_empty_list_filter_is_refused(world, name):
    response = api(key_for(world)).get(f"/api/v1/transactions?{name}=")
    assert name in error(response, 400, "invalid")["fields"]


def test_the_schema_states_bounds_and_every_error_status(world, login):
    import yaml

    schema = yaml.safe_load(login(world.alice).get("/api/v1/schema/").content)
    listing = schema["paths"]["/api/v1/transactions"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    refund = schema["paths"]["/api/v1/transactions/{transaction_id}/refunds"]["post"]
    key = next(p for p in refund["parameters"] if p["name"] == "Idempotency-Key")["schema"]
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    assert {"400", "401", "403", "404", "409", "422"} <= set(refund["responses"])
    approve = schema["paths"]["/api/v1/operations/{id}/approve"]["post"]
    assert "429" in approve["responses"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404"):
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (path, method, status)
