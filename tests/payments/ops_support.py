"""Support for the refund / capture / cancellation tests: the built-in sandbox as the gateway.

``SandboxAdapter`` is a ``requests`` transport that hands the backoffice's real HTTP requests to
the sandbox's views through Django's test client (same process, same database transaction), so
the SIBS client, its headers, bodies and error handling run unchanged against the sandbox's SIBS
rules. Each request is recorded, so tests count the calls that reached the gateway.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from urllib3 import HTTPResponse

from backoffice.access import Access
from backoffice.audit import Actor
from payments.models import GatewayCredential, Transaction
from payments.services import gateway, ledger

CLIENT_ID = "5f1c7f55-9a0e-4c43-9d55-0d9e3c1b2a10"
TOKEN = "0276b80f950fb446c6addaccd121abfbbb.eyJlIjoiMTk4N.operations"


class SandboxAdapter(BaseAdapter):
    def __init__(self, client) -> None:
        super().__init__()
        self.client = client
        self.calls: list[dict[str, Any]] = []
        # Raise this instead of answering (after the sandbox processed the request when
        # ``after`` is True): simulates a lost answer or an unreachable gateway.
        self.fail_with: Exception | None = None
        self.fail_after_processing = True

    def money_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == "POST" and c["path"].rsplit("/", 1)[-1] in OPERATION_PATHS]

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        self.calls.append(
            {"method": request.method, "path": parts.path, "headers": dict(request.headers), "body": body}
        )
        if self.fail_with is not None and not self.fail_after_processing:
            raise self.fail_with
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")}
        answer = self.client.generic(
            request.method,
            path,
            data=body,
            content_type=request.headers.get("Content-Type", "application/json"),
            headers=headers,
        )
        if self.fail_with is not None:
            raise self.fail_with
        raw = HTTPResponse(
            body=io.BytesIO(answer.content),
            status=answer.status_code,
            headers={"Content-Type": answer.get("Content-Type", "")},
            preload_content=False,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.raw = raw
        response.url = request.url
        response.request = request
        response.headers.update({"Content-Type": answer.get("Content-Type", "")})
        return response

    def close(self) -> None:
        pass


OPERATION_PATHS = {"refund", "capture", "cancellation"}


@dataclass
class Gateway:
    """The sandbox wired as Loja's gateway."""

    adapter: SandboxAdapter
    credential: GatewayCredential
    api: Any  # tests.sandbox.conftest.Api
    merchant: Any
    created: list[str] = field(default_factory=list)

    def client(self):
        sibs = gateway.client_for(self.credential)
        sibs.session.mount("http://testserver/", self.adapter)
        return sibs

    def paid(self, *, amount: str = "50.00", terminal: int = 11111, payment_type: str = "PURS") -> Transaction:
        """A successful card payment (or authorisation) in the sandbox, and the backoffice's
        transaction for it, recorded from the sandbox's status answer."""
        from tests.sandbox.conftest import card_body, checkout_body

        response = self.api.checkout(
            checkout_body(amount=amount, payment_type=payment_type, methods=["CARD"], terminal=terminal)
        )
        assert response.status_code == 200, response.data
        tx = response.data["transactionID"]
        answer = self.api.execute(tx, "card/purchase", card_body())
        assert answer.data["paymentStatus"] == "Success", answer.data
        return self.record(tx)

    def reference(self, *, amount: str = "30.00", terminal: int = 11111) -> Transaction:
        from tests.sandbox.conftest import checkout_body

        response = self.api.checkout(checkout_body(amount=amount, methods=["REFERENCE"], terminal=terminal))
        tx = response.data["transactionID"]
        answer = self.api.execute(tx, "service-reference/generate", {})
        assert answer.status_code == 200, answer.data
        return self.record(tx)

    def record(self, transaction_id: str) -> Transaction:
        payload, response = self.client().status(transaction_id)
        from django.db import transaction as db_transaction
        from django.utils import timezone

        with db_transaction.atomic():
            applied = ledger.notification_apply(
                merchant=self.merchant,
                payload=payload,
                stored_payload=json.loads(response.body),
                occurred_at=timezone.now(),
            )
        return Transaction.objects.get(pk=applied.transaction.pk)


def make_gateway(world, client=None) -> Gateway:
    """``client``: the Django test client the sandbox is reached through (a fresh one by
    default, so a page test's own client is never re-entered)."""
    from django.test import Client

    from sandbox.services import sandbox_configure
    from tests.sandbox.conftest import Api

    sandbox_configure(
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        terminal_ids=[11111, 22222],
        notification_url="",
        notification_secret="",
        merchant_name="Loja",
        notification_style="plain",
        customer_delay_seconds=0,
    )
    gateway._clients.clear()
    credential = GatewayCredential.objects.create(
        merchant=world.loja,
        terminal_number=11111,
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        token_hint=TOKEN[-4:],
    )
    client = client or Client()
    adapter = SandboxAdapter(client)
    api = Api(client, client_id=CLIENT_ID, token=TOKEN)
    gw = Gateway(adapter=adapter, credential=credential, api=api, merchant=world.loja)
    gw.client()
    return gw


def access_of(membership) -> Access:
    return Access.for_membership(membership)


def actor_of(user) -> Actor:
    return Actor(user=user)


def sent_body(call: dict[str, Any]) -> dict[str, Any]:
    return json.loads(call["body"], parse_float=Decimal)
