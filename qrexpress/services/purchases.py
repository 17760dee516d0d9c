"""Purchases: recorded from SIBS's STATIC_QRCODE notification, fulfilled by the merchant.

A successful purchase takes ``productQuantity`` units from its product once per transaction,
whatever the number or order of the notifications: the purchase row is unique per transaction and
is written in the notification's database transaction, under the transaction's row lock. When the
stock has fewer units than were sold, SIBS has still taken the money: the purchase is recorded
with the missing units as ``oversold_units`` for the merchant to refund or ship.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import SYSTEM, Actor
from backoffice.roles import Capability
from qrexpress.models import FulfilmentChange, FulfilmentState, Purchase, QrProduct, StockSource
from qrexpress.services import sibs_stock
from qrexpress.services.errors import QrExpressError
from qrexpress.services.stock import ledger_apply

STATIC_QRCODE = "STATIC_QRCODE"
MAX_QUANTITY = 100_000
# Who may move a purchase to which state; refunded is reachable from anywhere but itself.
TRANSITIONS = {
    FulfilmentState.NEW: {FulfilmentState.SHIPPED, FulfilmentState.DELIVERED, FulfilmentState.REFUNDED},
    FulfilmentState.SHIPPED: {FulfilmentState.DELIVERED, FulfilmentState.REFUNDED},
    FulfilmentState.DELIVERED: {FulfilmentState.REFUNDED},
    FulfilmentState.REFUNDED: set(),
}


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()[:limit]


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount >= 10**10:
        return None
    return amount.quantize(Decimal("0.01"))


def _quantity(value: Any) -> int:
    """``productQuantity`` as sent (a number, sometimes a string); 1 when absent or unreadable."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_QUANTITY:
        return value
    return 1


def purchase_record_from_transaction(txn) -> Purchase | None:
    """Record the purchase behind a STATIC_QRCODE transaction, once. Called by the payments
    ledger inside its ``transaction.atomic()``, with the transaction row locked."""
    if (
        txn.payment_method != STATIC_QRCODE
        or txn.payment_status != "Success"
        or not txn.qr_code_id
        or txn.is_operation
        or txn.pk is None
    ):
        return None
    if Purchase.objects.filter(transaction_id=txn.pk).exists():
        return None
    data = txn.qr_purchase if isinstance(txn.qr_purchase, dict) else {}
    product_info = data.get("product") if isinstance(data.get("product"), dict) else {}
    billing = data.get("billingInfo") if isinstance(data.get("billingInfo"), dict) else {}
    shipping = data.get("expeditionInfo") if isinstance(data.get("expeditionInfo"), dict) else {}
    quantity = _quantity(product_info.get("productQuantity"))
    product = (
        QrProduct.objects.select_for_update().filter(merchant_id=txn.merchant_id, qr_code_id=txn.qr_code_id).first()
    )
    purchase = Purchase(
        merchant_id=txn.merchant_id,
        store_id=product.store_id if product else txn.store_id,
        product=product,
        transaction=txn,
        qr_code_id=txn.qr_code_id[:64],
        product_name=_text(product_info.get("productName"), 200),
        quantity=quantity,
        unit_amount=_money(product_info.get("productAmount")),
        expedition_amount=_money(product_info.get("expeditionAmount")),
        amount=txn.amount,
        currency=(txn.currency or "EUR")[:3],
        billing_tin=_text(billing.get("billingTIN"), 20),
        billing_address={
            key: _text(billing.get(key), 200)
            for key in ("billingAddressLine1", "billingAddressLine2", "billingAddressPostalCode", "billingAddressCity")
            if _text(billing.get(key), 200)
        },
        shipping_name=_text(shipping.get("expeditionName"), 200),
        shipping_address={
            key: _text(shipping.get(key), 200)
            for key in (
                "expeditionAddressLine1",
                "expeditionAddressLine2",
                "expeditionAddressPostalCode",
                "expeditionAddressCity",
            )
            if _text(shipping.get(key), 200)
        },
        phone=_text(
            shipping.get("expeditionMobilePhone") or billing.get("billingMobilePhone") or product_info.get("aliasName"),
            40,
        ),
        email=_text(billing.get("billingEmail") or shipping.get("expeditionEmail"), 254),
        purchased_at=txn.transaction_datetime or timezone.now(),
    )
    try:
        with transaction.atomic():
            purchase.save(force_insert=True)
    except IntegrityError:
        return None  # recorded meanwhile by another notification of the same transaction
    if product is not None and product.stock_managed:
        taken = min(product.stock_units, quantity)
        purchase.oversold_units = quantity - taken
        if purchase.oversold_units:
            purchase.save(update_fields=["oversold_units"])
        if taken:
            ledger_apply(
                product_id=product.pk,
                delta=-taken,
                source=StockSource.PURCHASE,
                actor=SYSTEM,
                reason=_("Purchase %(transaction)s") % {"transaction": txn.transaction_id},
                purchase=purchase,
            )
    return purchase


def fulfilment_set(
    *, access: Access, actor: Actor, purchase: Purchase, state: str, note: str = "", restock: bool = False
) -> Purchase:
    """Move a purchase to ``state``, with a history row. A refund may return its units to stock."""
    access.require(Capability.MANAGE_QREXPRESS)
    if purchase.merchant_id != access.merchant.pk or not access.allows_store(purchase.store_id):
        raise QrExpressError(_("No such purchase."), code="not_found", status=404)
    if state not in FulfilmentState.values:
        raise QrExpressError(_("Choose a fulfilment state."), code="invalid_state", field="state", status=400)
    note = (note or "").strip()[:300]
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        if state == locked.fulfilment:
            return locked  # already there: nothing to do
        if state not in TRANSITIONS[FulfilmentState(locked.fulfilment)]:
            raise QrExpressError(
                _("A purchase that is %(current)s cannot become %(new)s.")
                % {
                    "current": FulfilmentState(locked.fulfilment).label,
                    "new": FulfilmentState(state).label,
                },
                code="invalid_transition",
                field="state",
            )
        FulfilmentChange.objects.create(
            purchase=locked,
            from_state=locked.fulfilment,
            to_state=state,
            note=note,
            actor=actor.user,
            actor_label=actor.label,
        )
        before = locked.fulfilment
        locked.fulfilment = state
        locked.save(update_fields=["fulfilment"])
        if state == FulfilmentState.REFUNDED and restock and locked.product_id:
            # Only what was taken from the stock goes back to it.
            returned = locked.quantity - locked.oversold_units
            if returned > 0 and QrProduct.objects.filter(pk=locked.product_id, stock_managed=True).exists():
                entry = ledger_apply(
                    product_id=locked.product_id,
                    delta=returned,
                    source=StockSource.REFUND,
                    actor=actor,
                    reason=_("Refund of purchase %(transaction)s") % {"transaction": locked.transaction.transaction_id},
                    purchase=locked,
                )
                sibs_stock.push_after_commit(locked.product, operation="add", units=returned, entry=entry)
        audit.record(
            actor=actor,
            action="qrexpress.fulfilment",
            merchant=access.merchant,
            obj=locked,
            before={"fulfilment": before},
            after={"fulfilment": state, "note": note},
        )
    return locked
