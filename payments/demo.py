"""seed_demo: a gateway credential for the demo merchant pointing at the built-in sandbox.

The sandbox accepts whatever client id and token are configured; ``seed_demo --json`` prints
them under ``gateway`` with the demo terminals, which is how the sandbox side finds them.
"""

from __future__ import annotations

import secrets
import uuid

from backoffice.audit import SYSTEM
from backoffice.demo import register
from backoffice.models import Terminal
from payments.models import ApiRootPreset, GatewayCredential

DEMO_CREDENTIAL_NAME = "seed_demo (sandbox)"


@register
def gateway_demo(merchant) -> dict:
    from backoffice import audit

    terminal_ids = sorted(Terminal.objects.filter(merchant=merchant).values_list("terminal_id", flat=True))
    credential = GatewayCredential.objects.filter(
        merchant=merchant, is_active=True, store__isnull=True, terminal__isnull=True
    ).first()
    if credential is None:
        token = secrets.token_urlsafe(32)
        credential = GatewayCredential.objects.create(
            merchant=merchant,
            name=DEMO_CREDENTIAL_NAME,
            terminal_number=terminal_ids[0] if terminal_ids else 1,
            client_id=str(uuid.uuid4()),
            bearer_token=token,
            token_hint=token[-4:],
            api_root_preset=ApiRootPreset.SANDBOX,
        )
        audit.record(actor=SYSTEM, action="gateway_credential.created", merchant=merchant, obj=credential)
    return {
        "gateway": {
            "api_root": credential.api_root,
            "client_id": credential.client_id,
            "bearer_token": credential.bearer_token,
            "terminal_ids": terminal_ids,
        }
    }
