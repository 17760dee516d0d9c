"""Purchases from SIBS's STATIC_QRCODE notifications: recorded once per transaction, stock taken
once, oversold flagged, guardrails, fulfilment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import Sum

from backoffice.access import Access
from backoffice.audit import Actor
from qrexpress.models import FulfilmentState, ProductStatus, Purchase, QrProduct, StockEntry, StockSource
from qrexpress.services import QrExpressError, fulfilment_set, stock_change
from tests.qrexpress.support import EXAMPLE_9, apply_notification, make_product, purchase_notification


def _units(product) -> int:
    product.refresh_from_db()
    return product.stock_units


def test_the_seed_example_purchase_is_recorded_with_its_details_and_takes_one_unit(world):
    # given the product behind the seed's QR code, with 5 units
    product = make_product(world, units=5)
    # when SIBS notifies example 9
    apply_notification(world.loja, EXAMPLE_9)
    # then
    purchase = Purchase.objects.get()
    assert purchase.product == product
    assert purchase.transaction.transaction_id == "3W005000159764"
    assert (purchase.quantity, str(purchase.unit_amount), str(purchase.expedition_amount)) == (1, "1.50", "0.10")
    assert purchase.amount == Decimal("1.6")
    assert purchase.billing_tin == "123456789"
    assert purchase.shipping_name == "Olga Rodrigues"
    assert purchase.shipping_address["expeditionAddressPostalCode"] == "4646-846"
    assert purchase.billing_address["billingAddressLine1"] == "Rua D João"
    assert purchase.phone == "+ 351 987654321"
    assert purchase.fulfilment == FulfilmentState.NEW
    assert not purchase.oversold
    assert _units(product) == 4
    entry = StockEntry.objects.filter(product=product, source=StockSource.PURCHASE).get()
    assert (entry.delta, entry.units_after, entry.purchase) == (-1, 4, purchase)


def test_a_replayed_or_repeated_notification_changes_nothing(world):
    product = make_product(world, units=5)
    payload = purchase_notification(quantity=2)
    apply_notification(world.loja, payload)
    # the same notification again, and another notification of the same transaction
    apply_notification(world.loja, payload)
    apply_notification(world.loja, {**payload, "notificationID": "another-notification-id"})
    assert Purchase.objects.count() == 1
    assert _units(product) == 3
    assert StockEntry.objects.filter(source=StockSource.PURCHASE).count() == 1


def test_out_of_order_pending_then_success_then_late_pending_takes_stock_once(world):
    product = make_product(world, units=5)
    success = purchase_notification(transaction_id="3W000000000001")
    pending = {**success, "paymentStatus": "Pending", "notificationID": "p-1"}
    apply_notification(world.loja, pending)
    assert Purchase.objects.count() == 0  # not paid yet
    apply_notification(world.loja, success)
    apply_notification(world.loja, {**pending, "notificationID": "p-2"})  # late Pending never overwrites Success
    assert Purchase.objects.count() == 1
    assert _units(product) == 4


def test_a_failed_payment_records_no_purchase(world):
    product = make_product(world, units=5)
    apply_notification(world.loja, purchase_notification(status="Declined"))
    assert Purchase.objects.count() == 0
    assert _units(product) == 5


def test_a_purchase_beyond_the_stock_is_recorded_and_flagged_oversold(world):
    product = make_product(world, units=2)
    apply_notification(world.loja, purchase_notification(quantity=3))
    purchase = Purchase.objects.get()
    assert (purchase.quantity, purchase.oversold_units) == (3, 1)
    assert _units(product) == 0
    apply_notification(world.loja, purchase_notification(quantity=1))
    assert Purchase.objects.filter(oversold_units=1).count() == 2
    assert StockEntry.objects.filter(product=product).aggregate(s=Sum("delta"))["s"] == 0


def test_a_purchase_of_an_unknown_qr_code_is_still_recorded(world):
    apply_notification(world.loja, purchase_notification(qr_code_id="not-a-product-of-ours"))
    purchase = Purchase.objects.get()
    assert purchase.product is None
    assert purchase.qr_code_id == "not-a-product-of-ours"


def test_another_merchants_product_with_the_same_code_is_untouched(world):
    mine = make_product(world, units=5)
    apply_notification(world.outra, purchase_notification(terminal=33333))
    assert _units(mine) == 5
    assert Purchase.objects.get().merchant == world.outra


@pytest.mark.parametrize("quantity", ["3", 3.0, "x", -2, 0, None, True, {"n": 1}])
def test_odd_quantities_are_read_safely(world, quantity):
    product = make_product(world, units=10)
    payload = purchase_notification()
    payload["financialOperation"]["product"]["productQuantity"] = quantity
    apply_notification(world.loja, payload)
    expected = 3 if quantity in ("3", 3.0) else 1
    assert Purchase.objects.get().quantity == expected
    assert _units(product) == 10 - expected


def test_low_stock_sends_one_email_when_crossed_not_one_per_purchase(world, django_capture_on_commit_callbacks):
    product = make_product(world, units=5, low_stock_threshold=3)
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            apply_notification(world.loja, purchase_notification())
    alerts = [m for m in mail.outbox if "Low stock" in m.subject]
    assert len(alerts) == 1
    assert alerts[0].to == ["quinn@loja.example"]
    assert "Caneca Loja" in alerts[0].subject
    # restocking above the threshold re-arms the alert
    stock_change(
        access=Access.for_membership(world.m_quinn),
        actor=Actor(user=world.quinn),
        product=product,
        operation="add",
        units=5,
    )
    with django_capture_on_commit_callbacks(execute=True):
        apply_notification(world.loja, purchase_notification(quantity=4))
    assert len([m for m in mail.outbox if "Low stock" in m.subject]) == 2


def test_suspends_at_zero_and_reactivates_when_stock_is_added(world):
    product = make_product(world, units=1, auto_suspend=True, auto_reactivate=True)
    apply_notification(world.loja, purchase_notification())
    product.refresh_from_db()
    assert (product.status, product.suspended_for_stock) == (ProductStatus.SUSPENDED, True)
    stock_change(
        access=Access.for_membership(world.m_quinn),
        actor=Actor(user=world.quinn),
        product=product,
        operation="add",
        units=2,
    )
    product.refresh_from_db()
    assert (product.status, product.suspended_for_stock) == (ProductStatus.ACTIVE, False)


def test_fulfilment_moves_forward_with_history_and_a_refund_can_restock(world):
    product = make_product(world, units=5)
    apply_notification(world.loja, purchase_notification(quantity=2))
    purchase = Purchase.objects.get()
    access, actor = Access.for_membership(world.m_quinn), Actor(user=world.quinn)
    fulfilment_set(access=access, actor=actor, purchase=purchase, state="shipped", note="CTT RR123")
    fulfilment_set(access=access, actor=actor, purchase=purchase, state="shipped")  # already there: no-op
    with pytest.raises(QrExpressError) as refused:
        fulfilment_set(access=access, actor=actor, purchase=purchase, state="new")
    assert refused.value.code == "invalid_transition"
    fulfilment_set(access=access, actor=actor, purchase=purchase, state="refunded", restock=True)
    purchase.refresh_from_db()
    assert purchase.fulfilment == FulfilmentState.REFUNDED
    assert [(h.from_state, h.to_state) for h in purchase.fulfilment_history.all()] == [
        ("new", "shipped"),
        ("shipped", "refunded"),
    ]
    assert _units(product) == 5
    assert StockEntry.objects.filter(source=StockSource.REFUND).get().delta == 2


def test_only_qr_managers_owners_and_admins_set_fulfilment(world):
    make_product(world, units=5)
    apply_notification(world.loja, purchase_notification())
    purchase = Purchase.objects.get()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        fulfilment_set(
            access=Access.for_membership(world.m_fiona),
            actor=Actor(user=world.fiona),
            purchase=purchase,
            state="shipped",
        )
    assert QrProduct.objects.count() == 1


def test_expiry_reminders_go_once_a_few_days_before(world):
    from datetime import timedelta

    from django.utils import timezone

    from qrexpress.services.alerts import expiry_reminders_send

    soon = make_product(world, units=1, qr_code_id="SOON", expires_on=timezone.localdate() + timedelta(days=3))
    make_product(world, units=1, qr_code_id="LATER", expires_on=timezone.localdate() + timedelta(days=30))
    assert expiry_reminders_send() == 1
    assert expiry_reminders_send() == 0
    (message,) = mail.outbox
    assert message.to == ["quinn@loja.example"]
    assert soon.product_name in message.subject and "3 days" in message.body
