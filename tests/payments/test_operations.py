"""Refunds, captures and cancellations through the service, against the sandbox's SIBS rules."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from backoffice.models import AuditEvent
from payments.models import (
    OperationKind,
    OperationPolicy,
    OperationState,
    PaymentOperation,
    Transaction,
    TransactionState,
)
from payments.services import operations as ops
from sandbox.models import SandboxOperation, SandboxPayment
from tests.payments.ops_support import access_of, actor_of, make_gateway, sent_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def refund(world, txn, amount, *, key=None, membership=None, user=None, reason="customer_request", **kw):
    membership = membership or world.m_bob
    return ops.operation_request(
        access=access_of(membership),
        actor=actor_of(user or membership.user),
        txn=txn,
        kind=OperationKind.REFUND,
        amount=None if amount is None else Decimal(amount),
        reason=reason,
        idempotency_key=key or f"k-{amount}-{PaymentOperation.objects.count()}",
        **kw,
    )


def fresh(txn) -> Transaction:
    return Transaction.objects.get(pk=txn.pk)


# --- refunds: partials summing exactly to the total, one cent over refused ---------------------


def test_partial_refunds_sum_exactly_to_the_total_then_one_cent_more_is_refused(world, gw):
    txn = gw.paid(amount="50.00")
    assert (txn.state, txn.captured_amount, txn.refundable_amount) == ("paid", Decimal("50.00"), Decimal("50.00"))

    first = refund(world, txn, "20.00").operation
    assert first.state == OperationState.SUCCEEDED
    assert fresh(txn).state == TransactionState.PARTIALLY_REFUNDED
    assert fresh(txn).refundable_amount == Decimal("30.00")

    second = refund(world, txn, "29.99").operation
    third = refund(world, txn, "0.01").operation
    assert second.state == third.state == OperationState.SUCCEEDED

    txn = fresh(txn)
    assert txn.refunded_amount == Decimal("50.00")
    assert txn.refundable_amount == Decimal("0")
    assert txn.state == TransactionState.REFUNDED
    # SIBS (the sandbox) agrees, and each refund is an operation transaction linked to the payment
    assert SandboxPayment.objects.get(transaction_id=txn.transaction_id).refunded_amount == Decimal("50.00")
    assert txn.operations.filter(payment_type="RFND", payment_status="Success").count() == 3
    assert third.result.original_id == txn.pk

    with pytest.raises(ops.OperationError) as refused:
        refund(world, txn, "0.01")
    assert refused.value.code == "not_possible"
    assert "Nothing is left to refund" in refused.value.message
    assert len(gw.adapter.money_calls()) == 3


def test_one_cent_over_the_refundable_amount_is_refused_before_any_call(world, gw):
    txn = gw.paid(amount="50.00")
    refund(world, txn, "10.00")

    with pytest.raises(ops.OperationError) as refused:
        refund(world, fresh(txn), "40.01")

    assert refused.value.code == "amount_exceeds_available"
    assert refused.value.status == 422
    assert "€40.01 is more than the €40.00 that can still be refunded" in refused.value.message
    assert len(gw.adapter.money_calls()) == 1
    assert PaymentOperation.objects.count() == 1


def test_the_request_sent_has_the_sibs_documentation_shape(world, gw):
    txn = gw.paid(amount="50.00")
    refund(world, txn, "12.50")

    (call,) = gw.adapter.money_calls()
    assert call["path"] == f"/sandbox/api/v2/payments/{txn.transaction_id}/refund"
    assert call["headers"]["Authorization"] == f"Bearer {gw.credential.bearer_token}"
    assert call["headers"]["X-IBM-Client-Id"] == gw.credential.client_id
    assert b'"value":12.50' in call["body"]  # a JSON number with two decimals
    body = sent_body(call)
    assert body["transaction"]["originalTransaction"]["id"] == txn.transaction_id
    assert body["merchant"]["terminalId"] == 11111
    assert body["merchant"]["merchantTransactionId"] == PaymentOperation.objects.get().gateway_reference


def test_a_refund_records_who_when_why_and_the_exchange(world, gw):
    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "5.00", reason="returned_goods", comment="Box damaged").operation

    assert op.requested_by == world.bob and op.requested_by_label == "bob@loja.example"
    assert (op.reason, op.comment) == ("returned_goods", "Box damaged")
    assert op.request_body["transaction"]["amount"]["value"] == "5.00"
    # what is recorded is exactly what went out, timestamp included
    (call,) = gw.adapter.money_calls()
    assert op.request_body == json.loads(call["body"], parse_float=str)
    assert op.response_body["paymentStatus"] == "Success"
    assert op.return_code == "000" and op.http_status == 200
    assert op.sent_at is not None and op.settled_at is not None
    actions = list(AuditEvent.objects.filter(object_id=str(op.pk)).order_by("pk").values_list("action", flat=True))
    assert actions == ["payment.refund_requested", "payment.refund_succeeded"]


# --- captures and cancellations ---------------------------------------------------------------


def test_split_shipment_captures_up_to_the_authorised_amount(world, gw):
    auth = gw.paid(amount="80.00", payment_type="AUTH")
    assert auth.state == TransactionState.AUTHORISED and auth.capturable_amount == Decimal("80.00")

    def capture(amount, key):
        return ops.operation_request(
            access=access_of(world.m_bob),
            actor=actor_of(world.bob),
            txn=auth,
            kind=OperationKind.CAPTURE,
            amount=Decimal(amount),
            reason="partial_shipment",
            idempotency_key=key,
        ).operation

    assert capture("30.00", "c1").state == OperationState.SUCCEEDED
    assert fresh(auth).capturable_amount == Decimal("50.00")
    with pytest.raises(ops.OperationError):
        capture("50.01", "c2")
    assert capture("50.00", "c3").state == OperationState.SUCCEEDED
    auth = fresh(auth)
    assert (auth.captured_amount, auth.capturable_amount, auth.state) == (Decimal("80.00"), 0, "paid")
    # a captured authorisation is refundable, and no longer cancellable
    assert auth.refundable_amount == Decimal("80.00")
    assert ops.refusal(auth, OperationKind.CANCELLATION) is not None
    assert refund(world, auth, "80.00").operation.state == OperationState.SUCCEEDED


def test_an_uncaptured_authorisation_is_cancelled_and_cannot_be_refunded(world, gw):
    auth = gw.paid(amount="40.00", payment_type="AUTH")
    assert "cancel it instead" in ops.refusal(auth, OperationKind.REFUND)

    op = ops.operation_request(
        access=access_of(world.m_bob),
        actor=actor_of(world.bob),
        txn=auth,
        kind=OperationKind.CANCELLATION,
        amount=None,
        reason="order_cancelled",
        idempotency_key="cancel-1",
    ).operation

    assert (op.state, op.amount) == (OperationState.SUCCEEDED, Decimal("40.00"))
    auth = fresh(auth)
    assert (auth.state, auth.cancelled_amount, auth.capturable_amount) == ("cancelled", Decimal("40.00"), 0)
    assert op.result.payment_type == "CAUT"


def test_an_unpaid_multibanco_reference_is_cancelled_in_full(world, gw):
    ref = gw.reference(amount="30.00")
    assert ref.reference_status == "UNPAID"

    def cancel(amount, key):
        return ops.operation_request(
            access=access_of(world.m_bob),
            actor=actor_of(world.bob),
            txn=ref,
            kind=OperationKind.CANCELLATION,
            amount=amount,
            reason="order_cancelled",
            idempotency_key=key,
        ).operation

    with pytest.raises(ops.OperationError) as partial:
        cancel(Decimal("10.00"), "r1")
    assert partial.value.code == "amount_not_full"
    op = cancel(None, "r2")
    assert op.state == OperationState.SUCCEEDED and op.result.payment_type == "CPRF"
    ref = fresh(ref)
    assert (ref.reference_status, ref.cancelled_amount) == ("CANCELLED", Decimal("30.00"))
    assert ops.refusal(ref, OperationKind.REFUND) is not None
    assert "not paid, expired or cancelled" in ops.refusal(ref, OperationKind.CANCELLATION)


# --- idempotency ------------------------------------------------------------------------------


def test_the_same_key_replayed_makes_one_gateway_call_and_returns_the_same_operation(world, gw):
    txn = gw.paid(amount="50.00")
    first = refund(world, txn, "10.00", key="double-click")
    again = refund(world, fresh(txn), "10.00", key="double-click")

    assert not first.replayed and again.replayed
    assert again.operation.pk == first.operation.pk
    assert again.operation.state == OperationState.SUCCEEDED
    assert len(gw.adapter.money_calls()) == 1
    assert fresh(txn).refunded_amount == Decimal("10.00")


def test_the_same_key_with_another_amount_is_refused(world, gw):
    txn = gw.paid(amount="50.00")
    refund(world, txn, "10.00", key="k1")

    with pytest.raises(ops.OperationError) as refused:
        refund(world, fresh(txn), "11.00", key="k1")

    assert refused.value.code == "idempotency_key_reused" and refused.value.status == 422
    assert len(gw.adapter.money_calls()) == 1


def test_keys_are_per_merchant(world, gw):
    txn = gw.paid(amount="50.00")
    refund(world, txn, "10.00", key="shared")
    other = Transaction.objects.create(
        merchant=world.outra,
        transaction_id="outra-1",
        payment_type="PURS",
        payment_status="Success",
        state="paid",
        amount=Decimal("5"),
        currency="EUR",
        captured_amount=Decimal("5"),
        authorised_amount=Decimal("5"),
    )
    # Outra has no credential: the request is reserved, then fails without a call.
    op = ops.operation_request(
        access=access_of(world.m_mallory),
        actor=actor_of(world.mallory),
        txn=other,
        kind=OperationKind.REFUND,
        amount=Decimal("1"),
        reason="customer_request",
        idempotency_key="shared",
    ).operation
    assert op.merchant_id == world.outra.pk and op.state == OperationState.FAILED
    assert "No active gateway credential" in op.outcome_detail


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\tkey"])
def test_a_missing_or_malformed_key_is_refused(world, gw, key):
    txn = gw.paid(amount="50.00")
    with pytest.raises(ops.OperationError) as refused:
        refund(world, txn, "1.00", key=key or " ")
    assert refused.value.code in ("idempotency_key_missing", "idempotency_key_invalid")
    assert not gw.adapter.money_calls()


# --- who may act ------------------------------------------------------------------------------


@pytest.mark.parametrize("membership", ["m_victor", "m_fiona", "m_quinn"])
def test_roles_without_the_capability_are_refused(world, gw, membership):
    txn = gw.paid(amount="50.00")
    with pytest.raises(PermissionDenied):
        refund(world, txn, "1.00", membership=getattr(world, membership))
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()


def test_a_store_limited_operator_acts_only_on_her_store(world, gw):
    lisboa = gw.paid(amount="50.00", terminal=11111)
    porto = gw.paid(amount="50.00", terminal=22222)
    assert porto.store_id == world.porto.pk

    with pytest.raises(PermissionDenied):
        refund(world, lisboa, "1.00", membership=world.m_paula)
    assert refund(world, porto, "1.00", membership=world.m_paula).operation.state == OperationState.SUCCEEDED


def test_another_merchants_owner_is_refused(world, gw):
    txn = gw.paid(amount="50.00")
    with pytest.raises(PermissionDenied):
        refund(world, txn, "1.00", membership=world.m_mallory)


# --- input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [("0", "invalid_amount"), ("-1", "invalid_amount"), ("1.001", "invalid_amount"), ("abc", "invalid_amount"),
     ("1e3", "invalid_amount"), ("NaN", "invalid_amount"), ("Infinity", "invalid_amount"), (True, "invalid_amount"),
     ([1], "invalid_amount"), ("99999999999", "invalid_amount")],
)  # fmt: skip
def test_hostile_amounts_are_refused(value, code):
    with pytest.raises(ops.OperationError) as refused:
        ops.parse_amount(value)
    assert refused.value.code == code


def test_amounts_are_read_exactly():
    assert ops.parse_amount("12,5") == Decimal("12.50")
    assert ops.parse_amount(12.1) == Decimal("12.10")
    assert ops.parse_amount(" 0.01 ") == Decimal("0.01")
    assert ops.parse_amount("") is None


def test_reason_other_needs_a_comment_and_unknown_reasons_are_refused(world, gw):
    txn = gw.paid(amount="50.00")
    with pytest.raises(ops.OperationError) as other:
        refund(world, txn, "1.00", reason="other")
    assert other.value.code == "comment_required"
    with pytest.raises(ops.OperationError) as unknown:
        refund(world, txn, "1.00", reason="because")
    assert unknown.value.code == "invalid_reason"


# --- four eyes --------------------------------------------------------------------------------


def test_a_refund_above_the_threshold_waits_for_another_person(world, gw):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("20.00"))
    txn = gw.paid(amount="50.00")

    op = refund(world, txn, "30.00").operation
    assert op.state == OperationState.PENDING_APPROVAL
    assert not gw.adapter.money_calls()
    # the amount is reserved meanwhile
    assert fresh(txn).refundable_amount == Decimal("20.00")
    with pytest.raises(ops.OperationError):
        refund(world, fresh(txn), "20.01")

    # the requester cannot approve their own request
    with pytest.raises(PermissionDenied):
        ops.operation_approve(access=access_of(world.m_bob), actor=actor_of(world.bob), operation=op)
    # a Viewer cannot approve
    with pytest.raises(PermissionDenied):
        ops.operation_approve(access=access_of(world.m_victor), actor=actor_of(world.victor), operation=op)

    approved = ops.operation_approve(access=access_of(world.m_alice), actor=actor_of(world.alice), operation=op)
    assert approved.state == OperationState.SUCCEEDED and approved.approved_by == world.alice
    assert len(gw.adapter.money_calls()) == 1
    # approving twice sends nothing more
    ops.operation_approve(access=access_of(world.m_adam), actor=actor_of(world.adam), operation=approved)
    assert len(gw.adapter.money_calls()) == 1
    assert fresh(txn).refunded_amount == Decimal("30.00")
    actions = set(AuditEvent.objects.filter(object_id=str(op.pk)).values_list("action", flat=True))
    assert {"payment.refund_requested", "payment.refund_approved", "payment.refund_succeeded"} <= actions


def test_a_rejected_refund_releases_its_reservation(world, gw):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("20.00"))
    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "30.00").operation

    rejected = ops.operation_reject(
        access=access_of(world.m_alice), actor=actor_of(world.alice), operation=op, comment="Not agreed"
    )

    assert rejected.state == OperationState.REJECTED
    assert fresh(txn).refundable_amount == Decimal("50.00")
    assert not gw.adapter.money_calls()
    # and approving after the rejection does nothing
    ops.operation_approve(access=access_of(world.m_adam), actor=actor_of(world.adam), operation=rejected)
    assert not gw.adapter.money_calls()


def test_at_or_below_the_threshold_goes_through_at_once(world, gw):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("20.00"))
    txn = gw.paid(amount="50.00")
    assert refund(world, txn, "20.00").operation.state == OperationState.SUCCEEDED


# --- declines, failures, unknown outcomes -----------------------------------------------------


def test_a_decline_is_recorded_in_words_and_releases_the_amount(world, gw):
    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "10.00", gateway_headers={"X-Sandbox-Outcome": "decline"}).operation

    assert op.state == OperationState.DECLINED
    assert op.return_code == "E0119"
    assert "Declined operation" in op.outcome_detail or "declined" in op.outcome_detail.lower()
    assert "(E0119)" in op.outcome_detail
    assert fresh(txn).refundable_amount == Decimal("50.00")
    assert op.result.payment_status == "Declined"


def test_a_gateway_error_500_leaves_it_unknown_until_the_inquiry_says_not_found(world, gw):
    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "10.00", gateway_headers={"X-Sandbox-Outcome": "error"}).operation

    assert op.state == OperationState.UNKNOWN
    assert fresh(txn).refundable_amount == Decimal("40.00")  # still reserved
    # asked too early, a "not found" proves nothing
    assert ops.operation_inquire(operation_pk=op.pk) == OperationState.UNKNOWN
    later = timezone.now() + ops.NOT_FOUND_GRACE + timedelta(seconds=1)
    assert ops.operation_inquire(operation_pk=op.pk, now=later) == OperationState.FAILED
    op.refresh_from_db()
    assert "never processed" in op.outcome_detail
    assert fresh(txn).refundable_amount == Decimal("50.00")


def test_a_lost_answer_is_settled_by_the_status_inquiry(world, gw):
    """The sandbox processes the refund but answers 408 (the lost-answer case)."""
    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "10.00", gateway_headers={"X-Sandbox-Outcome": "timeout"}).operation

    assert op.state == OperationState.UNKNOWN
    assert SandboxOperation.objects.get().status == "Success"  # SIBS did it
    assert fresh(txn).refunded_amount == Decimal("0")
    assert fresh(txn).refundable_amount == Decimal("40.00")  # reserved while unknown
    with pytest.raises(ops.OperationError):
        refund(world, fresh(txn), "40.01")

    # the sweep claims it when due, and the inquiry by merchantTransactionId settles it
    due = timezone.now() + ops.FIRST_INQUIRY_DELAY + timedelta(seconds=1)
    assert ops.operations_sweep_claim(now=due) == [op.pk]
    assert ops.operations_sweep_claim(now=due) == []  # claimed once
    assert ops.operation_inquire(operation_pk=op.pk) == OperationState.SUCCEEDED

    op.refresh_from_db()
    txn = fresh(txn)
    assert op.result.transaction_id == SandboxOperation.objects.get().transaction_id
    assert (txn.refunded_amount, txn.refundable_amount) == (Decimal("10.00"), Decimal("40.00"))
    assert txn.state == TransactionState.PARTIALLY_REFUNDED
    inquiries = [c for c in gw.adapter.calls if c["path"].endswith("/payments/status")]
    assert len(inquiries) == 1
    assert AuditEvent.objects.filter(action="payment.refund_settled", object_id=str(op.pk)).exists()


def test_a_read_timeout_is_unknown_and_a_refused_connection_is_failed(world, gw):
    txn = gw.paid(amount="50.00")
    gw.adapter.fail_with = requests.ReadTimeout("read timed out")
    op = refund(world, txn, "10.00").operation
    assert op.state == OperationState.UNKNOWN and "did not answer in time" in op.outcome_detail

    gw.adapter.fail_with = requests.ConnectTimeout("connect timed out")
    gw.adapter.fail_after_processing = False
    op2 = refund(world, fresh(txn), "5.00").operation
    assert op2.state == OperationState.FAILED and "nothing was sent" in op2.outcome_detail
    assert fresh(txn).refundable_amount == Decimal("40.00")  # only the unknown one is held


def test_the_notification_that_follows_settles_an_unknown_operation(world, gw, settings):
    """The sandbox writes the refund's notification; applied by the ledger, it settles the request."""
    from django.db import transaction as db_transaction

    from payments.services import ledger
    from payments.sibs.notification import parse_notification
    from sandbox.models import SandboxNotification

    txn = gw.paid(amount="50.00")
    op = refund(world, txn, "10.00", gateway_headers={"X-Sandbox-Outcome": "timeout"}).operation
    assert op.state == OperationState.UNKNOWN

    note = SandboxNotification.objects.filter(payload__contains='"RFND"').get()
    payload = parse_notification(note.payload)
    with db_transaction.atomic():
        ledger.notification_apply(
            merchant=world.loja,
            payload=payload,
            stored_payload=ledger.masked_payload(json.loads(note.payload)),
            occurred_at=timezone.now(),
            notification_id=payload.notification_id,
        )

    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED and op.result.original_id == txn.pk
    assert fresh(txn).refunded_amount == Decimal("10.00")
    assert fresh(txn).refundable_amount == Decimal("40.00")


