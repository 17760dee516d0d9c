"""The stock ledger: every change a row, the units the ledger's sum, never negative, idempotent."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum

from backoffice.access import Access
from backoffice.audit import Actor
from qrexpress.models import QrProduct, StockEntry, StockSource
from qrexpress.services import QrExpressError, stock_change
from tests.qrexpress.support import make_product


def _change(world, product, operation, units, *, membership=None, key=None, reason=""):
    membership = membership or world.m_quinn
    return stock_change(
        access=Access.for_membership(membership),
        actor=Actor(user=membership.user),
        product=product,
        operation=operation,
        units=units,
        reason=reason,
        idempotency_key=key,
    )


def _ledger_sum(product) -> int:
    return StockEntry.objects.filter(product=product).aggregate(total=Sum("delta"))["total"] or 0


def test_add_remove_define_write_one_ledger_row_each_and_units_are_the_sum(world):
    # given a product created with 10 units
    product = make_product(world, units=10)
    # when quinn adds 5, removes 3 and sets the stock to 4
    _change(world, product, "add", 5, reason="delivery from the supplier")
    _change(world, product, "remove", 3)
    result = _change(world, product, "define", 4)
    # then
    product.refresh_from_db()
    assert product.stock_units == 4 == _ledger_sum(product)
    entries = list(StockEntry.objects.filter(product=product).order_by("pk"))
    assert [(e.source, e.delta, e.units_after) for e in entries] == [
        (StockSource.CREATION, 10, 10),
        (StockSource.PERSON, 5, 15),
        (StockSource.PERSON, -3, 12),
        (StockSource.PERSON, -8, 4),
    ]
    assert entries[1].reason == "delivery from the supplier"
    assert entries[1].actor_label == "quinn@loja.example"
    assert result.entry == entries[-1]


def test_removing_more_than_the_stock_is_refused_and_changes_nothing(world):
    product = make_product(world, units=3)
    with pytest.raises(QrExpressError) as refused:
        _change(world, product, "remove", 4)
    assert refused.value.code == "not_enough_stock"
    product.refresh_from_db()
    assert product.stock_units == 3
    assert StockEntry.objects.filter(product=product).count() == 1


@pytest.mark.parametrize("units", ["", "abc", "-1", "1.5", None, True, 0, 1_000_001, "99999999999", [], {"n": 1}])
def test_bad_units_are_refused_with_a_clear_error(world, units):
    product = make_product(world, units=3)
    with pytest.raises(QrExpressError) as refused:
        _change(world, product, "add", units)
    assert refused.value.code == "invalid_units"
    assert refused.value.field == "units"


def test_the_database_refuses_negative_units_even_past_the_services(world):
    from django.db import IntegrityError, transaction

    product = make_product(world, units=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        QrProduct.objects.filter(pk=product.pk).update(stock_units=-1)


def test_an_idempotency_key_replays_instead_of_changing_twice(world):
    product = make_product(world, units=10)
    first = _change(world, product, "remove", 2, key="k-1")
    again = _change(world, product, "remove", 2, key="k-1")
    assert again.replayed and again.entry == first.entry
    product.refresh_from_db()
    assert product.stock_units == 8
    with pytest.raises(QrExpressError) as reused:
        _change(world, product, "remove", 3, key="k-1")
    assert reused.value.code == "idempotency_key_reused"


def test_people_who_do_not_manage_qr_codes_cannot_change_stock(world):
    product = make_product(world, units=10)
    for membership in (world.m_bob, world.m_fiona, world.m_victor):
        with pytest.raises(PermissionDenied):
            _change(world, product, "add", 1, membership=membership)
    # alice (Owner) and adam (Administrator) may
    _change(world, product, "add", 1, membership=world.m_alice)
    _change(world, product, "add", 1, membership=world.m_adam)
    product.refresh_from_db()
    assert product.stock_units == 12


def test_another_merchants_product_does_not_exist(world):
    product = make_product(world, units=10)
    with pytest.raises(QrExpressError) as refused:
        # mallory is Owner elsewhere: her access is for another merchant
        _change(world, product, "add", 1, membership=world.m_mallory)
    assert refused.value.code == "not_found"
    product.refresh_from_db()
    assert product.stock_units == 10


def test_a_product_without_stock_management_has_no_stock_to_change(world):
    product = make_product(world, units=0, stock_managed=False)
    with pytest.raises(QrExpressError) as refused:
        _change(world, product, "add", 1)
    assert refused.value.code == "stock_not_managed"
