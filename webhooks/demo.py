"""seed_demo: the demo merchant's inbound URL and a webhook secret, so anyone can post a real
encrypted notification at a fresh install (``seed_demo --json`` prints both); and, with the
sandbox on, an outbound webhook relaying every notification to the sandbox's demo shop, so the
Webhooks pages have deliveries to show."""

from __future__ import annotations

from django.conf import settings

from backoffice import audit
from backoffice.audit import SYSTEM
from backoffice.demo import register
from payments.sibs.envelope import generate_secret
from webhooks.inbound import services
from webhooks.models import NotificationType, OutboundWebhook, SecretOrigin, WebhookKind, WebhookSecret
from webhooks.outbound.keys import key_hint

DEMO_LABEL = "seed_demo"
DEMO_SHOP_WEBHOOK = "Demo shop (sandbox)"
DEMO_FAILURE_EMAIL = "finance@lojademo.example"


@register
def inbound_demo(merchant) -> dict:
    endpoint = services.endpoint_ensure(merchant)
    # Reused on every run: it is encrypted at rest, so it can be shown again here (demo only).
    secret = (
        WebhookSecret.objects.filter(merchant=merchant, label=DEMO_LABEL, revoked_at__isnull=True)
        .order_by("created_at", "pk")
        .first()
    )
    if secret is None:
        secret = services.secret_add(
            merchant=merchant,
            actor=SYSTEM,
            label=DEMO_LABEL,
            canonical=generate_secret(),
            origin=SecretOrigin.GENERATED,
        )
    return {"inbound_url": endpoint.url, "webhook_secret": secret.secret}


@register
def outbound_demo(merchant) -> dict:
    if not settings.SANDBOX_ENABLED:
        return {}
    from django.core.exceptions import ValidationError

    from sandbox.shop import shop_key
    from webhooks.outbound.ssrf import validate_webhook_url

    try:
        # SITE_URL is loopback by default: only where private addresses and http are allowed.
        url = validate_webhook_url(f"{settings.SITE_URL}/sandbox/shop/hooks/")
    except ValidationError:
        return {}
    webhook = OutboundWebhook.objects.filter(merchant=merchant, name=DEMO_SHOP_WEBHOOK).first()
    if webhook is None:
        key = shop_key()
        webhook = OutboundWebhook.objects.create(
            merchant=merchant,
            name=DEMO_SHOP_WEBHOOK,
            kind=WebhookKind.URL,
            url=url,
            encryption_key=key,
            key_hint=key_hint(key),
            failure_email=DEMO_FAILURE_EMAIL,
            language=merchant.language if merchant.language in ("pt", "en") else "pt",
            notification_types=list(NotificationType.values),
        )
        audit.record(actor=SYSTEM, action="outbound_webhook.created", merchant=merchant, obj=webhook)
    return {"outbound_webhook": {"name": webhook.name, "url": webhook.url}}
