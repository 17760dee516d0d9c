"""Shared set-up of the payment request tests: Loja's gateway is the built-in sandbox, reached
through the real SIBS client (tests.payments.ops_support.SandboxAdapter)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import requests
from django.utils import timezone

from backoffice.audit import Actor
from payments.requests import services
from tests.payments.ops_support import access_of

PHONE_OK = "351#912345678"
PHONE_DECLINED = "351#912345500"
PHONE_TIMEOUT = "351#912345408"


def ask(world, *, who=None, key="k-1", method="MBWAY", amount="25.00", terminal=None, headers=None, **extra: Any):
    membership = who or world.m_bob
    fields: dict[str, Any] = {
        "terminal": terminal or world.t_lisboa,
        "method": method,
        "amount": amount,
        "order_reference": extra.pop("order_reference", "ENC-1001"),
        "description": extra.pop("description", "Encomenda por telefone"),
        "customer_email": extra.pop("customer_email", ""),
        "language": extra.pop("language", "pt"),
    }
    if method == "MBWAY":
        fields["phone"] = extra.pop("phone", PHONE_OK)
    else:
        fields["reference_entity"] = extra.pop("reference_entity", "24000")
        fields["valid_until"] = extra.pop("valid_until", timezone.now() + timedelta(days=3))
    fields.update(extra)
    return services.payment_request_create(
        access=access_of(membership),
        actor=Actor(user=membership.user),
        idempotency_key=key,
        gateway_headers=headers,
        **fields,
    )


def calls(gw, suffix: str) -> list[dict[str, Any]]:
    return [c for c in gw.adapter.calls if c["path"].endswith(suffix)]


def body_of(call: dict[str, Any]) -> dict[str, Any]:
    return json.loads(call["body"], parse_float=Decimal)


class FailOn:
    """Make the adapter raise ``error`` on calls whose path ends with ``suffix`` (after the
    sandbox processed them when ``after`` is True: a lost answer)."""

    def __init__(self, gw, suffix: str, error: Exception | None = None, *, after: bool = True) -> None:
        self.adapter = gw.adapter
        self.suffix = suffix
        self.error = error or requests.ReadTimeout("read timed out")
        self.after = after
        self.original = self.adapter.send

    def __enter__(self):
        def send(request, **kwargs):
            if request.url.endswith(self.suffix):
                if not self.after:
                    self.adapter.calls.append(
                        {"method": request.method, "path": request.url, "headers": {}, "body": b""}
                    )
                    raise self.error
                self.original(request, **kwargs)
                raise self.error
            return self.original(request, **kwargs)

        self.adapter.send = send
        return self

    def __exit__(self, *exc):
        self.adapter.send = self.original