def test_stale_reservations_are_released_and_dead_calls_become_unknown(world, gw):
    txn = gw.paid(amount="50.00")
    now = timezone.now()
    stale = PaymentOperation.objects.create(
        merchant=world.loja, original=txn, kind="refund", amount=Decimal("5"), currency="EUR",
        state=OperationState.RESERVED, idempotency_key="s1", fingerprint="x", gateway_reference="bo-s1",
        reason="customer_request", updated_at=now - timedelta(hours=1),
    )  # fmt: skip
    dead = PaymentOperation.objects.create(
        merchant=world.loja, original=txn, kind="refund", amount=Decimal("5"), currency="EUR",
        state=OperationState.IN_FLIGHT, idempotency_key="s2", fingerprint="x", gateway_reference="bo-s2",
        reason="customer_request", sent_at=now - timedelta(hours=1),
    )  # fmt: skip

    claimed = ops.operations_sweep_claim(now=now)

    stale.refresh_from_db()
    dead.refresh_from_db()
    assert stale.state == OperationState.FAILED
    assert dead.state == OperationState.UNKNOWN and claimed == [dead.pk]


class _ProcessDied(BaseException):
    """Stands for the worker or web process being killed while it waits for SIBS's answer (not
    an Exception: nothing in the service may catch it)."""


