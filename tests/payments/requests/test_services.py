"""Payment requests against the sandbox gateway: each outcome, idempotency, refusals, lost answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core import mail
from django.utils import timezone

from backoffice.audit import Actor
from backoffice.models import AuditEvent
from payments.models import ReferenceState, Transaction, TransactionState
from payments.requests import services
from payments.requests.models import PaymentRequest, RequestState
from payments.requests.selectors import request_status
from payments.services import inquiry
from sandbox.models import SandboxPayment
from tests.payments.ops_support import access_of, make_gateway
from tests.payments.requests.support import PHONE_DECLINED, PHONE_TIMEOUT, FailOn, ask, body_of, calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def settle(request: PaymentRequest) -> PaymentRequest:
    """What SIBS says now (as the status sweeper or the page's poll would ask)."""
    inquiry.transaction_inquire(transaction_pk=request.transaction_id)
    request.refresh_from_db()
    return request


def test_mbway_request_sends_the_seed_wire_and_is_paid(world, gw):
    # given / when
    result = ask(world, amount="25.00")
    request = result.request

    # then: a checkout with the bearer token, then the purchase with the signature as Digest
    checkout = calls(gw, "/sandbox/api/v2/payments")
    assert len(checkout) == 1
    assert checkout[0]["headers"]["Authorization"] == f"Bearer {gw.credential.bearer_token}"
    assert checkout[0]["headers"]["X-IBM-Client-Id"] == gw.credential.client_id
    assert checkout[0]["headers"]["Content-Type"] == "application/json"
    body = body_of(checkout[0])
    assert body["merchant"] == {
        "terminalId": 11111,
        "channel": "web",
        "merchantTransactionId": request.gateway_reference,
    }
    assert body["transaction"]["paymentType"] == "PURS"
    assert body["transaction"]["paymentMethod"] == ["MBWAY"]
    assert body["transaction"]["amount"] == {"value": Decimal("25.00"), "currency": "EUR"}
    assert body["transaction"]["moto"] is False
    assert body["transaction"]["description"] == "ENC-1001 — Encomenda por telefone"
    assert b'"value":25.00' in checkout[0]["body"]
    assert "paymentReference" not in body["transaction"]

    purchase = calls(gw, "/mbway-id/purchase")
    assert len(purchase) == 1
    assert purchase[0]["path"] == f"/sandbox/api/v2/payments/{request.sibs_transaction_id}/mbway-id/purchase"
    assert purchase[0]["headers"]["Authorization"].startswith("Digest ")
    assert purchase[0]["headers"]["Authorization"] == f"Digest {request.transaction_signature}"
    assert purchase[0]["headers"]["X-IBM-Client-Id"] == gw.credential.client_id
    assert body_of(purchase[0]) == {"customerPhone": "351#912345678"}

    # the request became a pending transaction, waiting for the customer
    assert request.state == RequestState.SENT
    txn = request.transaction
    assert (txn.transaction_id, txn.payment_method, txn.payment_type, txn.amount) == (
        request.sibs_transaction_id,
        "MBWAY",
        "PURS",
        Decimal("25.00"),
    )
    assert txn.merchant_transaction_id == request.gateway_reference
    assert (txn.store, txn.terminal) == (world.lisboa, world.t_lisboa)
    assert request_status(request).code == "waiting_customer"
    assert "transactionSignature" not in str(request.checkout_response) or "(kept encrypted)" in str(
        request.checkout_response
    )

    # when SIBS is asked (the customer accepted in the app)
    request = settle(request)
    assert request.transaction.state == TransactionState.PAID
    assert request_status(request).code == "paid"
    assert AuditEvent.objects.filter(action="payment_request.requested").count() == 1
    assert AuditEvent.objects.filter(action="payment_request.sent").count() == 1


def test_mbway_declined_by_the_customer_says_why(world, gw):
    request = settle(ask(world, phone=PHONE_DECLINED).request)
    status = request_status(request)
    assert status.code == "declined"
    assert status.detail  # in words: the customer declined
    assert request.transaction.state == TransactionState.DECLINED


def test_mbway_not_answered_in_time_is_expired(world, gw):
    request = settle(ask(world, phone=PHONE_TIMEOUT).request)
    assert request_status(request).code == "expired"


def test_reference_request_sends_entity_and_window_and_emails_the_customer(
    world, gw, django_capture_on_commit_callbacks
):
    until = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        result = ask(
            world,
            method="REFERENCE",
            amount="30.00",
            valid_until=until,
            customer_email="cliente@example.pt",
            language="en",
        )
    request = result.request
    body = body_of(calls(gw, "/sandbox/api/v2/payments")[0])
    assert body["transaction"]["paymentMethod"] == ["REFERENCE"]
    ref = body["transaction"]["paymentReference"]
    assert ref["entity"] == "24000"
    assert ref["minAmount"] == ref["maxAmount"] == {"value": Decimal("30.00"), "currency": "EUR"}
    assert ref["finalDatetime"].endswith("Z") and ref["initialDatetime"].endswith("Z")
    generate = calls(gw, "/service-reference/generate")
    assert len(generate) == 1
    assert generate[0]["headers"]["Authorization"] == f"Digest {request.transaction_signature}"
    assert body_of(generate[0]) == {}

    assert request.state == RequestState.SENT
    assert len(request.reference_number) == 9 and request.reference_entity == "24000"
    assert request.transaction.reference_status == ReferenceState.UNPAID
    assert request_status(request).code == "awaiting_payment"
    # the customer's e-mail, in the language chosen
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cliente@example.pt"]
    assert "MULTIBANCO" in message.subject
    assert "24000" in message.body and "€30.00" in message.body
    assert " ".join([request.reference_number[:3], request.reference_number[3:6], request.reference_number[6:]]) in (
        message.body
    )
    request.refresh_from_db()
    assert request.email_sent_at is not None


def test_reference_email_in_portuguese(world, gw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(world, method="REFERENCE", amount="30.00", customer_email="cliente@example.pt", language="pt")
    assert "Referência MULTIBANCO" in mail.outbox[0].subject
    assert "Entidade" in mail.outbox[0].body
    assert "30,00\u00a0€" in mail.outbox[0].body


def test_reference_paid_and_expired_follow_the_sandbox(world, gw):
    paid = settle(ask(world, method="REFERENCE", amount="30.11", key="a").request)
    assert request_status(paid).code == "paid"
    expired = settle(ask(world, method="REFERENCE", amount="30.22", key="b").request)
    assert request_status(expired).code == "expired"


def test_the_same_key_twice_makes_one_checkout(world, gw):
    first = ask(world, key="double-click")
    second = ask(world, key="double-click")
    assert second.replayed and not first.replayed
    assert second.request.pk == first.request.pk
    assert len(calls(gw, "/sandbox/api/v2/payments")) == 1
    assert len(calls(gw, "/mbway-id/purchase")) == 1
    assert SandboxPayment.objects.count() == 1


def test_the_same_key_for_another_request_is_refused(world, gw):
    ask(world, key="k")
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, key="k", amount="26.00")
    assert error.value.code == "idempotency_key_reused"
    assert PaymentRequest.objects.count() == 1


def test_sibs_refusal_leaves_a_failed_request_and_no_transaction(world, gw):
    # the sandbox refuses a checkout on a terminal that is not the client's
    from tests.factories import make_terminal

    stray = make_terminal(world.lisboa, 44444)
    request = ask(world, terminal=stray).request
    assert request.state == RequestState.FAILED
    assert "HTTP 400" in request.outcome_detail
    assert request.return_code == "12.110.1201"
    assert request.transaction is None
    assert not Transaction.objects.exists()
    assert request_status(request).code == "failed"
    assert calls(gw, "/mbway-id/purchase") == []


def test_execution_refusal_is_a_failed_request(world, gw):
    request = ask(world, headers={"X-Sandbox-Outcome": "decline"}, method="REFERENCE").request
    # a declined generation in a 200: SIBS recorded a declined payment
    assert request.state in (RequestState.SENT, RequestState.FAILED)
    assert request_status(request).code in ("declined", "failed")


@pytest.mark.parametrize("method", ["MBWAY", "REFERENCE"])
def test_invalid_input_is_refused_before_anything_is_sent(world, gw, method):
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method=method, amount="0")
    assert error.value.field == "amount"
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method=method, amount="10000.01")
    assert error.value.code == "amount_too_large"
    with pytest.raises(services.PaymentRequestError):
        ask(world, method=method, amount="1.001")
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method=method, order_reference="  ")
    assert error.value.field == "order_reference"
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method=method, customer_email="not-an-email")
    assert error.value.field == "customer_email"
    assert gw.adapter.calls == [] or all("/status" in c["path"] for c in gw.adapter.calls)
    assert not PaymentRequest.objects.exists()


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("912345678", "351#912345678"),
        ("+351 912 345 678", "351#912345678"),
        ("00351912345678", "351#912345678"),
        ("351#912345678", "351#912345678"),
        ("34#612345678", "34#612345678"),
        ("212345678", None),
        ("+34612345678", None),
        ("abc", None),
        ("351#91234", None),
    ],
)
def test_phone_numbers(phone, ok):
    if ok:
        assert services.clean_phone(phone) == ok
    else:
        with pytest.raises(services.PaymentRequestError):
            services.clean_phone(phone)


