"""Two people refunding the same payment at the same moment can never exceed what was paid.

Real concurrency needs a real database: each thread has its own PostgreSQL connection and
transaction, the payment row lock serialises the reservations, and the gateway (the sandbox,
answering slowly) is called outside any transaction.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from payments.models import OperationKind, OperationState, PaymentOperation, Transaction
from payments.services import operations as ops
from sandbox.models import SandboxPayment
from tests.payments.ops_support import access_of, actor_of, make_gateway

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(world, txn, amounts, *, people, delay="0.3"):
    barrier = threading.Barrier(len(amounts))
    results: list = [None] * len(amounts)

    def run(index: int, amount: str) -> None:
        membership = people[index % len(people)]
        try:
            barrier.wait(timeout=10)
            results[index] = ops.operation_request(
                access=access_of(membership),
                actor=actor_of(membership.user),
                txn=Transaction.objects.get(pk=txn.pk),
                kind=OperationKind.REFUND,
                amount=Decimal(amount),
                reason="customer_request",
                idempotency_key=f"race-{index}",
                gateway_headers={"X-Sandbox-Delay": delay},
            ).operation.state
        except ops.OperationError as error:
            results[index] = error.code
        except Exception as error:  # pragma: no cover - surfaced by the assertion below
            results[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(amounts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_concurrent_refunds_never_exceed_the_paid_amount():
    from tests.conftest import World

    world = World()
    gw = make_gateway(world)
    txn = gw.paid(amount="50.00")

    results = _race(world, txn, ["30.00", "30.00"], people=[world.m_bob, world.m_alice])

    assert sorted(results) == ["amount_exceeds_available", OperationState.SUCCEEDED], results
    txn.refresh_from_db()
    assert txn.refunded_amount == Decimal("30.00")
    assert SandboxPayment.objects.get(transaction_id=txn.transaction_id).refunded_amount == Decimal("30.00")
    assert len(gw.adapter.money_calls()) == 1


def test_many_concurrent_partial_refunds_add_up_to_at_most_the_total():
    from tests.conftest import World

    world = World()
    gw = make_gateway(world)
    txn = gw.paid(amount="50.00")

    results = _race(world, txn, ["20.00"] * 5, people=[world.m_bob, world.m_alice, world.m_adam])

    assert results.count(OperationState.SUCCEEDED) == 2, results
    assert results.count("amount_exceeds_available") == 3, results
    txn.refresh_from_db()
    assert txn.refunded_amount == Decimal("40.00") and txn.refundable_amount == Decimal("10.00")
    assert PaymentOperation.objects.filter(state=OperationState.SUCCEEDED).count() == 2
    assert len(gw.adapter.money_calls()) == 2


def test_the_same_key_sent_twice_at_once_makes_one_call():
    from tests.conftest import World

    world = World()
    gw = make_gateway(world)
    txn = gw.paid(amount="50.00")
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait(timeout=10)
            result = ops.operation_request(
                access=access_of(world.m_bob),
                actor=actor_of(world.bob),
                txn=Transaction.objects.get(pk=txn.pk),
                kind=OperationKind.REFUND,
                amount=Decimal("10.00"),
                reason="customer_request",
                idempotency_key="double-click",
                gateway_headers={"X-Sandbox-Delay": "0.3"},
            )
            results.append((result.operation.pk, result.replayed))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2 and results[0][0] == results[1][0]
    assert sorted(r[1] for r in results) == [False, True]
    assert len(gw.adapter.money_calls()) == 1
    txn.refresh_from_db()
    assert txn.refunded_amount == Decimal("10.00")
