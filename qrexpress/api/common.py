"""Shared pieces of the QR Code Express API: how objects are written, pages, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey
from qrexpress import selectors
from qrexpress.models import Purchase, QrProduct, StockEntry
from qrexpress.services import QrExpressError

ALLOWED_STOCK_FIELDS = {"operation", "units", "reason"}
MAX_LIMIT = 200


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01')):f}"


def _page(request, qs) -> tuple[list, int, int]:
    def number(name: str, default: int, high: int) -> int:
        raw = request.query_params.get(name, "")
        if raw == "":
            return default
        if not raw.isdigit() or not 0 <= int(raw) <= high:
            raise ValidationError({name: [f"Must be a whole number from 0 to {high}."]})
        return int(raw)

    limit = number("limit", 50, MAX_LIMIT) or 50
    offset = number("offset", 0, 10**9)
    return list(qs[offset : offset + limit]), limit, offset


def product_data(product: QrProduct) -> dict[str, Any]:
    return {
        "id": product.pk,
        "qr_code_id": product.qr_code_id,
        "terminal_id": product.terminal.terminal_id,
        "store": product.store_id,
        "product_name": product.product_name,
        "description": product.description,
        "price": _money(product.price),
        "expedition_amount": _money(product.expedition_amount),
        "currency": product.currency,
        "two_step_purchase": product.two_step_purchase,
        "status": product.status,
        "stock_managed": product.stock_managed,
        "stock_units": product.stock_units if product.stock_managed else None,
        "low_stock_threshold": product.low_stock_threshold,
        "expires_on": product.expires_on.isoformat() if product.expires_on else None,
        "sibs_units": product.sibs_units,
        "stock_drift": product.stock_drift,
        "sibs_checked_at": product.sibs_checked_at.isoformat() if product.sibs_checked_at else None,
        "sold_total": getattr(product, "sold_total", None),
        "sold_today": getattr(product, "sold_today", None),
    }


def entry_data(entry: StockEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "product": entry.product_id,
        "source": entry.source,
        "delta": entry.delta,
        "units_after": entry.units_after,
        "reason": entry.reason,
        "actor": entry.actor_label,
        "purchase": entry.purchase_id,
        "created_at": entry.created_at.isoformat(),
    }


def purchase_data(purchase: Purchase, *, personal: bool) -> dict[str, Any]:
    data = {
        "id": purchase.pk,
        "product": purchase.product_id,
        "qr_code_id": purchase.qr_code_id,
        "transaction_id": purchase.transaction.transaction_id,
        "purchased_at": purchase.purchased_at.isoformat(),
        "quantity": purchase.quantity,
        "oversold_units": purchase.oversold_units,
        "unit_amount": _money(purchase.unit_amount),
        "expedition_amount": _money(purchase.expedition_amount),
        "amount": _money(purchase.amount),
        "currency": purchase.currency,
        "fulfilment": purchase.fulfilment,
    }
    if personal:
        data.update(
            billing_tin=purchase.billing_tin,
            billing_address=purchase.billing_address,
            shipping_name=purchase.shipping_name,
            shipping_address=purchase.shipping_address,
            phone=purchase.phone,
            email=purchase.email,
        )
    return data


def _product(request, pk: int) -> tuple[Any, QrProduct]:
    access = api_access(request)
    try:
        return access, selectors.product_get(access=access, pk=pk)
    except Http404:
        raise NotFound("No such product.") from None


def _actor(request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return Actor(
            api_key=request.auth,
            ip_address=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
    return actor_from_request(request._request)


def _refuse_unknown(data, allowed) -> Response | None:
    if not isinstance(data, dict):
        return Response(
            error_body(type_="validation_error", code="invalid_body", message="The body must be a JSON object."),
            status=400,
        )
    unknown = sorted(str(k)[:50] for k in set(data) - set(allowed))
    if unknown:
        return Response(
            error_body(
                type_="validation_error",
                code="unknown_field",
                message="Unknown fields: " + ", ".join(unknown[:10]),
                fields={u: ["Unknown field."] for u in unknown[:10]},
            ),
            status=400,
        )
    return None


def _service_error(error: QrExpressError) -> Response:
    type_ = "validation_error" if error.status == 400 else "refused"
    fields = {error.field: [error.message]} if error.field else {}
    return Response(error_body(type_=type_, code=error.code, message=error.message, fields=fields), status=error.status)