def test_reference_needs_entity_and_validity(world, gw):
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method="REFERENCE", reference_entity="2400")
    assert error.value.field == "entity"
    with pytest.raises(services.PaymentRequestError) as error:
        ask(world, method="REFERENCE", valid_until=timezone.now() + timedelta(minutes=5))
    assert error.value.field == "valid_until"


def test_who_may_ask(world, gw):
    from django.core.exceptions import PermissionDenied

    for membership in (world.m_fiona, world.m_victor, world.m_quinn):
        with pytest.raises(PermissionDenied):
            ask(world, who=membership)
    # a store-limited operator asks on their store only
    with pytest.raises(PermissionDenied):
        ask(world, who=world.m_paula, terminal=world.t_lisboa)
    with pytest.raises(PermissionDenied):
        ask(world, who=world.m_bob, terminal=world.t_outra)
    assert not PaymentRequest.objects.exists()
    assert ask(world, who=world.m_alice, key="o").request.state == RequestState.SENT
    assert ask(world, who=world.m_adam, key="a").request.state == RequestState.SENT


def test_lost_purchase_answer_is_unknown_then_settled_by_inquiry(world, gw):
    with FailOn(gw, "/mbway-id/purchase"):
        request = ask(world).request
    assert request.state == RequestState.UNKNOWN
    assert request.transaction is None
    assert request_status(request).code == "unknown"
    # the sweep asks SIBS by the transaction id and finds the purchase went through
    request.next_inquiry_at = timezone.now()
    request.save()
    claimed = services.payment_requests_sweep_claim(now=timezone.now() + timedelta(seconds=1))
    assert claimed == [request.pk]
    assert services.payment_request_inquire(request_pk=request.pk) == RequestState.SENT
    request.refresh_from_db()
    assert request.transaction.payment_method == "MBWAY"
    assert request_status(request).code == "paid"
    # nothing was sent twice
    assert len(calls(gw, "/mbway-id/purchase")) == 1


