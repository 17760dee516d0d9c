"""What people do with the relay: send a test notification, resend one delivery, recover all
failed since a moment. Every write is audited."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import Merchant
from backoffice.roles import Capability
from payments.sibs.ack import check_ack
from payments.sibs.envelope import CONTENT_TYPE, encrypt
from webhooks.models import DeliveryState, NotificationType, OutboundWebhook, WebhookDelivery, WebhookKind
from webhooks.outbound import engine, transport
from webhooks.outbound.ssrf import validate_webhook_url

RECOVER_LIMIT = 10_000


@dataclass(frozen=True)
class TestVerdict:
    reachable: bool
    tls: str  # negotiated TLS version ("TLSv1.3"), "" for plain http or when not reached
    http_status: int | None
    body_excerpt: str
    ack_matched: bool
    error: str
    duration_ms: int
    delivery: WebhookDelivery | None = None

    @property
    def ok(self) -> bool:
        return self.ack_matched


def _check_access(access: Access | None, merchant_id: int) -> None:
    if access is None:
        return
    access.require(Capability.MANAGE_WEBHOOKS)
    if access.merchant.pk != merchant_id:
        raise PermissionDenied


def sample_payload(webhook: OutboundWebhook) -> dict:
    """A plausible notification of the webhook's first type, marked as a test."""
    kind = (webhook.notification_types or [NotificationType.MBWAY])[0]
    method = {
        NotificationType.MBWAY: "MBWAY",
        NotificationType.REFERENCE: "REFERENCE",
        NotificationType.CARD: "CARD",
        NotificationType.TOKEN: "TOKEN",
        NotificationType.AUTHORISED_PAYMENTS: "MANDATE",
        NotificationType.QR_EXPRESS: "STATIC_QRCODE",
        NotificationType.XPAY: "XPAY",
    }.get(kind, "MBWAY")
    now = timezone.now()
    payload = {
        "returnStatus": {"statusCode": "000", "statusMsg": "Success", "statusDescription": "Test notification"},
        "paymentStatus": "Success",
        "paymentMethod": method,
        "transactionID": "s2TEST" + uuid.uuid4().hex[:14],
        "transactionDateTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "amount": {"currency": "EUR", "value": "1.00"},
        "merchant": {
            "transactionId": "test-" + uuid.uuid4().hex[:8],
            "terminalId": webhook.terminal.terminal_id if webhook.terminal_id else 0,
            "merchantName": webhook.merchant.name,
        },
        "paymentType": "PURS",
        "notificationID": str(uuid.uuid4()),
        "test": True,
    }
    if kind == NotificationType.REFERENCE:
        payload["paymentType"] = "PREF"
        payload["paymentReference"] = {"entity": "00000", "reference": "000000000", "status": "PAID"}
    if kind == NotificationType.AUTHORISED_PAYMENTS:
        payload["mbwayMandate"] = {"mandateIdentification": "TEST", "mandateAction": "CRTN"}
    if kind == NotificationType.QR_EXPRESS:
        payload["financialOperation"] = {"product": {"productName": "Test"}}
    return payload