def test_a_call_whose_process_died_mid_way_holds_its_amount_then_the_sweeper_asks_sibs(world, gw):
    txn = gw.paid(amount="50.00")
    gw.adapter.fail_with = _ProcessDied()  # after the sandbox processed it: the money moved
    with pytest.raises(_ProcessDied):
        refund(world, txn, "20.00", key="dies")
    gw.adapter.fail_with = None
    op = PaymentOperation.objects.get(idempotency_key="dies")
    assert op.state == OperationState.IN_FLIGHT
    # the reservation holds: nobody can refund those 20 again meanwhile
    assert fresh(txn).refundable_amount == Decimal("30.00")
    with pytest.raises(ops.OperationError):
        refund(world, fresh(txn), "30.01")

    # Not before the grace period: the call may still be running in a live process.
    assert ops.operations_sweep_claim(now=op.sent_at + ops.STALE_IN_FLIGHT / 2) == []
    assert PaymentOperation.objects.get(pk=op.pk).state == OperationState.IN_FLIGHT

    later = op.sent_at + ops.STALE_IN_FLIGHT + timedelta(seconds=1)
    assert ops.operations_sweep_claim(now=later) == [op.pk]
    op.refresh_from_db()
    assert op.state == OperationState.UNKNOWN and "interrupted" in op.outcome_detail
    assert AuditEvent.objects.filter(action="payment.refund_unknown", object_id=str(op.pk)).exists()

    assert ops.operation_inquire(operation_pk=op.pk, now=later) == OperationState.SUCCEEDED
    assert fresh(txn).refunded_amount == Decimal("20.00") and fresh(txn).refundable_amount == Decimal("30.00")
    assert len(gw.adapter.money_calls()) == 1  # asked about, never sent again


