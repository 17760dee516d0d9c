"""API of QR Code Express, under ``/api/v1/qr-express/``.

* ``GET products`` (``q``, ``status``, ``limit`` ≤ 200, ``offset``) and ``GET products/{id}``;
* ``POST products/{id}/stock`` ``{"operation": "add"|"remove"|"define", "units": 5, "reason": "…"}``
  with an ``Idempotency-Key`` header (required): the same key again returns the same ledger entry
  without changing anything (``Idempotent-Replayed: true``); the same key with another body is a
  422. ``409 not_enough_stock`` when a removal exceeds the units; ``502 sibs_…`` when SIBS refused
  or did not answer (nothing changed here);
* ``GET products/{id}/ledger`` and ``GET purchases`` (``product``, ``fulfilment``, ``oversold``).

Scoped like everything else: the key's merchant, and its stores when limited. Buyers' personal
data only for roles that manage QR Code Express.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey, Terminal
from qrexpress import selectors
from qrexpress.models import (
    DESCRIPTION_MAX,
    PRODUCT_NAME_MAX,
    QR_CODE_ID_MAX,
    FulfilmentState,
    ProductStatus,
    Purchase,
    QrProduct,
    StockEntry,
    StockSource,
)
from qrexpress.services import QrExpressError, fulfilment_set, stock_change
from qrexpress.services.products import EDITABLE, ProductInput, ProductReplayed, product_create, product_update

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


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    qr_code_id = serializers.CharField()
    terminal_id = serializers.IntegerField()
    store = serializers.IntegerField()
    product_name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.CharField(help_text='Two decimals, e.g. "12.50".')
    expedition_amount = serializers.CharField()
    currency = serializers.CharField()
    two_step_purchase = serializers.BooleanField()
    status = serializers.ChoiceField(choices=ProductStatus.choices)
    stock_managed = serializers.BooleanField()
    stock_units = serializers.IntegerField(allow_null=True)
    low_stock_threshold = serializers.IntegerField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    sibs_units = serializers.IntegerField(allow_null=True, help_text="SIBS's units at the last stock call or sync.")
    stock_drift = serializers.IntegerField(allow_null=True, help_text="SIBS's units minus ours; 0 when they agree.")
    sibs_checked_at = serializers.DateTimeField(allow_null=True)
    sold_total = serializers.IntegerField(allow_null=True)
    sold_today = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "QrProduct"


class EntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField()
    source = serializers.ChoiceField(choices=StockSource.choices)
    delta = serializers.IntegerField()
    units_after = serializers.IntegerField()
    reason = serializers.CharField()
    actor = serializers.CharField()
    purchase = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "QrStockEntry"


class PurchaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(allow_null=True)
    qr_code_id = serializers.CharField()
    transaction_id = serializers.CharField()
    purchased_at = serializers.DateTimeField()
    quantity = serializers.IntegerField()
    oversold_units = serializers.IntegerField(help_text="Units sold without stock: to ship anyway or refund.")
    unit_amount = serializers.CharField(allow_null=True)
    expedition_amount = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    fulfilment = serializers.ChoiceField(choices=FulfilmentState.choices)
    billing_tin = serializers.CharField(required=False, help_text="Only for roles that fulfil orders.")
    billing_address = serializers.DictField(required=False)
    shipping_name = serializers.CharField(required=False)
    shipping_address = serializers.DictField(required=False)
    phone = serializers.CharField(required=False)
    email = serializers.CharField(required=False)

    class Meta:
        ref_name = "QrPurchase"


def _page_of(name: str, item) -> serializers.Serializer:
    return inline_serializer(
        name, {"results": item(many=True), "limit": serializers.IntegerField(), "offset": serializers.IntegerField()}
    )


_STOCK_CHANGE = inline_serializer("QrStockChange", {"product": ProductOutput(), "entry": EntryOutput(allow_null=True)})


class _ProductFields(serializers.Serializer):
    """Types only: the rules (lengths, expiry in the future, amounts) are the service's."""

    product_name = serializers.CharField(max_length=PRODUCT_NAME_MAX)
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    expedition_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    two_step_purchase = serializers.BooleanField(required=False, default=False)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    collect_tax_number = serializers.BooleanField(required=False, default=False)
    collect_billing_address = serializers.BooleanField(required=False, default=False)
    collect_shipping_address = serializers.BooleanField(required=False, default=True)
    collect_phone = serializers.BooleanField(required=False, default=True)
    collect_email = serializers.BooleanField(required=False, default=False)
    support_contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    terms_url = serializers.URLField(max_length=300, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False, default=ProductStatus.ACTIVE)
    qr_content = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    low_stock_threshold = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    auto_suspend = serializers.BooleanField(required=False, default=False)
    auto_reactivate = serializers.BooleanField(required=False, default=False)


