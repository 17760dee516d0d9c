"""``/products`` and ``/products/{id}``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.models import Terminal
from qrexpress import selectors
from qrexpress.api.common import _actor, _page, _product, _refuse_unknown, _service_error, product_data
from qrexpress.api.serializers import ProductCreateInput, ProductOutput, ProductUpdateInput, _page_of
from qrexpress.models import ProductStatus, QrProduct
from qrexpress.services import QrExpressError
from qrexpress.services.products import EDITABLE, ProductInput, ProductReplayed, product_create, product_update


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
