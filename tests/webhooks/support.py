"""Helpers shared by the inbound and payments tests: secrets, encrypted posts, direct processing."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.test import Client
from django.utils import timezone

from backoffice.audit import SYSTEM
from backoffice.models import Merchant
from payments.sibs.envelope import CONTENT_TYPE, encrypt, generate_secret
from payments.sibs.notification import parse_notification
from webhooks.inbound import keyring, services
from webhooks.models import InboundEndpoint, InboundNotification, SecretOrigin, WebhookSecret


def add_secret(merchant: Merchant, secret: str | None = None, *, label: str = "test") -> str:
    secret = secret or generate_secret()
    services.secret_add(merchant=merchant, actor=SYSTEM, label=label, canonical=secret, origin=SecretOrigin.ENTERED)
    keyring.invalidate()
    return secret


def endpoint(merchant: Merchant) -> InboundEndpoint:
    return services.endpoint_ensure(merchant)


def inbound_path(merchant: Merchant) -> str:
    return f"/hooks/sibs/{endpoint(merchant).token}/"


def as_bytes(payload: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


def post_encrypted(client: Client, path: str, secret: str, payload: dict[str, Any] | str | bytes, **extra) -> Any:
    """POST the payload encrypted as SIBS does: Base64 body, IV and tag in headers."""
    envelope = encrypt(as_bytes(payload), secret=secret)
    headers = {
        "HTTP_X_INITIALIZATION_VECTOR": envelope.iv,
        "HTTP_X_AUTHENTICATION_TAG": envelope.tag,
        **extra,
    }
    return client.generic("POST", path, envelope.body.encode(), content_type=CONTENT_TYPE, **headers)


@contextmanager
def processing(django_capture_on_commit_callbacks):
    """Run the after-commit enqueue (and, Celery being eager in tests, the processing)."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        yield callbacks


def store(merchant: Merchant, payload: dict[str, Any], *, received_at: datetime | None = None) -> InboundNotification:
    """Store a notification as the inbound view would, without HTTP nor enqueueing."""
    raw = as_bytes(payload)
    notification = parse_notification(raw)
    return InboundNotification.objects.create(
        merchant=merchant,
        notification_id=notification.notification_id,
        transaction_ref=notification.transaction_id,
        received_at=received_at or timezone.now(),
        body="",
        headers={},
        plaintext=raw.decode(),
    )


def deliver(merchant: Merchant, payload: dict[str, Any], *, received_at: datetime | None = None) -> str:
    """Store and process one notification; returns the processing outcome."""
    inbound = store(merchant, payload, received_at=received_at)
    return services.notification_process(inbound_id=inbound.pk)


_counter = iter(range(1, 10**9))


def notification(**overrides: Any) -> dict[str, Any]:
    """A plausible MB WAY purchase notification; override any top-level key."""
    n = next(_counter)
    base: dict[str, Any] = {
        "returnStatus": {"statusMsg": "Success", "statusCode": "000"},
        "paymentStatus": "Success",
        "paymentMethod": "MBWAY",
        "transactionID": f"s2test{n:014d}",
        "transactionDateTime": "2026-03-12T10:48:44.123Z",
        "amount": {"currency": "EUR", "value": "16.20"},
        "merchant": {"transactionId": f"order-{n}", "terminalId": 11111, "merchantName": "Loja"},
        "paymentType": "PURS",
        "token": {"tokenType": "MobilePhone", "value": "351#912345678"},
        "notificationID": f"00000000-0000-4000-8000-{n:012d}",
    }
    base.update(overrides)
    return base


def again(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The same transaction in a later notification (a new notificationID)."""
    n = next(_counter)
    return {**payload, "notificationID": f"00000000-0000-4000-9000-{n:012d}", **overrides}


__all__ = [
    "WebhookSecret",
    "add_secret",
    "again",
    "deliver",
    "endpoint",
    "inbound_path",
    "notification",
    "post_encrypted",
    "processing",
    "store",
]
