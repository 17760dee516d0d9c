"""``/products/{id}/stock`` and ``/products/{id}/ledger``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.errors import error_body
from qrexpress import selectors
from qrexpress.api.common import ALLOWED_STOCK_FIELDS, _actor, _page, _product, entry_data, product_data
from qrexpress.api.serializers import _STOCK_CHANGE, EntryOutput, _page_of
from qrexpress.models import StockSource
from qrexpress.services import QrExpressError, stock_change


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
