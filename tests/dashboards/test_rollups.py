"""The rollups always equal the aggregate of the transactions, whatever arrives in what order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.models import Merchant
from payments.dashboards import services
from payments.dashboards.models import Rollup, RollupDirty
from tests.dashboards.support import expected, stored
from tests.factories import make_merchant, make_store, make_terminal
from tests.webhooks.support import again, deliver, notification

# Around the start of summer time in Lisbon (29 March 2026, 01:00 UTC): hours, days and weeks
# on both sides of it, and a month boundary two days later.
START = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
GRAINS = ("hour", "day", "week", "month")


@pytest.fixture
def shop(db):
    merchant = make_merchant(name="Loja", slug="loja")
    lisboa, porto = make_store(merchant, "lisboa", "Lisboa"), make_store(merchant, "porto", "Porto")
    make_terminal(lisboa, 11111)
    make_terminal(porto, 22222)
    return merchant


def reference(tid: str, **extra) -> dict:
    return notification(
        transactionID=tid,
        paymentMethod="REFERENCE",
        paymentType="PREF",
        token=None,
        merchant={"transactionId": f"order-{tid}", "terminalId": 22222},
        amount={"value": "20.00", "currency": "EUR"},
        paymentReference={
            "reference": f"{abs(hash(tid)) % 10**9:09d}",
            "entity": "40200",
            "amount": {"value": "20.00", "currency": "EUR"},
            "status": "UNPAID",
            "expiryDate": "2030-01-23T10:48:39.153Z",
        },
        **extra,
    )


def payload_for(step: tuple) -> dict:
    action, n, status, code, terminal, amount = step
    tid = f"s2prop{n:014d}"
    if action in ("PURS", "AUTH"):
        method = "CARD" if action == "AUTH" or n % 2 else "MBWAY"
        return notification(
            transactionID=tid,
            paymentType=action,
            paymentMethod=method,
            paymentStatus=status,
            returnStatus={"statusCode": code, "statusMsg": status},
            token=None,
            amount={"value": amount, "currency": "EUR"},
            merchant={"transactionId": f"order-{tid}", "terminalId": terminal},
        )
    if action == "REF":
        return reference(tid)
    if action == "REF_PAID":
        return notification(
            transactionID=tid,
            paymentMethod="REFERENCE",
            paymentType="PREF",
            token=None,
            paymentStatus="Success",
            merchant={"transactionId": f"order-{tid}", "terminalId": 22222},
            amount={"value": "20.00", "currency": "EUR"},
        )
    if action == "REF_EXPIRED":
        return {**reference(tid), "paymentStatus": "Expired"}
    # An operation on payment n: refund or capture, linked by the original's id.
    return notification(
        transactionID=f"s2op{action}{n:012d}{amount.replace('.', '')}",
        paymentType=action,
        paymentMethod="CARD",
        paymentStatus=status,
        token=None,
        amount={"value": amount, "currency": "EUR"},
        merchant={"transactionId": f"{action}-{tid}-{amount}", "terminalId": terminal},
        originalTransaction={"id": tid, "datetime": "2026-03-28T20:00:00Z"},
    )


steps = st.tuples(
    st.sampled_from(["PURS", "PURS", "AUTH", "REF", "REF_PAID", "REF_EXPIRED", "RFND", "CAPT"]),
    st.integers(0, 5),
    st.sampled_from(["Success", "Pending", "Declined", "Error", "Expired", "InProcessing"]),
    st.sampled_from(["000", "01.106.0004", "01.105.0006", "E0707"]),
    st.sampled_from([11111, 22222, 99999]),
    st.sampled_from(["1.00", "5.00", "16.20"]),
)
arrivals = st.lists(
    st.tuples(steps, st.integers(0, 5 * 24 * 60), st.booleans(), st.booleans()), min_size=1, max_size=14
)


def assert_rollups_equal_transactions(merchant: Merchant) -> None:
    for grain in GRAINS:
        assert stored(merchant.pk, grain) == expected(merchant.pk, grain), grain


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrivals=arrivals)
def test_rollups_equal_a_direct_group_by_after_any_sequence(shop, arrivals):
    """Notifications in any order, duplicates (the same one again), sweeps in between or not."""
    with transaction.atomic():
        for step, minutes, duplicate, sweep in arrivals:
            payload = payload_for(step)
            at = START + timedelta(minutes=minutes)
            deliver(shop, payload, received_at=at)
            if duplicate:  # SIBS sends the same status again (a new notification id)
                deliver(shop, again(payload), received_at=at + timedelta(minutes=1))
            if sweep:
                services.rollups_sweep()
        services.rollups_sweep()
        assert not RollupDirty.objects.exists()
        assert_rollups_equal_transactions(shop)
        # Recomputing from scratch gives the same rows.
        before = {g: stored(shop.pk, g) for g in GRAINS}
        services.rollups_rebuild(merchant_id=shop.pk)
        assert {g: stored(shop.pk, g) for g in GRAINS} == before
        transaction.set_rollback(True)


@pytest.mark.postgres
def test_rebuild_command_is_idempotent_and_limited_to_a_merchant(shop):
    other = make_merchant(name="Outra", slug="outra", nif="503504564")
    make_terminal(make_store(other, "sede", "Sede"), 33333)
    for i in range(4):
        deliver(shop, payload_for(("PURS", i, "Success", "000", 11111, "5.00")), received_at=START + timedelta(hours=i))
    deliver(
        other,
        {**payload_for(("PURS", 9, "Success", "000", 33333, "1.00")), "merchant": {"terminalId": 33333}},
        received_at=START,
    )
    services.rollups_sweep()
    Rollup.objects.all().delete()
    call_command("rollups_rebuild", "--merchant", "loja")
    assert_rollups_equal_transactions(shop)
    assert not Rollup.objects.filter(merchant=other).exists()
    call_command("rollups_rebuild", "--merchant", "loja", "--since", "2026-03-29")
    assert_rollups_equal_transactions(shop)
    call_command("rollups_rebuild")
    assert_rollups_equal_transactions(shop)
    assert_rollups_equal_transactions(other)


def test_a_change_is_marked_in_its_own_database_transaction(shop):
    """A notification whose processing fails leaves neither the change nor its mark behind."""
    deliver(shop, payload_for(("PURS", 1, "Success", "000", 11111, "5.00")), received_at=START)
    assert RollupDirty.objects.filter(merchant_id=shop.pk).count() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        deliver(shop, payload_for(("PURS", 2, "Success", "000", 11111, "5.00")), received_at=START)
        raise RuntimeError("rolled back")
    assert RollupDirty.objects.filter(merchant_id=shop.pk).count() == 1
