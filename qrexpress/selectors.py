"""Reads of QR Code Express, always scoped by an Access (merchant, and stores when limited)."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from backoffice.access import Access
from backoffice.models import Terminal
from backoffice.roles import Capability
from qrexpress.models import FulfilmentState, Purchase, QrProduct, StockEntry


def can_see_personal_data(access: Access) -> bool:
    """Buyers' tax numbers, addresses and phones: only for the people who fulfil the orders."""
    return access.can(Capability.MANAGE_QREXPRESS)


def _today_start() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def product_list(*, access: Access, search: str = "", status: str = "") -> QuerySet[QrProduct]:
    access.require(Capability.VIEW_QREXPRESS)
    qs = access.scope(QrProduct.objects.all()).select_related("terminal", "store")
    if search:
        qs = qs.filter(
            Q(product_name__icontains=search) | Q(description__icontains=search) | Q(qr_code_id__icontains=search)
        )
    if status:
        qs = qs.filter(status=status)
    zero = Value(0, output_field=IntegerField())
    return qs.annotate(
        sold_total=Coalesce(Sum("purchases__quantity"), zero),
        sold_today=Coalesce(Sum("purchases__quantity", filter=Q(purchases__purchased_at__gte=_today_start())), zero),
        oversold_count=Count("purchases", filter=Q(purchases__oversold_units__gt=0)),
    ).order_by("product_name", "pk")


def product_get(*, access: Access, pk: int) -> QrProduct:
    access.require(Capability.VIEW_QREXPRESS)
    return get_object_or_404(access.scope(QrProduct.objects.select_related("terminal", "store", "merchant")), pk=pk)


def ledger_list(*, access: Access, product: QrProduct) -> QuerySet[StockEntry]:
    access.require(Capability.VIEW_QREXPRESS)
    return (
        StockEntry.objects.filter(merchant=access.merchant, product=product)
        .select_related("purchase__transaction")
        .order_by("-created_at", "-pk")
    )


def purchase_list(
    *, access: Access, product: QrProduct | None = None, fulfilment: str = "", oversold: bool = False
) -> QuerySet[Purchase]:
    access.require(Capability.VIEW_QREXPRESS)
    qs = access.scope(Purchase.objects.all()).select_related("product", "transaction")
    if product is not None:
        qs = qs.filter(product=product)
    if fulfilment in FulfilmentState.values:
        qs = qs.filter(fulfilment=fulfilment)
    if oversold:
        qs = qs.filter(oversold_units__gt=0)
    return qs.order_by("-purchased_at", "-pk")


def purchase_get(*, access: Access, pk: int) -> Purchase:
    return get_object_or_404(purchase_list(access=access).prefetch_related("fulfilment_history"), pk=pk)


def terminal_choices(*, access: Access) -> QuerySet[Terminal]:
    return access.scope(Terminal.objects.filter(is_active=True)).select_related("store").order_by("terminal_id")
