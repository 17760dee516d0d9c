"""The sandbox's server-to-server flow, as seed 003 describes SIBS's: checkout answer, Digest
authorisation on the execution calls, MB WAY purchase then a later result, reference generation,
and the magic values a backoffice demo and its tests rely on."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from payments.requests.models import RequestState
from payments.requests.selectors import request_status
from sandbox.models import SandboxPayment
from tests.payments.ops_support import make_gateway
from tests.payments.requests.support import ask
from tests.payments.requests.test_services import settle
from tests.sandbox.conftest import checkout_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def test_checkout_answers_signature_and_form_context(world, gw):
    response = gw.api.checkout(checkout_body(amount="5.50", methods=["MBWAY", "REFERENCE"], terminal=11111))
    assert response.status_code == 200
    data = response.data
    assert data["transactionID"].startswith("s2") and data["transactionSignature"]
    context = json.loads(base64.b64decode(data["formContext"]))
    assert context["TransactionSignature"] == data["transactionSignature"]
    assert context["PaymentMethod"] == ["MBWAY", "REFERENCE"]
    assert data["returnStatus"]["statusCode"] == "000"
    assert data["paymentMethodList"] == ["MBWAY", "REFERENCE"]


def test_execution_needs_the_transaction_signature_as_digest(world, gw):
    data = gw.api.checkout(checkout_body(amount="5.50", methods=["MBWAY"], terminal=11111)).data
    tx = data["transactionID"]
    path = f"payments/{tx}/mbway-id/purchase"
    body = {"customerPhone": "351#912345678"}
    bearer = gw.api.raw("POST", path, body, authorization=f"Bearer {gw.api.token}")
    assert bearer.status_code == 401
    wrong = gw.api.raw("POST", path, body, authorization="Digest not-the-signature")
    assert wrong.status_code == 401
    ok = gw.api.raw("POST", path, body, authorization=f"Digest {data['transactionSignature']}")
    assert ok.status_code == 200
    assert ok.json()["paymentStatus"] == "Pending" and ok.json()["transactionID"] == tx
    # a second purchase on the same checkout is refused
    again = gw.api.raw("POST", path, body, authorization=f"Digest {data['transactionSignature']}")
    assert again.status_code == 400


@pytest.mark.parametrize(("amount", "code"), [("25.05", "declined"), ("25.08", "expired"), ("25.00", "paid")])
def test_magic_mbway_amounts(world, gw, amount, code):
    request = settle(ask(world, amount=amount).request)
    assert request_status(request).code == code


def test_mbway_above_its_limit_is_refused_in_words(world, gw):
    request = ask(world, amount="6000.00").request
    assert request.state == RequestState.FAILED
    assert request.return_code == "12.110.1301"
    assert "MB WAY limit" in request.outcome_detail
    assert request.transaction is None


def test_reference_with_an_entity_not_active_is_refused(world, gw):
    request = ask(world, method="REFERENCE", reference_entity="11604").request
    assert request.state == RequestState.FAILED
    assert "11604" in request.outcome_detail
    # SIBS's checkout exists but nothing was generated: nothing to pay
    payment = SandboxPayment.objects.get(transaction_id=request.sibs_transaction_id)
    assert payment.reference == "" and payment.payment_method == ""
    assert payment.amount == Decimal("25.00")
