"""Four eyes with API keys: a key acts for the person who created it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from payments.models import OperationPolicy, PaymentOperation
from tests.factories import PASSWORD
from tests.payments.ops_support import make_gateway
from tests.payments.test_api_operations import api, decide, error, key_for, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def _pending_by_alices_key(world, gw):
    # given alice (Owner) creates a key and asks for a refund above the threshold with it
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("10"))
    txn = gw.paid(amount="50.00")
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "30.00", "reason": "customer_request"})
    assert response.status_code == 202 and response.json()["state"] == "pending_approval"
    op = PaymentOperation.objects.get(pk=response.json()["id"])
    assert op.requested_by_id is None and op.requested_by_key_creator_id == world.alice.pk
    return txn, op


def test_the_keys_creator_cannot_approve_through_the_api(world, gw, login):
    _txn, op = _pending_by_alices_key(world, gw)
    # when alice approves it herself, signed in, with her password
    response = decide(login(world.alice), op.pk, "approve", {"password": PASSWORD})
    # then she is refused and nothing is sent
    error(response, 403, "own_request")
    op.refresh_from_db()
    assert op.state == "pending_approval" and not gw.adapter.money_calls()


def test_the_keys_creator_cannot_approve_from_the_page(world, gw, login):
    txn, op = _pending_by_alices_key(world, gw)
    alice = login(world.alice)
    page = alice.get(f"/m/loja/transactions/{txn.transaction_id}/").content.decode()
    assert 'data-testid="op-approve-form"' not in page
    response = alice.post(f"/m/loja/operations/{op.pk}/approve/", {f"op{op.pk}-password": PASSWORD})
    assert response.status_code == 403
    op.refresh_from_db()
    assert op.state == "pending_approval" and not gw.adapter.money_calls()


def test_another_person_approves_a_key_request(world, gw, login):
    _txn, op = _pending_by_alices_key(world, gw)
    response = decide(login(world.adam), op.pk, "approve", {"password": PASSWORD})
    assert response.status_code == 201, response.content
    assert json.loads(response.content)["state"] == "succeeded"
    assert len(gw.adapter.money_calls()) == 1
