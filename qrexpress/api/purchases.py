"""``/purchases`` and ``/purchases/{id}/fulfilment``."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from qrexpress import selectors
from qrexpress.api.common import _actor, _page, _product, _refuse_unknown, _service_error, purchase_data
from qrexpress.api.serializers import PurchaseOutput, _page_of
from qrexpress.models import FulfilmentState
from qrexpress.services import QrExpressError, fulfilment_set


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
