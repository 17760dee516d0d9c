"""Applying notifications to transactions: precedence, any arrival order, MULTIBANCO, operations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import Transaction, TransactionEvent
from tests.webhooks.support import again, deliver, notification, store
from webhooks.inbound import services
from webhooks.models import InboundState

T0 = timezone.now() - timedelta(hours=1)


def txn(transaction_id: str) -> Transaction:
    return Transaction.objects.get(transaction_id=transaction_id)


def snapshot(merchant) -> list[tuple]:
    """Everything order must not change, independent of which id arrived first."""
    rows = []
    for t in Transaction.objects.filter(merchant=merchant).select_related("original"):
        ids = frozenset(filter(None, [t.transaction_id, t.secondary_transaction_id]))
        original = (
            frozenset(filter(None, [t.original.transaction_id, t.original.secondary_transaction_id]))
            if t.original
            else None
        )
        rows.append(
            (
                tuple(sorted(ids)),
                t.payment_status,
                t.state,
                t.reference_status,
                t.reference_number,
                t.authorised_amount,
                t.captured_amount,
                t.refunded_amount,
                t.cancelled_amount,
                tuple(sorted(original)) if original else None,
                t.original_unresolved,
            )
        )
    return sorted(rows)


def deliver_all(merchant, payloads: list[dict], terminal: int) -> None:
    for i, payload in enumerate(payloads):
        payload = {**payload, "merchant": {**payload.get("merchant", {}), "terminalId": terminal}}
        assert deliver(merchant, payload, received_at=T0 + timedelta(seconds=i)) == "processed"


# --- pairs whose final state must not depend on arrival order ---------------------------------------

PURCHASE = notification(paymentStatus="Pending")
AUTHORISATION = notification(
    paymentType="AUTH", paymentMethod="CARD", token=None, amount={"value": 50, "currency": "EUR"}
)
GENERATION = notification(
    paymentMethod="REFERENCE",
    paymentType="PREF",
    token=None,
    amount={"value": "20.0", "currency": "EUR"},
    merchant={"transactionId": "order-ref-1"},
    paymentReference={
        "reference": "256309828",
        "entity": "40200",
        "paymentEntity": "40200",
        "amount": {"value": "20.0", "currency": "EUR"},
        "status": "UNPAID",
        "expiryDate": "2030-01-23T10:48:39.153Z ",
    },
)
PAID_SAME_ID = again(GENERATION, paymentReference=None, transactionDateTime="2026-03-13T09:00:00Z")
PAID_OTHER_ID_SAME_ORDER = again(PAID_SAME_ID, transactionID="s2paidwithotherid000")
PAID_OTHER_ID_WITH_REFERENCE = again(
    PAID_OTHER_ID_SAME_ORDER,
    transactionID="s2paidwithreference0",
    merchant={"transactionId": "bank-side-id"},
    paymentReference={"reference": "256309828", "entity": "40200", "status": "PAID"},
)
SUCCESS = again(PURCHASE, paymentStatus="Success")


def op(kind: str, original: dict, *, status="Success", amount="5.00", linked=True, **overrides) -> dict:
    fields = {
        "paymentType": kind,
        "paymentMethod": original["paymentMethod"],
        "paymentStatus": status,
        "token": None,
        "amount": {"value": amount, "currency": "EUR"},
        "merchant": {"transactionId": f"{kind.lower()}-of-{original['transactionID']}"},
    }
    payload = notification(**{**fields, **overrides})
    if linked:
        payload["originalTransaction"] = {"id": original["transactionID"], "datetime": "2026-03-12T10:48:44Z"}
    return payload


PAIRS = {
    "pending-then-success": (PURCHASE, SUCCESS),
    "inprocessing-then-declined": (
        again(PURCHASE, paymentStatus="InProcessing"),
        again(PURCHASE, paymentStatus="Declined", returnStatus={"statusCode": "01.106.0004", "statusMsg": "Declined"}),
    ),
    "partial-then-success": (again(PURCHASE, paymentStatus="Partial"), SUCCESS),
    "declined-then-success": (again(PURCHASE, paymentStatus="Declined"), SUCCESS),
    "reference-generation-then-paid-same-id": (GENERATION, PAID_SAME_ID),
    "reference-generation-then-paid-by-order-id": (GENERATION, PAID_OTHER_ID_SAME_ORDER),
    "reference-generation-then-paid-by-reference": (GENERATION, PAID_OTHER_ID_WITH_REFERENCE),
    "reference-generation-then-expired": (GENERATION, again(GENERATION, paymentStatus="Expired")),
    "reference-expired-then-paid": (again(GENERATION, paymentStatus="Expired"), PAID_SAME_ID),
    "reference-generation-then-cancelled": (GENERATION, op("CPRF", GENERATION, amount="20.0")),
    "purchase-then-refund": (SUCCESS, op("RFND", SUCCESS)),
    "purchase-then-full-refund": (SUCCESS, op("RFND", SUCCESS, amount="16.20")),
    "purchase-then-refund-by-order-id": (
        SUCCESS,
        op("RFND", SUCCESS, linked=False, merchant={"transactionId": SUCCESS["merchant"]["transactionId"]}),
    ),
    "purchase-then-declined-refund": (SUCCESS, op("RFND", SUCCESS, status="Declined")),
    "purchase-then-reversal": (SUCCESS, op("RVSL", SUCCESS, amount="16.20")),
    "authorisation-then-capture": (again(AUTHORISATION), op("CAPT", AUTHORISATION, amount="30.00")),
    "authorisation-then-cancellation": (again(AUTHORISATION), op("CAUT", AUTHORISATION, amount="50.00")),
    "refund-pending-then-success": (op("RFND", SUCCESS, status="Pending"), None),
    "duplicate-content": (SUCCESS, again(SUCCESS)),
}


@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_arrival_order_does_not_matter(world, pair):
    first, second = PAIRS[pair]
    if second is None:  # an operation's own status pair, with its payment present
        refund = first
        first, second = refund, again(refund, paymentStatus="Success")
        deliver_all(world.loja, [SUCCESS], 11111)
        deliver_all(world.outra, [SUCCESS], 33333)
    # when: one merchant gets them in order, the other in reverse order
    deliver_all(world.loja, [first, second], 11111)
    deliver_all(world.outra, [second, first], 33333)
    # then
    assert snapshot(world.loja) == snapshot(world.outra)


def test_pair_outcomes(world):
    """What the order-independent pairs end as (the values, not only their equality)."""
    expectations = {
        "pending-then-success": {SUCCESS["transactionID"]: ("Success", "paid")},
        "inprocessing-then-declined": {PURCHASE["transactionID"]: ("Declined", "declined")},
        "reference-generation-then-paid-by-order-id": {GENERATION["transactionID"]: ("Success", "paid")},
        "reference-generation-then-expired": {GENERATION["transactionID"]: ("Success", "expired")},
        "reference-expired-then-paid": {GENERATION["transactionID"]: ("Success", "paid")},
        "reference-generation-then-cancelled": {GENERATION["transactionID"]: ("Success", "cancelled")},
        "purchase-then-refund": {SUCCESS["transactionID"]: ("Success", "partially_refunded")},
        "purchase-then-full-refund": {SUCCESS["transactionID"]: ("Success", "refunded")},
        "purchase-then-refund-by-order-id": {SUCCESS["transactionID"]: ("Success", "partially_refunded")},
        "purchase-then-declined-refund": {SUCCESS["transactionID"]: ("Success", "paid")},
        "purchase-then-reversal": {SUCCESS["transactionID"]: ("Success", "cancelled")},
        "authorisation-then-capture": {AUTHORISATION["transactionID"]: ("Success", "paid")},
        "authorisation-then-cancellation": {AUTHORISATION["transactionID"]: ("Success", "cancelled")},
    }
    for name, expected in expectations.items():
        merchant = world.loja
        TransactionEvent.objects.filter(merchant=merchant).delete()
        Transaction.objects.filter(merchant=merchant, original__isnull=False).delete()
        Transaction.objects.filter(merchant=merchant).delete()
        from webhooks.models import InboundNotification

        InboundNotification.objects.filter(merchant=merchant).delete()
        deliver_all(merchant, list(PAIRS[name]), 11111)
        for transaction_id, (status, state) in expected.items():
            row = txn(transaction_id)
            assert (row.payment_status, row.state) == (status, state), name


# --- precedence ---------------------------------------------------------------------------------------


def test_a_late_pending_never_overwrites_success(world):
    paid = notification()
    deliver(world.loja, paid, received_at=T0)
    late = again(paid, paymentStatus="Pending", returnStatus={"statusCode": "000", "statusMsg": "Pending"})
    deliver(world.loja, late, received_at=T0 + timedelta(seconds=5))
    row = txn(paid["transactionID"])
    assert row.payment_status == "Success" and row.state == "paid"
    events = list(row.events.order_by("occurred_at"))
    assert [(e.payment_status, e.outcome, e.out_of_order) for e in events] == [
        ("Success", "applied", False),
        ("Pending", "ignored", True),
    ]
    assert row.last_payload["notificationID"] == paid["notificationID"]


def test_the_first_final_failure_stays(world):
    declined = notification(paymentStatus="Declined")
    deliver(world.loja, declined, received_at=T0)
    deliver(world.loja, again(declined, paymentStatus="Timeout"), received_at=T0 + timedelta(seconds=1))
    row = txn(declined["transactionID"])
    assert row.payment_status == "Declined"
    assert "final_state_disagreement: Timeout vs Declined" in row.warnings
    assert row.events.last().outcome == "ignored"


def test_the_same_status_again_is_a_duplicate_event(world):
    paid = notification()
    deliver(world.loja, paid)
    deliver(world.loja, again(paid))
    assert list(txn(paid["transactionID"]).events.values_list("outcome", flat=True)) == ["applied", "duplicate"]


def test_a_losing_notification_still_fills_missing_fields(world):
    paid = notification(internalTransactionId=None)
    deliver(world.loja, paid, received_at=T0)
    deliver(world.loja, again(paid, paymentStatus="Pending", internalTransactionId="S14073500001359S"))
    row = txn(paid["transactionID"])
    assert row.internal_transaction_id == "S14073500001359S" and row.payment_status == "Success"
    assert "filled: internal_transaction_id" in row.events.last().detail


def test_an_unknown_status_is_kept_and_never_replaces_a_known_one(world):
    odd = notification(paymentStatus="Reversed")
    deliver(world.loja, odd)
    row = txn(odd["transactionID"])
    assert row.payment_status == "Reversed" and row.state == "unknown"
    deliver(world.loja, again(odd, paymentStatus="Pending"))
    assert txn(odd["transactionID"]).payment_status == "Pending"
    deliver(world.loja, again(odd, paymentStatus="Reversed"))
    assert txn(odd["transactionID"]).payment_status == "Pending"


def test_pending_transactions_are_scheduled_for_a_status_inquiry(world, settings):
    settings.STATUS_SWEEP_AGE_MINUTES = 10
    pending = notification(paymentStatus="Pending")
    deliver(world.loja, pending, received_at=T0)
    assert txn(pending["transactionID"]).next_inquiry_at == T0 + timedelta(minutes=10)
    deliver(world.loja, again(pending, paymentStatus="Success"))
    assert txn(pending["transactionID"]).next_inquiry_at is None


# --- annulments, operations, balances -----------------------------------------------------------------


def test_an_annulment_with_success_is_not_a_payment(world):
    reference = GENERATION
    deliver(world.loja, reference)
    cancel = op("CPRF", reference, amount="20.0")
    deliver(world.loja, cancel)
    annulment = txn(cancel["transactionID"])
    assert annulment.state == "succeeded" and annulment.payment_status == "Success"
    assert annulment.captured_amount == 0 and annulment.reference_status == ""
    original = txn(reference["transactionID"])
    assert original.state == "cancelled" and original.reference_status == "CANCELLED"
    assert original.captured_amount == 0


def test_an_annulment_without_a_known_original_is_flagged_not_paid(world):
    cancel = op("CAUT", notification(), linked=False)
    deliver(world.loja, cancel)
    row = txn(cancel["transactionID"])
    assert row.original is None and row.original_unresolved and "original_unresolved" in row.warnings
    assert row.state == "succeeded"


def test_refunds_add_up_and_replays_do_not_double_count(world):
    deliver(world.loja, SUCCESS)
    first = op("RFND", SUCCESS, amount="5.00")
    second = op("RFND", SUCCESS, amount="6.20")
    for payload in (first, second, again(first), again(second)):
        deliver(world.loja, payload)
    original = txn(SUCCESS["transactionID"])
    assert original.refunded_amount == Decimal("11.20")
    assert original.refundable_amount == Decimal("5.00")
    assert original.state == "partially_refunded"
    assert set(original.operations.values_list("transaction_id", flat=True)) == {
        first["transactionID"],
        second["transactionID"],
    }
    # the payment's timeline shows each operation once
    operations = original.events.filter(kind="operation")
    assert sorted(operations.values_list("related_transaction__transaction_id", flat=True)) == sorted(
        [first["transactionID"], second["transactionID"]]
    )


def test_captures_and_cancellation_of_an_authorisation(world):
    auth = again(AUTHORISATION, transactionID="s2authorisation00001")
    deliver(world.loja, auth)
    row = txn(auth["transactionID"])
    assert (row.state, row.authorised_amount, row.capturable_amount) == (
        "authorised",
        Decimal("50.00"),
        Decimal("50.00"),
    )
    deliver(world.loja, op("CAPT", auth, amount="20.00"))
    deliver(world.loja, op("CAPT", auth, amount="10.00"))
    deliver(world.loja, op("CAUT", auth, amount="20.00"))
    row = txn(auth["transactionID"])
    assert row.captured_amount == Decimal("30.00")
    assert row.cancelled_amount == Decimal("20.00")
    assert row.capturable_amount == Decimal("0")
    assert row.refundable_amount == Decimal("30.00")
    assert row.state == "paid"


def test_a_declined_refund_changes_no_balance(world):
    deliver(world.loja, SUCCESS)
    deliver(world.loja, op("RFND", SUCCESS, status="Declined"))
    original = txn(SUCCESS["transactionID"])
    assert original.refunded_amount == 0 and original.state == "paid"


def test_an_operation_arriving_first_is_linked_when_its_payment_arrives(world):
    refund = op("RFND", SUCCESS, amount="16.20")
    deliver(world.loja, refund, received_at=T0)
    assert txn(refund["transactionID"]).original_unresolved
    deliver(world.loja, SUCCESS, received_at=T0 + timedelta(seconds=1))
    refund_row = txn(refund["transactionID"])
    assert refund_row.original == txn(SUCCESS["transactionID"]) and not refund_row.original_unresolved
    assert "original_unresolved" not in refund_row.warnings
    assert txn(SUCCESS["transactionID"]).state == "refunded"


def test_an_ambiguous_merchant_transaction_id_is_left_unlinked(world):
    one = notification(merchant={"transactionId": "same-order", "terminalId": 11111})
    two = notification(merchant={"transactionId": "same-order", "terminalId": 11111})
    deliver(world.loja, one)
    deliver(world.loja, two)
    refund = op("RFND", one, linked=False, merchant={"transactionId": "same-order"})
    deliver(world.loja, refund)
    assert txn(refund["transactionID"]).original_unresolved


def test_operations_missed_by_a_race_are_linked_by_the_sweep(world):
    # given: an operation stored unlinked although its payment exists (what a race leaves)
    deliver(world.loja, SUCCESS)
    refund = op("RFND", SUCCESS)
    deliver(world.loja, refund)
    Transaction.objects.filter(transaction_id=refund["transactionID"]).update(original=None, original_unresolved=True)
    # when
    counts = services.inbound_sweep()
    # then
    assert counts["relinked"] == 1
    assert txn(refund["transactionID"]).original == txn(SUCCESS["transactionID"])


def test_a_payment_and_an_operation_sharing_an_id_do_not_mix(world):
    deliver(world.loja, SUCCESS)
    clash = op("RFND", SUCCESS, transactionID=SUCCESS["transactionID"])
    deliver(world.loja, clash)
    row = txn(SUCCESS["transactionID"])
    assert row.payment_type == "PURS" and row.state == "paid" and "type_conflict" in row.warnings
    assert row.events.last().outcome == "ignored"


def test_an_unknown_payment_type_with_success_is_not_paid(world):
    odd = notification(paymentType="ZZZZ")
    deliver(world.loja, odd)
    assert txn(odd["transactionID"]).state == "succeeded"


# --- MULTIBANCO -----------------------------------------------------------------------------------------


def test_reference_generation_then_paid_with_another_transaction_id(world):
    deliver(world.loja, GENERATION, received_at=T0)
    row = txn(GENERATION["transactionID"])
    assert (row.state, row.reference_status, row.captured_amount) == ("awaiting_payment", "UNPAID", Decimal("0"))
    deliver(world.loja, PAID_OTHER_ID_SAME_ORDER, received_at=T0 + timedelta(days=1))
    row = txn(GENERATION["transactionID"])
    assert row.secondary_transaction_id == PAID_OTHER_ID_SAME_ORDER["transactionID"]
    assert (row.state, row.reference_status, row.captured_amount) == ("paid", "PAID", Decimal("20.00"))
    assert row.reference_paid_at.isoformat().startswith("2026-03-13T09:00:00")
    assert Transaction.objects.filter(merchant=world.loja).count() == 1
    # a re-delivery of the paid notification lands on the same row
    deliver(world.loja, again(PAID_OTHER_ID_SAME_ORDER), received_at=T0 + timedelta(days=2))
    assert Transaction.objects.filter(merchant=world.loja).count() == 1
    assert list(row.events.values_list("outcome", flat=True)) == ["applied", "applied", "duplicate"]


def test_a_paid_notification_for_an_unknown_reference_stands_alone_flagged(world):
    lonely = again(PAID_OTHER_ID_SAME_ORDER, transactionID="s2lonelypayment00001", merchant={"transactionId": "x"})
    deliver(world.loja, lonely)
    row = txn(lonely["transactionID"])
    assert row.state == "paid" and "reference_payment_unmatched" in row.warnings


def test_a_new_reference_for_the_same_order_is_not_merged_into_an_old_one(world):
    deliver(world.loja, GENERATION)
    second = again(GENERATION, transactionID="s2secondreference001")
    second["paymentReference"] = {**GENERATION["paymentReference"], "reference": "999999999"}
    deliver(world.loja, second)
    assert Transaction.objects.filter(merchant=world.loja).count() == 2


def test_processing_marks_the_inbound_row_and_is_idempotent(world):
    inbound = store(world.loja, notification())
    assert services.notification_process(inbound_id=inbound.pk) == "processed"
    assert services.notification_process(inbound_id=inbound.pk) == "already_processed"
    inbound.refresh_from_db()
    assert inbound.state == InboundState.PROCESSED and inbound.attempts == 1 and inbound.processed_at
    assert TransactionEvent.objects.count() == 1


def test_a_processed_notification_applied_again_adds_no_event(world):
    """Even forced past the state check, the schema keeps one event per notification."""
    from django.db import IntegrityError, transaction

    from payments.services import ledger
    from payments.sibs.notification import parse_notification

    inbound = store(world.loja, notification())
    services.notification_process(inbound_id=inbound.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.notification_apply(
            merchant=world.loja,
            payload=parse_notification(inbound.plaintext),
            stored_payload={},
            occurred_at=inbound.received_at,
            inbound=inbound,
        )
    assert TransactionEvent.objects.count() == 1
