"""seed_demo: the demo merchant's inbound URL and a webhook secret, so anyone can post a real
encrypted notification at a fresh install (``seed_demo --json`` prints both). The sandbox adds
the outbound webhook to its demo shop (``sandbox.demo``)."""

from __future__ import annotations

from backoffice.audit import SYSTEM
from backoffice.demo import register
from payments.sibs.envelope import generate_secret
from webhooks.inbound import services
from webhooks.models import SecretOrigin, WebhookSecret

DEMO_LABEL = "seed_demo"


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
