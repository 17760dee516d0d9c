"""A double click on "Send the request" (two submissions with the same key at the same moment)
makes one checkout and one request to the customer: the unique key decides on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from payments.requests.models import PaymentRequest
from sandbox.models import SandboxPayment
from tests.payments.requests.support import ask, calls

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_key_sent_twice_at_once_makes_one_checkout():
    from tests.conftest import World
    from tests.payments.ops_support import make_gateway

    world = World()
    gw = make_gateway(world)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = ask(world, key="double-click", headers={"X-Sandbox-Delay": "0.3"})
            results[index] = (result.request.pk, result.replayed)
        except Exception as error:  # pragma: no cover - surfaced by the assertion below
            results[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(r, tuple) for r in results), results
    assert results[0][0] == results[1][0]
    assert sorted(r[1] for r in results) == [False, True]
    assert PaymentRequest.objects.count() == 1
    assert SandboxPayment.objects.count() == 1
    assert len(calls(gw, "/mbway-id/purchase")) == 1
