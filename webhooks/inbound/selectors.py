"""Reads of the inbound side, always scoped by an Access.

Inbound configuration and the rejected log are merchant-wide: a store-limited membership
cannot see them, whatever its role.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.roles import Capability
from webhooks.models import (
    InboundEndpoint,
    InboundNotification,
    InboundState,
    RejectedNotification,
    WebhookSecret,
)


def _require_merchant_wide(access: Access) -> None:
    if access.is_store_limited:
        raise PermissionDenied(_("Inbound notifications are configured for the whole merchant."))


def can_see_rejected(access: Access) -> bool:
    return not access.is_store_limited and (
        access.can(Capability.MANAGE_PAYMENT_METHODS) or access.can(Capability.MANAGE_WEBHOOKS)
    )


def endpoint_get(*, access: Access) -> InboundEndpoint | None:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    _require_merchant_wide(access)
    return InboundEndpoint.objects.filter(merchant=access.merchant).first()


def secret_list(*, access: Access) -> QuerySet[WebhookSecret]:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    _require_merchant_wide(access)
    return (
        WebhookSecret.objects.filter(merchant=access.merchant)
        .select_related("created_by")
        .defer("secret")
        .order_by("revoked_at", "-created_at", "-pk")
    )


def secret_get(*, access: Access, pk: int) -> WebhookSecret:
    return get_object_or_404(secret_list(access=access), pk=pk)


def rejected_list(*, access: Access) -> QuerySet[RejectedNotification]:
    """Readable with either capability: it is gateway set-up and delivery diagnostics both."""
    if not can_see_rejected(access):
        raise PermissionDenied(_("Your role does not allow this."))
    return RejectedNotification.objects.filter(merchant=access.merchant).order_by("-received_at", "-id")


def failed_inbound_list(*, access: Access) -> QuerySet[InboundNotification]:
    """Notifications that were acknowledged and stored but could not be processed."""
    if not can_see_rejected(access):
        raise PermissionDenied(_("Your role does not allow this."))
    return (
        InboundNotification.objects.filter(merchant=access.merchant, state=InboundState.FAILED)
        .only("notification_id", "transaction_ref", "received_at", "attempts", "last_error")
        .order_by("-received_at", "-id")
    )
