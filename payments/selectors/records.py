"""Reads of the payments app, always scoped by an Access."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from backoffice.access import Access
from backoffice.roles import Capability
from payments.models import GatewayCredential, Transaction, TransactionEvent


def credential_list(*, access: Access) -> QuerySet[GatewayCredential]:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    qs = GatewayCredential.objects.filter(merchant=access.merchant).select_related("store", "terminal")
    if access.is_store_limited:
        # Store-limited managers see their stores' credentials, not the merchant-wide one.
        qs = qs.filter(Q(store__in=access.store_ids) | Q(terminal__store__in=access.store_ids))
    return qs.order_by("-is_active", "-created_at", "-pk")


def credential_get(*, access: Access, pk: int) -> GatewayCredential:
    return get_object_or_404(credential_list(access=access), pk=pk)


def transaction_list(*, access: Access) -> QuerySet[Transaction]:
    access.require(Capability.VIEW_TRANSACTIONS)
    return access.scope(Transaction.objects.all()).select_related("store", "terminal")


def transaction_get(*, access: Access, transaction_id: str) -> Transaction:
    """By SIBS transaction id; another merchant's (or another store's) transaction is a 404."""
    return get_object_or_404(transaction_list(access=access), transaction_id=transaction_id)


def transaction_timeline(*, access: Access, transaction: Transaction) -> QuerySet[TransactionEvent]:
    access.require(Capability.VIEW_TRANSACTIONS)
    if transaction.merchant_id != access.merchant.pk or not (
        transaction.store_id is None or access.allows_store(transaction.store_id)
    ):
        from django.http import Http404

        raise Http404
    return transaction.events.order_by("occurred_at", "id")