def test_lost_checkout_answer_is_settled_as_not_sent(world, gw):
    with FailOn(gw, "/sandbox/api/v2/payments"):
        request = ask(world).request
    assert request.state == RequestState.UNKNOWN
    assert calls(gw, "/mbway-id/purchase") == []
    state = services.payment_request_inquire(request_pk=request.pk)
    assert state == RequestState.FAILED
    request.refresh_from_db()
    assert request.sibs_transaction_id  # found by its merchantTransactionId
    assert "never sent to the customer" in request.outcome_detail


def test_unreachable_gateway_fails_at_once(world, gw):
    error = requests.ConnectionError("refused")
    from payments.sibs.client import SibsTransportError

    with FailOn(gw, "/sandbox/api/v2/payments", error, after=False):
        original = gw.adapter.send

        def refuse(request, **kwargs):
            raise SibsTransportError("SIBS could not be reached (ConnectionError)", sent=False)

        gw.adapter.send = refuse
        try:
            request = ask(world).request
        finally:
            gw.adapter.send = original
    assert request.state == RequestState.FAILED


def test_sandbox_timeout_outcome_on_purchase_is_settled(world, gw):
    request = ask(world, headers={"X-Sandbox-Outcome": "timeout"}).request
    assert request.state == RequestState.UNKNOWN
    assert services.payment_request_inquire(request_pk=request.pk) == RequestState.SENT


def test_reminder_once_a_day(world, gw, django_capture_on_commit_callbacks):
    request = ask(world, method="REFERENCE", customer_email="cliente@example.pt").request
    access, actor = access_of(world.m_bob), Actor(user=world.bob)

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_request_remind(access=access, actor=actor, request=request)
    assert len(mail.outbox) == 1
    assert "Lembrete" in mail.outbox[0].subject
    with pytest.raises(services.PaymentRequestError) as error:
        services.payment_request_remind(access=access, actor=actor, request=request)
    assert error.value.code == "reminder_too_soon"
    assert len(mail.outbox) == 1
    PaymentRequest.objects.filter(pk=request.pk).update(last_reminder_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_request_remind(access=access, actor=actor, request=request)
    assert len(mail.outbox) == 2
    # a paid reference is not reminded
    settle(request)
    Transaction.objects.filter(pk=request.transaction_id).update(reference_status=ReferenceState.PAID)
    request.refresh_from_db()
    with pytest.raises(services.PaymentRequestError):
        services.payment_request_remind(access=access, actor=actor, request=request)


def test_a_paid_mbway_request_is_refunded_like_any_payment(world, gw):
    from payments.models import OperationKind, OperationState
    from payments.services.operations import operation_request

    request = settle(ask(world).request)
    result = operation_request(
        access=access_of(world.m_bob),
        actor=Actor(user=world.bob),
        txn=request.transaction,
        kind=OperationKind.REFUND,
        amount=Decimal("5.00"),
        reason="customer_request",
        idempotency_key="refund-1",
    )
    assert result.operation.state == OperationState.SUCCEEDED
    request.refresh_from_db()
    assert request.transaction.refunded_amount == Decimal("5.00")
    assert request_status(request).code == "refunded"


def test_an_unpaid_reference_request_can_be_cancelled(world, gw):
    from payments.models import OperationKind, OperationState
    from payments.services.operations import operation_request

    request = ask(world, method="REFERENCE", amount="30.00").request
    result = operation_request(
        access=access_of(world.m_bob),
        actor=Actor(user=world.bob),
        txn=request.transaction,
        kind=OperationKind.CANCELLATION,
        amount=None,
        reason="order_cancelled",
        idempotency_key="cancel-1",
    )
    assert result.operation.state == OperationState.SUCCEEDED
    request.refresh_from_db()
    assert request.transaction.state == TransactionState.CANCELLED
    assert request_status(request).code == "cancelled"
    # a cancelled reference is not on the waiting board and is never reminded
    from payments.requests.selectors import waiting_board

    board = waiting_board(access=access_of(world.m_bob))
    assert request not in board.today + board.this_week + board.later + board.expired