def test_a_cancelled_reference_reads_cancelled_before_and_after_sibs_is_asked_again(world, gw):
    from payments.services import inquiry

    ref = gw.reference(amount="30.00")
    assert fresh(ref).state == TransactionState.AWAITING_PAYMENT or fresh(ref).payment_status == "Pending"
    op = ops.operation_request(
        access=access_of(world.m_bob), actor=actor_of(world.bob), txn=ref, kind=OperationKind.CANCELLATION,
        amount=None, reason="order_cancelled", idempotency_key="ref-cancel",
    ).operation  # fmt: skip
    assert op.state == OperationState.SUCCEEDED
    assert fresh(ref).state == TransactionState.CANCELLED
    # SIBS (the sandbox) answers the reference's status inquiry with the cancellation's outcome
    payload, _ = gw.client().status(ref.transaction_id)
    assert str(payload.payment_status) != "Pending"
    assert inquiry.transaction_inquire(transaction_pk=ref.pk) == "applied"
    ref = fresh(ref)
    assert (ref.state, ref.reference_status, ref.cancelled_amount) == ("cancelled", "CANCELLED", Decimal("30.00"))
    assert ops.refusal(ref, OperationKind.CANCELLATION) is not None


def test_held_amounts_are_one_query_per_instance_until_refreshed(world, gw, django_assert_num_queries):
    txn = gw.paid(amount="50.00")
    refund(world, txn, "5.00")
    txn = type(txn).objects.get(pk=txn.pk)
    with django_assert_num_queries(1):
        assert txn.refundable_amount == txn.refundable_amount
        assert txn.capturable_amount == 0
        assert txn.held_amount("refund") == 0  # the refund went through: nothing held
    PaymentOperation.objects.create(
        merchant=txn.merchant,
        original=txn,
        kind="refund",
        amount="7.00",
        currency="EUR",
        state="unknown",
        idempotency_key="held-test",
        fingerprint="x",
        gateway_reference="bo-re-held",
        reason="customer_request",
    )
    before = txn.refundable_amount
    txn.refresh_from_db()
    assert txn.refundable_amount == before - 7
