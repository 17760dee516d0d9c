"""Notifications of the simulated gateway: the SIBS payload, the outbox and its delivery.

Flow: a service changes a payment and, in the same database transaction, calls
:func:`notification_enqueue`, which writes a :class:`SandboxNotification` holding the plaintext
exactly as it will be sent. After the commit a Celery task is asked to deliver it at once; if the
broker is unreachable nothing is lost, because the periodic tick (:func:`notifications_send_due`)
sends whatever is due. Delivery encrypts with :func:`payments.sibs.encrypt`, POSTs the Base64
body with the IV and tag headers, and judges the answer with :func:`payments.sibs.check_ack`.

**Retry schedule.** SIBS's own "Webhook Retry System" (PROTOCOL.md §1.4), with its minutes
compressed: one SIBS minute lasts ``SandboxMerchant.retry_unit_seconds`` real seconds (default
1; 60 gives SIBS's real pace). With the default, after a failed first attempt the retries come
5 s apart (retries 0-4), then 60 s (5-8), 120 s (9-13), 240 s (14-19), 360 s (20-26),
720 s (27-34) and 1440 s (35-43); after retry 43 the notification is given up (SIBS stops after
about two months). Every answer that is not a valid acknowledgement counts as a failure,
4xx included: SIBS does not distinguish.

**Outbound URLs** may be anything, loopback and private addresses included: this is a simulator
that usually talks to the backoffice on the same machine. That is one reason it is off in
production unless ``SANDBOX_ENABLED`` is set.

**Payload styles** (``SandboxMerchant.notification_style``) reproduce the quirks of real payloads
so that the ingestion side meets them in tests and demos: see :class:`sandbox.models.NotificationStyle`.
Refund, capture and cancellation notifications carry ``originalTransaction: {"id": …}``; whether
real SIBS includes it is UNKNOWN (PROTOCOL.md §7.4) — it is here so the receiver can link the
operation to its payment, and a receiver must not rely on it.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Final

import requests
from django.db import transaction
from django.utils import timezone

from payments.sibs import CONTENT_TYPE, EnvelopeError, check_ack, encrypt

from . import wire
from .models import (
    AckExpectation,
    NotificationStyle,
    SandboxDeliveryAttempt,
    SandboxMerchant,
    SandboxNotification,
    SandboxOperation,
    SandboxPayment,
)

logger = logging.getLogger(__name__)

# (retries in the tier, minutes between them) — SIBS tiers 0 to 6.
RETRY_TIERS: Final[tuple[tuple[int, int], ...]] = ((5, 5), (4, 60), (5, 120), (6, 240), (7, 360), (8, 720), (9, 1440))
MAX_RETRIES: Final = sum(count for count, _ in RETRY_TIERS)  # 44: retries 0 to 43
MAX_ACK_READ: Final = 64 * 1024
SEND_BATCH: Final = 100
USER_AGENT: Final = "SIBS-Gateway-Sandbox/1.0"


def retry_delay(retry_number: int, *, unit_seconds: int) -> timedelta | None:
    """Wait before retry ``retry_number`` (0-based, SIBS's "retry count"); ``None`` once the
    schedule is exhausted."""
    remaining = retry_number
    for count, minutes in RETRY_TIERS:
        if remaining < count:
            return timedelta(seconds=minutes * unit_seconds)
        remaining -= count
    return None


# --------------------------------------------------------------------------- payloads

_CONCRETE_STYLES: Final = (NotificationStyle.PLAIN, NotificationStyle.QLY, NotificationStyle.DOC_PT)


def pick_style(style: str) -> str:
    if style == NotificationStyle.MIXED:
        return random.choice(_CONCRETE_STYLES).value
    return style


@dataclass(frozen=True, slots=True)
class _Styler:
    style: str

    def amount(self, value: Decimal) -> Any:
        if self.style == NotificationStyle.DOC_PT:
            return wire.money_text(value)  # "16.20"
        if self.style == NotificationStyle.QLY:
            return wire.money_shortest(value)  # 15.9, 20
        return wire.money(value)  # 16.20

    def terminal(self, terminal_id: int) -> Any:
        return str(terminal_id) if self.style == NotificationStyle.DOC_PT else terminal_id

    def datetime(self, moment: datetime) -> str:
        if self.style == NotificationStyle.DOC_PT:
            return wire.iso_millis(moment) + " "  # the trailing space of the DOC-PT examples
        if self.style == NotificationStyle.QLY:
            return wire.iso_seconds(moment)
        return wire.iso_millis(moment)

    def in_app(self) -> Any:
        return False if self.style == NotificationStyle.PLAIN else "false"


def _money_object(styler: _Styler, value: Decimal, currency: str) -> dict[str, Any]:
    return {"currency": currency, "value": styler.amount(value)}


def build_payload(
    *,
    payment: SandboxPayment,
    event: str,
    style: str,
    notification_id: str,
    now: datetime,
    operation: SandboxOperation | None = None,
) -> dict[str, Any]:
    """The notification object, in the SIBS shape of seed 002 (key order included)."""
    s = _Styler(style)
    merchant = payment.merchant
    source = operation or payment
    return_status = {"statusMsg": source.return_message, "statusCode": source.return_code}
    status = source.status
    if event == "reference.generated":
        # SIBS reports a *generated* reference as a successful PREF with the reference UNPAID
        # (seed 002, #10): "Success" here means the reference exists, not that it was paid.
        return_status, status = {"statusMsg": "Success", "statusCode": "000"}, "Success"
    payload: dict[str, Any] = {
        "returnStatus": return_status,
        "paymentStatus": status,
        "paymentMethod": payment.payment_method,
        "transactionID": source.transaction_id,
        "transactionDateTime": s.datetime(now),
        "amount": _money_object(s, source.amount, source.currency),
    }
    if payment.kind == SandboxPayment.Kind.QRCODE:
        # Static QR code purchases have no merchant transaction id (seed 002, #9).
        payload["merchant"] = {"terminalId": s.terminal(payment.terminal_id)}
    else:
        merchant_tx = (operation.merchant_transaction_id if operation else "") or payment.merchant_transaction_id
        payload["merchant"] = {
            "transactionId": merchant_tx,
            "terminalId": s.terminal(payment.terminal_id),
            "merchantName": merchant.merchant_name,
            "inApp": s.in_app(),
        }
    payload["paymentType"] = operation.payment_type if operation else _payment_type(payment, event)

    if operation is None:
        _add_method_details(payload, payment=payment, event=event, styler=s)
        if payment.status == "Success" and event != "reference.generated":
            payload["internalTransactionId"] = payment.internal_transaction_id
    else:
        payload["originalTransaction"] = {"id": payment.transaction_id}
        if operation.status == "Success":
            payload["internalTransactionId"] = wire.new_internal_transaction_id()
    payload["notificationID"] = notification_id
    return payload


def _payment_type(payment: SandboxPayment, event: str) -> str:
    if event.startswith("reference."):
        return "PREF"
    return payment.payment_type


def _add_method_details(payload: dict[str, Any], *, payment: SandboxPayment, event: str, styler: _Styler) -> None:
    if payment.payment_method == "MBWAY" and payment.phone:
        payload["token"] = {"tokenType": "MobilePhone", "value": payment.phone}
    elif payment.payment_method in {"CARD", "TOKEN"} and payment.card_token:
        payload["token"] = {"tokenType": "Card", "value": payment.card_token}
    if event.startswith("reference.") and not (
        # The DOC-PT "Paid" example carries no paymentReference at all (seed 002, #11).
        event == "reference.paid" and styler.style == NotificationStyle.DOC_PT
    ):
        expiry = payment.reference_expires_at or payment.created_at
        payload["paymentReference"] = {
            "reference": payment.reference,
            "entity": payment.reference_entity,
            "paymentEntity": payment.reference_entity,
            "amount": {"value": styler.amount(payment.amount), "currency": payment.currency},
            "status": "PAID" if payment.reference_status == SandboxPayment.ReferenceState.PAID else "UNPAID",
            "expiryDate": styler.datetime(expiry),
        }
    if payment.mit:
        payload["merchantInitiatedTransaction"] = _mit_block(payment.mit)
    if payment.financial_operation:
        payload["financialOperation"] = _with_money(payment.financial_operation)


def _mit_block(mit: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "validityDate", "amountQualifier", "schedule")
    return {key: mit[key] for key in keys if mit.get(key) not in (None, "", {})}


def _with_money(value: Any) -> Any:
    """JSONField gives floats back for the QR amounts; send them as exact JSON numbers."""
    if isinstance(value, dict):
        return {key: _with_money(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_money(item) for item in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


# --------------------------------------------------------------------------- outbox


def notification_enqueue(
    *,
    payment: SandboxPayment,
    event: str,
    now: datetime,
    operation: SandboxOperation | None = None,
) -> SandboxNotification:
    """Write the notification for a state change; call inside the transaction that made it.

    Delivery is requested after the commit. Without a notification URL (or secret) the row is
    still written — it is what SIBS would have sent — but it is not scheduled.
    """
    merchant = payment.merchant
    style = pick_style(merchant.notification_style)
    notification_id = str(uuid.uuid4())
    payload = build_payload(
        payment=payment, event=event, style=style, notification_id=notification_id, now=now, operation=operation
    )
    deliverable = bool(merchant.notification_url and merchant.notification_secret)
    notification = SandboxNotification.objects.create(
        merchant=merchant,
        payment=payment,
        operation=operation,
        notification_id=notification_id,
        event=event,
        style=style,
        payload=wire.dumps(payload),
        created_at=now,
        next_attempt_at=now if deliverable else None,
        last_error="" if deliverable else "not sent: the sandbox merchant has no notification URL or secret",
    )
    if deliverable:
        transaction.on_commit(partial(_dispatch, notification.pk))
    return notification


def _dispatch(notification_pk: int) -> None:
    # Never let a broker problem reach the request that changed the payment: the tick will
    # send the notification anyway.
    try:
        from .tasks import deliver_notification

        deliver_notification.delay(notification_pk)
    except Exception:
        logger.warning("sandbox: could not queue delivery of notification %s; the tick will send it", notification_pk)


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    acknowledged: bool
    http_status: int | None
    reason: str
    excerpt: str = ""


def _ack_expected(merchant: SandboxMerchant, body: bytes) -> str | None:
    """Extra strictness on top of check_ack: a merchant may require one statusCode spelling."""
    if merchant.ack_expectation == AckExpectation.ANY:
        return None
    try:
        code = json.loads(body.decode("utf-8-sig")).get("statusCode")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "body is not a JSON object"
    if code != merchant.ack_expectation:
        shown = json.dumps(code, default=str)
        return f'statusCode {shown} is not "{merchant.ack_expectation}" (this sandbox merchant expects it)'
    return None


def _post(merchant: SandboxMerchant, notification: SandboxNotification) -> DeliveryResult:
    try:
        envelope = encrypt(notification.payload, secret=merchant.notification_secret)
    except (EnvelopeError, ValueError) as exc:
        return DeliveryResult(False, None, f"cannot encrypt: {exc}")
    headers = {**envelope.headers(), "Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}
    try:
        response = requests.post(
            merchant.notification_url,
            data=envelope.body.encode("ascii"),
            headers=headers,
            timeout=merchant.delivery_timeout_seconds,
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        return DeliveryResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    try:
        body = response.raw.read(MAX_ACK_READ + 1, decode_content=True) or b""
    except Exception as exc:  # a broken or slow stream is a failed delivery, nothing more
        return DeliveryResult(False, response.status_code, f"reading the answer failed: {exc}"[:500])
    finally:
        response.close()
    excerpt = body[:500].decode("utf-8", errors="replace")
    check = check_ack(response.status_code, body, notification.notification_id)
    if not check.ok:
        return DeliveryResult(False, response.status_code, check.reason, excerpt)
    stricter = _ack_expected(merchant, body)
    if stricter:
        return DeliveryResult(False, response.status_code, stricter, excerpt)
    return DeliveryResult(True, response.status_code, "acknowledged", excerpt)


def notification_deliver(notification_pk: int, *, now: datetime | None = None) -> str:
    """Try to deliver one notification if it is due. Returns ``acknowledged``, ``retry``,
    ``given up`` or ``skipped`` (not due, already done, or taken by another worker)."""
    now = now or timezone.now()
    notification = SandboxNotification.objects.select_related("merchant").filter(pk=notification_pk).first()
    if notification is None:
        return "skipped"
    merchant = notification.merchant
    lease = timedelta(seconds=2 * merchant.delivery_timeout_seconds + 30)
    # Claim the attempt with a conditional UPDATE: the on-commit task and the tick may both
    # reach for the same row, and only one of them may send it.
    claimed = SandboxNotification.objects.filter(
        pk=notification_pk,
        acknowledged_at__isnull=True,
        given_up_at__isnull=True,
        next_attempt_at__lte=now,
        attempts=notification.attempts,
    ).update(next_attempt_at=now + lease)
    if not claimed:
        return "skipped"

    started = time.monotonic()
    if merchant.notification_url and merchant.notification_secret:
        result = _post(merchant, notification)
    else:
        result = DeliveryResult(False, None, "the sandbox merchant has no notification URL or secret")
    duration_ms = int((time.monotonic() - started) * 1000)

    number = notification.attempts + 1
    SandboxDeliveryAttempt.objects.create(
        notification=notification,
        number=number,
        started_at=now,
        duration_ms=duration_ms,
        url=merchant.notification_url[:500],
        http_status=result.http_status,
        acknowledged=result.acknowledged,
        reason=result.reason,
        response_excerpt=result.excerpt,
    )
    update: dict[str, Any] = {"attempts": number, "last_http_status": result.http_status}
    if result.acknowledged:
        outcome = "acknowledged"
        update.update(acknowledged_at=now, next_attempt_at=None, last_error="")
    else:
        delay = retry_delay(number - 1, unit_seconds=merchant.retry_unit_seconds)
        update["last_error"] = result.reason
        if delay is None:
            outcome = "given up"
            update.update(given_up_at=now, next_attempt_at=None)
        else:
            outcome = "retry"
            update["next_attempt_at"] = now + delay
    SandboxNotification.objects.filter(pk=notification_pk).update(**update)
    if not result.acknowledged:
        logger.info(
            "sandbox: notification %s not acknowledged (%s): %s", notification.notification_id, outcome, result.reason
        )
    return outcome


def notifications_send_due(*, now: datetime | None = None, limit: int = SEND_BATCH) -> dict[str, int]:
    """Deliver every notification whose time has come (the periodic tick calls this)."""
    now = now or timezone.now()
    due = list(
        SandboxNotification.objects.filter(
            next_attempt_at__lte=now, acknowledged_at__isnull=True, given_up_at__isnull=True
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in due:
        try:
            outcome = notification_deliver(pk, now=now)
        except Exception:
            logger.exception("sandbox: delivering notification %s failed unexpectedly", pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def notification_resend(notification: SandboxNotification, *, now: datetime | None = None) -> None:
    """Send a given-up (or acknowledged) notification once more, same notificationID. The
    retry schedule is not restarted: a failure gives it up again."""
    now = now or timezone.now()
    SandboxNotification.objects.filter(pk=notification.pk).update(
        given_up_at=None, acknowledged_at=None, next_attempt_at=now
    )
