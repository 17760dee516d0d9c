"""Helpers for the outbound relay tests: webhooks, processed notifications, deliveries."""

from __future__ import annotations

from typing import Any

from backoffice.models import Merchant
from webhooks.models import NotificationType, OutboundWebhook, WebhookKind
from webhooks.outbound import key_hint

ALL_TYPES = [t.value for t in NotificationType]


def make_webhook(
    merchant: Merchant,
    *,
    url: str = "",
    key: str = "",
    name: str = "ERP",
    types: list[str] | None = None,
    store=None,
    terminal=None,
    kind: str = WebhookKind.URL,
    email_to: str = "",
    failure_email: str = "ops@loja.example",
    language: str = "pt",
    is_active: bool = True,
    endpoint: Any = None,
) -> OutboundWebhook:
    """A webhook; ``endpoint`` (a LoopbackEndpoint) fills url and key."""
    if endpoint is not None:
        url, key = url or endpoint.url, key or endpoint.key
    return OutboundWebhook.objects.create(
        merchant=merchant,
        store=store,
        terminal=terminal,
        name=name,
        kind=kind,
        url=url,
        encryption_key=key,
        key_hint=key_hint(key) if key else "",
        email_to=email_to,
        failure_email=failure_email,
        language=language,
        notification_types=list(types if types is not None else ALL_TYPES),
        is_active=is_active,
    )