class ProductCreateInput(_ProductFields):
    terminal_id = serializers.IntegerField(min_value=1, help_text="The SIBS terminal id.")
    qr_code_id = serializers.CharField(
        max_length=QR_CODE_ID_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty: the sandbox makes one.",
    )
    stock_managed = serializers.BooleanField(required=False, default=True)
    initial_units = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)


class ProductUpdateInput(_ProductFields):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


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


class ProductListApi(APIView):
    @extend_schema(
        summary="QR Code Express products",
        operation_id="qr_express_products_list",
        parameters=[
            OpenApiParameter("q", str, description="Name, description or QR Code ID contains"),
            OpenApiParameter("status", str, enum=ProductStatus.values),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=_page_of("QrProductPage", ProductOutput),
    )
    def get(self, request):
        access = api_access(request)
        status = request.query_params.get("status", "")
        if status and status not in ProductStatus.values:
            raise ValidationError({"status": ["Must be ACT or SUS."]})
        qs = selectors.product_list(access=access, search=request.query_params.get("q", "")[:100], status=status)
        rows, limit, offset = _page(request, qs)
        return Response({"results": [product_data(p) for p in rows], "limit": limit, "offset": offset})

    @extend_schema(
        summary="Create a QR Code Express product",
        request=ProductCreateInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="Unique per product."
            )
        ],
        responses={201: ProductOutput, 200: ProductOutput},
    )
    def post(self, request):
        access = api_access(request)
        refused = _refuse_unknown(request.data, ProductCreateInput().fields)
        if refused is not None:
            return refused
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 255 or not key.isprintable():
            return Response(
                error_body(
                    type_="validation_error",
                    code="idempotency_key_missing",
                    message="Send an Idempotency-Key header (1 to 255 printable characters, e.g. a UUID) so that a "
                    "repeated request cannot create two products.",
                ),
                status=400,
            )
        given = ProductCreateInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        terminal = access.scope(Terminal.objects.all()).filter(terminal_id=data["terminal_id"]).first()
        if terminal is None:
            raise ValidationError({"terminal_id": ["No such terminal in this merchant."]})
        try:
            product = product_create(
                access=access,
                actor=_actor(request),
                data=ProductInput(
                    terminal=terminal,
                    qr_code_id=data["qr_code_id"],
                    stock_managed=data["stock_managed"],
                    initial_units=data["initial_units"],
                    **{name: data[name] for name in EDITABLE},
                ),
                idempotency_key=key,
            )
        except ProductReplayed as replay:
            response = Response(product_data(replay.product), status=200)
            response["Idempotent-Replayed"] = "true"
            return response
        except QrExpressError as error:
            return _service_error(error)
        return Response(product_data(product), status=201)


