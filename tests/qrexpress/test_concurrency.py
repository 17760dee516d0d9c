"""Stock under real concurrency (PostgreSQL): each thread has its own connection and transaction.

100 purchase notifications for a product with 50 units, processed from parallel threads, leave
exactly 0 units, 50 normal and 50 oversold purchases and a ledger that sums; a replayed
notification changes nothing; 20 parallel API "remove 5" on 50 units give exactly 10 successes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from backoffice.services import api_key_create
from qrexpress.models import Purchase, QrProduct, StockEntry, StockSource
from tests.qrexpress.support import apply_notification, make_product, purchase_notification

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Parallel, but well under PostgreSQL's connection limit on a shared machine.
WORKERS = 10


def _in_threads(func, items):
    barrier = threading.Barrier(WORKERS)

    def run(item):
        try:
            # Start each batch together, to maximise the overlap.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)
            return func(item)
        except Exception as error:
            return repr(error)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run, items))


def test_100_parallel_purchase_notifications_for_50_units():
    from tests.conftest import World

    world = World()
    product = make_product(world, units=50)
    payloads = [purchase_notification() for _ in range(100)]

    # when all 100 are processed at once
    results = _in_threads(lambda p: apply_notification(world.loja, p).outcome, payloads)

    # then
    assert all(r == "applied" for r in results), results
    product.refresh_from_db()
    assert product.stock_units == 0
    purchases = Purchase.objects.filter(product=product)
    assert purchases.count() == 100
    assert purchases.filter(oversold_units=0).count() == 50
    assert purchases.filter(oversold_units=1).count() == 50
    ledger = StockEntry.objects.filter(product=product)
    assert ledger.aggregate(total=Sum("delta"))["total"] == 0
    assert ledger.filter(source=StockSource.PURCHASE).count() == 50
    # every ledger row's resulting units are distinct: no two changes saw the same stock
    units_after = list(ledger.filter(source=StockSource.PURCHASE).values_list("units_after", flat=True))
    assert sorted(units_after) == list(range(50))

    # a replayed notification (the same one, twice at once) changes nothing
    replay = payloads[0]
    _in_threads(lambda p: apply_notification(world.loja, p).outcome, [replay] * WORKERS)
    assert Purchase.objects.filter(product=product).count() == 100
    assert StockEntry.objects.filter(product=product).count() == 51


def test_20_parallel_api_removals_of_5_on_50_units_give_exactly_10_successes():
    from tests.conftest import World

    world = World()
    product = make_product(world, units=50)
    _key, plaintext = api_key_create_for(world)

    def remove(index: int) -> int:
        response = Client().post(
            f"/api/v1/qr-express/products/{product.pk}/stock",
            data=json.dumps({"operation": "remove", "units": 5}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {plaintext}", "Idempotency-Key": f"remove-{index}-{uuid.uuid4()}"},
        )
        return response.status_code

    statuses = _in_threads(remove, range(20))

    assert sorted(statuses) == [201] * 10 + [409] * 10, statuses
    product.refresh_from_db()
    assert product.stock_units == 0
    assert QrProduct.objects.get(pk=product.pk).stock_units == 0
    ledger = StockEntry.objects.filter(product=product)
    assert ledger.filter(source=StockSource.API).count() == 10
    assert ledger.aggregate(total=Sum("delta"))["total"] == 0


def api_key_create_for(world):
    from backoffice.access import Access
    from backoffice.audit import Actor
    from backoffice.roles import Role

    return api_key_create(
        access=Access.for_membership(world.m_alice), actor=Actor(user=world.alice), name="stock", role=Role.QR_MANAGER
    )