def send_test(webhook: OutboundWebhook, *, actor: Actor | None = None, access: Access | None = None) -> TestVerdict:
    """Encrypt a sample notification with the webhook's key, post it now, and judge the answer.
    The try is kept in the delivery log (a test delivery, never retried)."""
    _check_access(access, webhook.merchant_id)
    payload = sample_payload(webhook)
    plaintext = json.dumps(payload, ensure_ascii=False)
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        merchant_id=webhook.merchant_id,
        notification_id=payload["notificationID"],
        notification_type=(webhook.notification_types or [""])[0],
        payload=plaintext,
        is_test=True,
        state=DeliveryState.PENDING,
        next_attempt_at=None,  # never due: only this call sends it
        lease_token=uuid.uuid4().hex,
        cycle_started_at=now,
    )
    delivery.webhook = webhook
    if webhook.kind == WebhookKind.EMAIL:
        outcome = engine.send_one(delivery)
        engine.record([outcome])
        return TestVerdict(
            reachable=outcome.acknowledged,
            tls="",
            http_status=None,
            body_excerpt="",
            ack_matched=outcome.acknowledged,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            delivery=delivery,
        )
    outcome = engine.Outcome(delivery=delivery, token=delivery.lease_token, started_at=now, acknowledged=False)
    tls, reachable = "", False
    try:
        validate_webhook_url(webhook.url)
        envelope = encrypt(plaintext, secret=webhook.encryption_key)
    except ValidationError as error:
        outcome.error = " ".join(error.messages)
    except Exception as error:
        outcome.error = f"{type(error).__name__}: {error}"
    else:
        result = transport.post(
            webhook.url, data=envelope.body, headers={"Content-Type": CONTENT_TYPE, **envelope.headers()}
        )
        reachable, tls = result.reachable, result.tls_version
        outcome.duration_ms, outcome.http_status, outcome.excerpt = (
            result.duration_ms,
            result.http_status,
            result.excerpt,
        )
        if result.error:
            outcome.error = result.error
        else:
            verdict = check_ack(result.http_status or 0, result.body, delivery.notification_id)
            outcome.acknowledged = verdict.ok
            if not verdict.ok:
                outcome.error = f"not acknowledged: {verdict.reason}"
    engine.record([outcome])
    if actor is not None:
        audit.record(
            actor=actor,
            action="outbound_webhook.test_sent",
            merchant=webhook.merchant,
            obj=webhook,
            after={"acknowledged": outcome.acknowledged, "http_status": outcome.http_status},
        )
    delivery.refresh_from_db()
    return TestVerdict(
        reachable=reachable,
        tls=tls,
        http_status=outcome.http_status,
        body_excerpt=outcome.excerpt,
        ack_matched=outcome.acknowledged,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        delivery=delivery,
    )


def _restart(queryset, now: datetime) -> int:
    return queryset.update(
        state=DeliveryState.PENDING,
        next_attempt_at=now,
        cycle_attempts=0,
        cycle_started_at=now,
        failed_at=None,
        delivered_at=None,
        failure_notified_at=None,
        lease_token="",
        leased_until=None,
    )


def delivery_resend(delivery: WebhookDelivery, actor: Actor, *, access: Access | None = None) -> WebhookDelivery:
    """Send one delivery again now, whatever its state (a new retry cycle). A delivery being sent
    right now by a worker is left to that worker."""
    _check_access(access, delivery.merchant_id)
    if not delivery.webhook.is_active:
        raise ValidationError(_("This webhook is inactive: activate it before resending."))
    now = timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if row.state == DeliveryState.PENDING and row.leased_until is not None and row.leased_until > now:
            raise ValidationError(_("This notification is being sent right now; wait for the result."))
        before = {"state": row.state, "attempts": row.attempts}
        _restart(WebhookDelivery.objects.filter(pk=row.pk), now)
        audit.record(
            actor=actor,
            action="webhook_delivery.resend",
            merchant=Merchant(pk=row.merchant_id),
            obj=row,
            before=before,
            after={"state": DeliveryState.PENDING, "notification_id": row.notification_id},
        )
        engine.enqueue_on_commit([row.pk])
    row.refresh_from_db()
    return row


def deliveries_recover(
    merchant: Merchant,
    since: datetime,
    webhook: OutboundWebhook | None = None,
    actor: Actor | None = None,
    *,
    access: Access | None = None,
) -> int:
    """Put every delivery of the merchant (or of one webhook) given up since ``since`` back in
    line, as a new retry cycle starting now. Returns how many."""
    _check_access(access, merchant.pk)
    if webhook is not None and webhook.merchant_id != merchant.pk:
        raise PermissionDenied
    if since is None or timezone.is_naive(since):
        raise ValidationError(_("Choose the moment to recover from."))
    now = timezone.now()
    if since > now:
        raise ValidationError(_("The moment to recover from is in the future."))
    failed = WebhookDelivery.objects.filter(
        merchant=merchant, state=DeliveryState.FAILED, failed_at__gte=since, is_test=False, webhook__is_active=True
    )
    if webhook is not None:
        failed = failed.filter(webhook=webhook)
    with transaction.atomic():
        ids = list(failed.order_by("failed_at").values_list("pk", flat=True)[:RECOVER_LIMIT])
        count = _restart(WebhookDelivery.objects.filter(pk__in=ids, state=DeliveryState.FAILED), now) if ids else 0
        audit.record(
            actor=actor or audit.SYSTEM,
            action="webhook_delivery.recover",
            merchant=merchant,
            obj=webhook,
            after={"since": since.isoformat(), "webhook": webhook.pk if webhook else None, "recovered": count},
        )
        for start in range(0, len(ids), 500):
            engine.enqueue_on_commit(ids[start : start + 500])
    return count
