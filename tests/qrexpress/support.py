"""Helpers of the QR Code Express tests: products, SIBS-shaped purchase notifications, and the
sandbox wired as the gateway of the stock API (real HTTP requests handed to the sandbox's views)."""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from payments.services import ledger
from payments.sibs.notification import parse_notification
from qrexpress.services import products as product_services
from qrexpress.services import sibs_stock
from qrexpress.sibs_stock import StockApiClient
from tests.payments.ops_support import CLIENT_ID, TOKEN, SandboxAdapter

# Seed 002, example 9: a STATIC_QRCODE purchase notification.
EXAMPLE_9: dict[str, Any] = {
    "returnStatus": {"statusMsg": "Success", "statusCode": "000"},
    "paymentStatus": "Success",
    "paymentMethod": "STATIC_QRCODE",
    "transactionID": "3W005000159764",
    "transactionDateTime": "2022-11-12T16:17:53.127Z",
    "amount": {"currency": "EUR", "value": 1.6},
    "merchant": {"terminalId": 11111},
    "paymentType": "PURS",
    "financialOperation": {
        "product": {
            "staticQRCodeId": "7ecf9d4e23334f7da6cb",
            "twoStepPurchase": False,
            "aliasName": "351#934885128",
            "merchantContactType": "NA",
            "productName": "Nome info",
            "productQuantity": 1,
            "productAmount": 1.5,
            "expeditionAmount": 0.1,
            "contactClientIndicator": 1,
            "customerSupportContact": "teste@info.com",
        },
        "billingInfo": {
            "billingTIN": "123456789",
            "billingAddressCity": "Lisboa ",
            "billingAddressLine1": "Rua D João ",
            "billingAddressLine2": "8 2drt",
            "billingAddressPostalCode": "4646-846",
            "billingMobilePhone": "+ 351 987654321",
        },
        "expeditionInfo": {
            "expeditionName": "Olga Rodrigues",
            "expeditionAddressCity": "Lisboa ",
            "expeditionAddressLine1": "Rua D João ",
            "expeditionAddressLine2": "8 2drt",
            "expeditionAddressPostalCode": "4646-846",
            "expeditionMobilePhone": "+ 351 987654321",
        },
    },
    "notificationID": "5544b042-8b9a-451e-8421-53fcfe9538f8",
}


def purchase_notification(
    *,
    qr_code_id: str = "7ecf9d4e23334f7da6cb",
    transaction_id: str | None = None,
    quantity: int = 1,
    status: str = "Success",
    terminal: int = 11111,
) -> dict[str, Any]:
    payload = copy.deepcopy(EXAMPLE_9)
    payload["transactionID"] = transaction_id or "3W" + uuid.uuid4().hex[:12]
    payload["notificationID"] = str(uuid.uuid4())
    payload["paymentStatus"] = status
    payload["merchant"]["terminalId"] = terminal
    product = payload["financialOperation"]["product"]
    product["staticQRCodeId"] = qr_code_id
    product["productQuantity"] = quantity
    payload["amount"]["value"] = float(Decimal("1.5") * quantity + Decimal("0.1"))
    return payload


def apply_notification(merchant, payload: dict[str, Any]):
    """What the inbound processing does with a stored notification, in its own transaction."""
    with transaction.atomic():
        return ledger.notification_apply(
            merchant=merchant,
            payload=parse_notification(json.dumps(payload)),
            stored_payload=ledger.masked_payload(payload),
            occurred_at=timezone.now(),
            notification_id=payload["notificationID"],
        )


def make_product(world, *, units: int = 10, qr_code_id: str = "7ecf9d4e23334f7da6cb", terminal=None, **fields):
    data = product_services.ProductInput(
        terminal=terminal or world.t_lisboa,
        qr_code_id=qr_code_id,
        product_name=fields.pop("product_name", "Caneca Loja"),
        description=fields.pop("description", "Caneca branca 33 cl"),
        price=fields.pop("price", Decimal("1.50")),
        expedition_amount=fields.pop("expedition_amount", Decimal("0.10")),
        initial_units=units,
        **fields,
    )
    return product_services.product_create(
        access=Access.for_membership(world.m_quinn), actor=Actor(user=world.quinn), data=data
    )


class _StockAdapter(SandboxAdapter):
    """Django's test client drops Content-Type from a request without a body; a real server
    keeps it, and SIBS requires it on every stock call (GET included)."""

    def send(self, request, *args, **kwargs):
        if not request.body and request.headers.get("Content-Type"):
            original = self.client.generic
            content_type = request.headers["Content-Type"]

            def generic(method, path, data="", content_type_arg=None, **extra):
                return original(method, path, data=data, CONTENT_TYPE=content_type, **extra)

            self.client.generic = lambda method, path, data="", content_type=None, **extra: generic(
                method, path, data, **extra
            )
            try:
                return super().send(request, *args, **kwargs)
            finally:
                self.client.generic = original
        return super().send(request, *args, **kwargs)


class StockGateway:
    """The sandbox as SIBS for the stock API: a configured client, a credential, an adapter."""

    def __init__(self, world, monkeypatch, client=None):
        from django.test import Client

        from payments.models import GatewayCredential
        from sandbox.services import sandbox_configure

        self.sandbox = sandbox_configure(
            client_id=CLIENT_ID,
            bearer_token=TOKEN,
            terminal_ids=[11111, 22222],
            notification_url="",
            notification_secret="",
            merchant_name="Loja",
            notification_style="plain",
            customer_delay_seconds=0,
        )
        self.credential = GatewayCredential.objects.create(
            merchant=world.loja, terminal_number=11111, client_id=CLIENT_ID, bearer_token=TOKEN, token_hint=TOKEN[-4:]
        )
        self.adapter = _StockAdapter(client or Client())

        def factory(credential):
            stock_client = StockApiClient(
                api_root=credential.api_root, client_id=credential.client_id, bearer_token=credential.bearer_token
            )
            stock_client.session.mount("http://testserver/", self.adapter)
            return stock_client

        factory.mount = lambda session: session.mount("http://testserver/", self.adapter)
        monkeypatch.setattr(sibs_stock, "make_client", factory)

    def stock_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.adapter.calls if "/qrcode-express/" in c["path"]]
