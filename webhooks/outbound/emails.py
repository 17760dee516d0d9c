"""E-mails of the relay, in the webhook's language: the notification itself (e-mail webhooks),
the message that a delivery was given up (to the failure e-mail), and the daily digest."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from payments.sibs.enums import PaymentStatus
from payments.sibs.notification import NotificationError, parse_notification
from webhooks.models import DeliveryState, NotificationType, OutboundWebhook, WebhookDelivery
from webhooks.outbound.classify import classify

logger = logging.getLogger(__name__)

# Deliveries listed in one give-up message or digest; the rest are counted.
LIST_LIMIT = 50


def send_templated(*, template: str, context: dict[str, Any], to: list[str], language: str) -> None:
    with translation.override(language):
        subject = " ".join(render_to_string(f"webhooks/email/{template}_subject.txt", context).split())
        text = render_to_string(f"webhooks/email/{template}.txt", context)
        html = render_to_string(f"webhooks/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


# --------------------------------------------------------------------------- e-mail webhooks


def notification_context(webhook: OutboundWebhook, payload: dict[str, Any]) -> dict[str, Any]:
    """What a person needs from a notification: who, how much, how, what happened, which one."""
    context: dict[str, Any] = {
        "merchant_name": webhook.merchant.name,
        "webhook": webhook,
        "notification_id": str(payload.get("notificationID", "")).strip(),
        "transaction_id": str(payload.get("transactionID", "")).strip(),
        "type_label": "",
        "amount": None,
        "currency": "EUR",
        "method": payload.get("paymentMethod") or "",
        "payment_type": payload.get("paymentType") or "",
        "status": payload.get("paymentStatus") or "",
        "order_id": "",
        "terminal_id": "",
        "occurred_at": None,
        "reference": None,
        "return_message": "",
        "status_label": payload.get("paymentStatus") or "",
    }
    kind = classify(payload)
    if kind is not None:
        context["type_label"] = NotificationType(kind).label
    try:
        parsed = parse_notification(payload)
    except NotificationError:
        return context
    context.update(
        amount=parsed.amount,
        currency=parsed.currency or "EUR",
        method=str(getattr(parsed.payment_method, "value", parsed.payment_method) or ""),
        payment_type=str(getattr(parsed.payment_type, "value", parsed.payment_type) or ""),
        status=str(getattr(parsed.payment_status, "value", parsed.payment_status) or ""),
        order_id=parsed.merchant_transaction_id or "",
        terminal_id=parsed.terminal_id or "",
        occurred_at=parsed.transaction_datetime,
        transaction_id=parsed.transaction_id,
        notification_id=parsed.notification_id,
        return_message=(parsed.return_status.message or "") if parsed.return_status else "",
    )
    try:
        context["status_label"] = PaymentStatus(context["status"]).label
    except ValueError:
        context["status_label"] = context["status"]
    if parsed.payment_reference is not None:
        context["reference"] = {
            "entity": parsed.payment_reference.entity,
            "reference": parsed.payment_reference.reference,
            "expiry": parsed.payment_reference.expiry,
        }
    return context


def send_notification_email(webhook: OutboundWebhook, payload: dict[str, Any], *, is_test: bool = False) -> None:
    context = notification_context(webhook, payload)
    context["is_test"] = is_test
    send_templated(template="notification", context=context, to=[webhook.email_to], language=webhook.language)


# --------------------------------------------------------------------------- giving up


def notify_given_up(ids: list[int] | None = None, *, now: datetime | None = None) -> int:
    """Tell each failure e-mail about the deliveries given up and not told yet (one message per
    address and webhook). Each delivery is claimed by a conditional update first, so two
    sweeps never both tell; a message that cannot be sent is released for the next sweep.
    Returns the number of messages sent."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(
        state=DeliveryState.FAILED, failure_notified_at__isnull=True, is_test=False
    ).select_related("webhook", "webhook__merchant")
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    groups: dict[int, list[WebhookDelivery]] = defaultdict(list)
    for delivery in pending.order_by("failed_at", "pk")[:2000]:
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk, failure_notified_at__isnull=True).update(
            failure_notified_at=now
        )
        if not claimed:
            continue
        if not delivery.webhook.failure_email:
            continue  # nobody to tell (an e-mail webhook without a failure address)
        groups[delivery.webhook_id].append(delivery)
    sent = 0
    for deliveries in groups.values():
        webhook = deliveries[0].webhook
        context = {
            "webhook": webhook,
            "merchant_name": webhook.merchant.name,
            "deliveries": deliveries[:LIST_LIMIT],
            "count": len(deliveries),
            "more": max(0, len(deliveries) - LIST_LIMIT),
            "site_url": settings.SITE_URL,
        }
        try:
            send_templated(template="given_up", context=context, to=[webhook.failure_email], language=webhook.language)
        except Exception:
            logger.exception("give-up e-mail to %s not sent; will retry", webhook.failure_email)
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries], failure_notified_at=now).update(
                failure_notified_at=None
            )
            continue
        sent += 1
    return sent
