"""seed_demo, the sandbox's part: with the sandbox on, it points itself at the demo merchant's
inbound URL and secret with the demo credential, so sandbox traffic (beat, or
``simulate_traffic``) arrives as real encrypted notifications and becomes transactions, exactly
as SIBS's would; and an outbound webhook relays every notification to the sandbox's demo shop,
so the Webhooks pages have deliveries to show."""

from __future__ import annotations

from django.conf import settings

from backoffice import audit
from backoffice.audit import SYSTEM
from backoffice.demo import register, register_connector
from webhooks.models import NotificationType, OutboundWebhook, WebhookKind
from webhooks.outbound.keys import key_hint

DEMO_SHOP_WEBHOOK = "Demo shop (sandbox)"
DEMO_FAILURE_EMAIL = "finance@lojademo.example"


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


@register_connector
def connect_sandbox(merchant, facts: dict) -> dict:
    """Point the built-in sandbox gateway at the demo merchant's inbound URL and secret."""
    gateway = facts.get("gateway")
    if not settings.SANDBOX_ENABLED or not gateway or not facts.get("inbound_url"):
        return {}
    from sandbox.services import sandbox_configure

    sandbox_configure(
        client_id=gateway["client_id"],
        bearer_token=gateway["bearer_token"],
        terminal_ids=gateway["terminal_ids"],
        notification_url=facts["inbound_url"],
        notification_secret=facts["webhook_secret"],
        merchant_name=merchant.name,
    )
    return {}
