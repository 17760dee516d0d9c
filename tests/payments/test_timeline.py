"""payments.selectors.timeline: TransactionEvents and registered sources, merged in order and scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import translation

from backoffice.access import Access
from payments.models import EventKind, EventOutcome, Transaction, TransactionEvent
from payments.selectors import timeline
from payments.selectors.timeline import TimelineEntry

T0 = datetime(2026, 3, 12, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def sources():
    """Sources registered by a test are removed after it, whatever it does."""
    before = timeline.registered_sources()
    yield
    for source in timeline.registered_sources():
        if source not in before:
            timeline.unregister(source)


def make_txn(world, transaction_id="t-1", store=None, **fields) -> Transaction:
    return Transaction.objects.create(
        merchant=fields.pop("merchant", world.loja),
        store=store if store is not None else world.lisboa,
        transaction_id=transaction_id,
        payment_type=fields.pop("payment_type", "PURS"),
        payment_method="MBWAY",
        state=fields.pop("state", "paid"),
        amount=Decimal("10"),
        currency="EUR",
        **fields,
    )


def event(txn, seconds, **fields) -> TransactionEvent:
    defaults = {"kind": EventKind.NOTIFICATION, "outcome": EventOutcome.APPLIED, "payment_status": "Success"}
    return TransactionEvent.objects.create(
        transaction=txn, merchant=txn.merchant, occurred_at=T0 + timedelta(seconds=seconds), **{**defaults, **fields}
    )


def access_for(membership) -> Access:
    return Access.for_membership(membership)


def test_events_in_arrival_order_whatever_their_insertion_order(world):
    txn = make_txn(world)
    event(txn, 30, payment_status="Success")
    event(txn, 10, payment_status="Pending")
    event(txn, 20, kind=EventKind.STATUS_INQUIRY, payment_status="Pending", outcome=EventOutcome.DUPLICATE)
    with translation.override("en"):
        entries = timeline.build(access_for(world.m_alice), txn)
    assert [e.at for e in entries] == [T0 + timedelta(seconds=s) for s in (10, 20, 30)]
    assert [e.title for e in entries] == [
        "Notification received: Pending",
        "Status inquiry: Pending",
        "Notification received: Success",
    ]
    assert [e.outcome for e in entries] == ["info", "info", "ok"]


def test_flags_become_badges_and_colours(world):
    txn = make_txn(world)
    event(txn, 1, outcome=EventOutcome.DUPLICATE)
    event(txn, 2, payment_status="Pending", outcome=EventOutcome.IGNORED, out_of_order=True)
    event(txn, 3, payment_status="Declined", return_code="E0506", return_message="Declined")
    with translation.override("en"):
        dup, late, declined = timeline.build(access_for(world.m_bob), txn)
    assert dup.badges == ("Duplicate",) and dup.outcome == "info"
    assert late.badges == ("Out of order", "Ignored by precedence") and late.outcome == "warn"
    assert declined.outcome == "error" and "E0506 Declined" in declined.detail


def test_failed_inquiry_shows_http_status_and_reason(world):
    txn = make_txn(world)
    event(
        txn, 1, kind=EventKind.STATUS_INQUIRY, outcome=EventOutcome.ERROR, payment_status="",
        http_status=503, detail="E0503: busy",
    )  # fmt: skip
    event(txn, 2, kind=EventKind.STATUS_INQUIRY, outcome=EventOutcome.ERROR, payment_status="", detail="no credential")
    with translation.override("en"):
        first, second = timeline.build(access_for(world.m_victor), txn)
    assert first.title == "Status inquiry failed (HTTP 503)" and first.outcome == "error"
    assert "E0503: busy" in first.detail
    assert second.title == "Status inquiry failed" and "no credential" in second.detail


def test_operation_line_links_to_the_operation_only_when_visible(world):
    payment = make_txn(world, "pay-1", store=world.porto)
    refund = make_txn(world, "ref-1", store=world.lisboa, payment_type="RFND", state="succeeded", original=payment)
    event(
        payment, 5, kind=EventKind.OPERATION, payment_type="RFND", related_transaction=refund,
        amount=Decimal("2.5"), currency="EUR",
    )  # fmt: skip
    with translation.override("en"):
        (entry,) = timeline.build(access_for(world.m_alice), payment)
        assert entry.title == "Refund: Success"
        assert entry.link == "/m/loja/transactions/ref-1/"
        assert "€2.50" in entry.detail
        (entry,) = timeline.build(access_for(world.m_paula), payment)
        assert entry.link == ""


def test_raw_payload_only_with_the_capability(world):
    txn = make_txn(world)
    event(txn, 1, payload={"notificationID": "n-1"})
    assert timeline.build(access_for(world.m_adam), txn)[0].raw == {"notificationID": "n-1"}
    for membership in (world.m_bob, world.m_victor, world.m_fiona, world.m_quinn):
        assert timeline.build(access_for(membership), txn)[0].raw is None


def test_registered_sources_are_merged_and_sorted(world, sources):
    txn = make_txn(world)
    event(txn, 10)
    event(txn, 30)
    seen = []

    def deliveries(access, t):
        seen.append((access.merchant.pk, t.pk))
        return [
            TimelineEntry(at=T0 + timedelta(seconds=20), kind="webhook_delivery", title="Delivered", outcome="ok"),
            TimelineEntry(at=T0 + timedelta(seconds=40), kind="webhook_delivery", title="Failed", outcome="error"),
        ]

    def requests(access, t):
        yield TimelineEntry(at=T0 + timedelta(seconds=5), kind="operation_request", title="Refund asked", actor="Bob")

    timeline.register(deliveries)
    timeline.register(requests)
    timeline.register(deliveries)  # idempotent
    entries = timeline.build(access_for(world.m_alice), txn)
    assert entries[0].title == "Refund asked"
    assert [e.kind for e in entries] == [
        "operation_request", "notification", "webhook_delivery", "notification", "webhook_delivery",
    ]  # fmt: skip
    assert entries == sorted(entries, key=lambda e: (e.at, e.kind))
    assert seen == [(world.loja.pk, txn.pk)]  # called once per build


def test_equal_times_sort_by_kind(world, sources):
    txn = make_txn(world)
    event(txn, 0)
    timeline.register(lambda a, t: [TimelineEntry(at=T0, kind="a_first", title="A")])
    timeline.register(lambda a, t: [TimelineEntry(at=T0, kind="z_last", title="Z")])
    assert [e.kind for e in timeline.build(access_for(world.m_alice), txn)] == ["a_first", "notification", "z_last"]


def test_a_source_raw_payload_is_dropped_for_roles_without_the_capability(world, sources):
    txn = make_txn(world)
    timeline.register(lambda a, t: [TimelineEntry(at=T0, kind="x", title="X", raw={"secret": "body"})])
    assert timeline.build(access_for(world.m_victor), txn)[0].raw is None
    assert timeline.build(access_for(world.m_alice), txn)[0].raw == {"secret": "body"}


def test_a_failing_source_costs_its_entries_not_the_timeline(world, sources, caplog):
    txn = make_txn(world)
    event(txn, 0)

    def broken(access, t):
        raise RuntimeError("boom")

    timeline.register(broken)
    timeline.register(lambda a, t: ["not an entry", TimelineEntry(at=T0, kind="y", title="Y")])
    with translation.override("en"):
        entries = timeline.build(access_for(world.m_alice), txn)
    kinds = [e.kind for e in entries]
    assert "notification" in kinds and "y" in kinds
    assert any(e.kind == "timeline_error" and e.outcome == "error" for e in entries)
    assert "boom" in caplog.text


def test_other_merchant_or_store_is_refused(world):
    lisboa = make_txn(world, "lx")
    with pytest.raises(Http404):
        timeline.build(access_for(world.m_paula), lisboa)
    with pytest.raises(Http404):
        timeline.build(access_for(world.m_mallory), lisboa)


def test_unregister_and_register_returns_the_source(world, sources):
    def source(access, txn):
        return []

    assert timeline.register(source) is source
    assert source in timeline.registered_sources()
    timeline.unregister(source)
    timeline.unregister(source)  # twice is fine
    assert source not in timeline.registered_sources()


def test_entry_is_frozen():
    entry = TimelineEntry(at=T0, kind="k", title="t")
    with pytest.raises(AttributeError):
        entry.title = "other"
    assert entry.badges == () and entry.raw is None and entry.outcome == ""