class ProductDetailApi(APIView):
    @extend_schema(summary="One QR Code Express product", responses=ProductOutput)
    def get(self, request, pk: int):
        _access, product = _product(request, pk)
        return Response(product_data(product))

    @extend_schema(
        summary="Change a product (not its stock: use the stock endpoint)",
        request=ProductUpdateInput,
        responses=ProductOutput,
    )
    def patch(self, request, pk: int):
        access, product = _product(request, pk)
        refused = _refuse_unknown(request.data, ProductUpdateInput().fields)
        if refused is not None:
            return refused
        given = ProductUpdateInput(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        changes = {name: value for name, value in given.validated_data.items() if name in EDITABLE}
        changes = {name: value for name, value in changes.items() if name in request.data}
        updated = product_update(access=access, actor=_actor(request), product=product, changes=changes)
        return Response(product_data(QrProduct.objects.select_related("terminal").get(pk=updated.pk)))


class StockApi(APIView):
    @extend_schema(
        summary="Add, remove or define a product's stock units",
        request=inline_serializer(
            "QrStockRequest",
            {
                "operation": serializers.ChoiceField(choices=["add", "remove", "define"]),
                "units": serializers.IntegerField(min_value=0),
                "reason": serializers.CharField(required=False, max_length=200),
            },
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="Unique per change."
            )
        ],
        responses={201: _STOCK_CHANGE, 200: _STOCK_CHANGE},
    )
    def post(self, request, pk: int):
        access, product = _product(request, pk)
        if not isinstance(request.data, dict):
            return Response(
                error_body(type_="validation_error", code="invalid_body", message="The body must be a JSON object."),
                status=400,
            )
        unknown = sorted(str(k)[:50] for k in set(request.data) - ALLOWED_STOCK_FIELDS)
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
        key = request.headers.get("Idempotency-Key", "")
        if not key.strip():
            return Response(
                error_body(
                    type_="validation_error",
                    code="idempotency_key_missing",
                    message="Send an Idempotency-Key header (a unique value per change, e.g. a UUID) so that a "
                    "repeated request cannot change the stock twice.",
                ),
                status=400,
            )
        reason = request.data.get("reason", "")
        if not isinstance(reason, str):
            return Response(
                error_body(
                    type_="validation_error",
                    code="invalid_reason",
                    message="The reason must be text.",
                    fields={"reason": ["Must be text."]},
                ),
                status=400,
            )
        try:
            result = stock_change(
                access=access,
                actor=_actor(request),
                product=product,
                operation=request.data.get("operation"),
                units=request.data.get("units"),
                reason=reason,
                source=StockSource.API,
                idempotency_key=key,
            )
        except QrExpressError as error:
            type_ = "validation_error" if error.status == 400 else "stock_refused"
            fields = {error.field: [error.message]} if error.field else {}
            return Response(
                error_body(type_=type_, code=error.code, message=error.message, fields=fields), status=error.status
            )
        body = {
            "product": product_data(result.product),
            "entry": entry_data(result.entry) if result.entry else None,
        }
        response = Response(body, status=200 if result.replayed else 201)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class LedgerApi(APIView):
    @extend_schema(
        summary="A product's stock ledger, newest first",
        operation_id="qr_express_ledger_list",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=_page_of("QrStockEntryPage", EntryOutput),
    )
    def get(self, request, pk: int):
        access, product = _product(request, pk)
        rows, limit, offset = _page(request, selectors.ledger_list(access=access, product=product))
        return Response({"results": [entry_data(e) for e in rows], "limit": limit, "offset": offset})


class PurchaseListApi(APIView):
    @extend_schema(
        summary="QR Code Express purchases, newest first",
        operation_id="qr_express_purchases_list",
        parameters=[
            OpenApiParameter("product", int),
            OpenApiParameter("fulfilment", str, enum=["new", "shipped", "delivered", "refunded"]),
            OpenApiParameter("oversold", bool),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=_page_of("QrPurchasePage", PurchaseOutput),
    )
    def get(self, request):
        access = api_access(request)
        product = None
        raw_product = request.query_params.get("product", "")
        if raw_product:
            if not raw_product.isdigit() or len(raw_product) > 12:
                raise ValidationError({"product": ["Must be a product id."]})
            _access, product = _product(request, int(raw_product))
        qs = selectors.purchase_list(
            access=access,
            product=product,
            fulfilment=request.query_params.get("fulfilment", ""),
            oversold=request.query_params.get("oversold", "") in ("1", "true"),
        )
        rows, limit, offset = _page(request, qs)
        personal = selectors.can_see_personal_data(access)
        return Response(
            {"results": [purchase_data(p, personal=personal) for p in rows], "limit": limit, "offset": offset}
        )


class FulfilmentApi(APIView):
    @extend_schema(
        summary="Set a purchase's fulfilment state (setting the current state again changes nothing)",
        request=inline_serializer(
            "QrFulfilmentRequest",
            {
                "state": serializers.ChoiceField(choices=FulfilmentState.choices),
                "note": serializers.CharField(required=False, max_length=300),
                "restock": serializers.BooleanField(required=False),
            },
        ),
        responses=PurchaseOutput,
    )
    def post(self, request, pk: int):
        access = api_access(request)
        try:
            purchase = selectors.purchase_get(access=access, pk=pk)
        except Http404:
            raise NotFound("No such purchase.") from None
        refused = _refuse_unknown(request.data, {"state", "note", "restock"})
        if refused is not None:
            return refused
        note = request.data.get("note", "")
        restock = request.data.get("restock", False)
        if not isinstance(note, str) or not isinstance(restock, bool):
            raise ValidationError(
                {"note": ["Must be text."]} if not isinstance(note, str) else {"restock": ["true or false."]}
            )
        try:
            updated = fulfilment_set(
                access=access,
                actor=_actor(request),
                purchase=purchase,
                state=request.data.get("state"),
                note=note,
                restock=restock,
            )
        except QrExpressError as error:
            return _service_error(error)
        return Response(purchase_data(updated, personal=selectors.can_see_personal_data(access)))
