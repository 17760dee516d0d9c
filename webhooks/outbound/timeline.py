"""Outbound deliveries on a transaction's timeline (a source for :mod:`payments.timeline`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backoffice.access import Access
from backoffice.roles import Capability
from common.dates import lisbon
from payments.selectors.timeline import TimelineEntry
from webhooks.models import DeliveryState, WebhookDelivery
from webhooks.outbound.error_text import error_text


def _link(access: Access, delivery: WebhookDelivery) -> str:
    """The delivery's page in the webhook log, for those who may open it."""
    if not access.can(Capability.MANAGE_WEBHOOKS):
        return ""
    try:
        return reverse("webhooks:delivery", kwargs={"merchant": access.merchant.slug, "pk": delivery.pk})
    except NoReverseMatch:
        return ""


def delivery_entries(access: Access, txn) -> Iterable[TimelineEntry]:
    """One entry per relay of this transaction's notifications: where, how it went, what next."""
    if txn.merchant_id != access.merchant.pk:
        return []
    deliveries = (
        WebhookDelivery.objects.filter(transaction=txn, merchant_id=access.merchant.pk, is_test=False)
        .select_related("webhook")
        .order_by("created_at", "pk")
    )
    entries = []
    for delivery in deliveries:
        name = delivery.webhook.name
        if delivery.state == DeliveryState.DELIVERED:
            title = _("Relayed to “%(name)s”: acknowledged") % {"name": name}
            outcome = "ok"
        elif delivery.state == DeliveryState.FAILED:
            title = _("Relay to “%(name)s” given up") % {"name": name}
            outcome = "error"
        elif delivery.attempts:
            title = _("Relay to “%(name)s” failing, retrying") % {"name": name}
            outcome = "warn"
        else:
            title = _("Relay to “%(name)s” queued") % {"name": name}
            outcome = "info"
        parts = [
            _("notification %(id)s") % {"id": delivery.notification_id},
            ngettext("%(n)d attempt", "%(n)d attempts", delivery.attempts) % {"n": delivery.attempts},
        ]
        if delivery.state == DeliveryState.DELIVERED:
            if delivery.last_http_status:
                parts.append(f"HTTP {delivery.last_http_status}")
        elif delivery.last_answer:
            parts.append(error_text(delivery.last_answer)[:200])
        if delivery.state == DeliveryState.PENDING and not delivery.webhook.is_active:
            parts.append(_("paused: the webhook is disabled"))
        elif delivery.state == DeliveryState.PENDING and delivery.next_attempt_at:
            parts.append(_("next try %(at)s") % {"at": lisbon(delivery.next_attempt_at)})
        badges = (delivery.get_notification_type_display(),) if delivery.notification_type else ()
        entries.append(
            TimelineEntry(
                at=delivery.created_at,
                kind="webhook_delivery",
                title=title,
                detail=" · ".join(str(p) for p in parts),
                outcome=outcome,
                actor=_("Webhook relay"),
                badges=badges,
                link=_link(access, delivery),
            )
        )
    return entries
