"""API: the transaction list and one transaction with its events.

``GET /api/v1/transactions`` takes the list page's query parameters (the same parser,
``payments.selectors.listing.parse_filters``), newest first, ``limit`` rows (default 50, at most 200) and
a ``next_cursor`` to pass back as ``cursor`` for the next page (``previous_cursor`` goes back).
An invalid filter or a cursor that is not one we issued is a 400 naming the parameter, in the
API's one error format. ``GET /api/v1/transactions/{transaction_id}`` is one transaction (by
SIBS transaction id) and its timeline events. Both are scoped like everything else: the key's
merchant, and its stores when the key is limited to some.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.roles import Capability
from common.money import money_text
from payments import selectors
from payments.models import Transaction, TransactionState
from payments.selectors import listing
from payments.sibs.enums import PaymentMethod, PaymentType

MAX_ID_LENGTH = 255


# --------------------------------------------------------------------------- serializers


class StoreRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "TransactionStore"


@extend_schema_field({"type": "string", "nullable": True, "example": "12.50"})
class MoneyField(serializers.Field):
    """``attribute`` of the object, written with the decimals of its ``currency``."""

    def __init__(self, attribute: str, **kwargs):
        self.amount_attribute = attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj):
        return money_text(getattr(obj, self.amount_attribute), getattr(obj, "currency", None))


class ReferenceSerializer(serializers.Serializer):
    entity = serializers.CharField()
    reference = serializers.CharField()
    amount = serializers.CharField(allow_null=True, help_text="With the currency's decimals: 16.20")
    expires_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(help_text="UNPAID, PAID, EXPIRED or CANCELLED")
    paid_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "MultibancoReference"


class BalancesSerializer(serializers.Serializer):
    authorised = MoneyField("authorised_amount")
    captured = MoneyField("captured_amount")
    refunded = MoneyField("refunded_amount")
    cancelled = MoneyField("cancelled_amount")

    class Meta:
        ref_name = "TransactionBalances"


class TransactionSerializer(serializers.Serializer):
    transaction_id = serializers.CharField(help_text="SIBS transactionID")
    secondary_transaction_id = serializers.CharField(
        allow_null=True, help_text="Another SIBS id for the same payment (a MULTIBANCO payment notification)"
    )
    merchant_transaction_id = serializers.CharField(allow_null=True)
    internal_transaction_id = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=TransactionState.choices, help_text="What it means for the merchant")
    payment_status = serializers.CharField(help_text="SIBS paymentStatus as last applied")
    payment_method = serializers.CharField()
    payment_type = serializers.CharField()
    amount = MoneyField("amount")
    currency = serializers.CharField()
    store = StoreRefSerializer(allow_null=True)
    terminal_id = serializers.IntegerField(allow_null=True, source="terminal_number", help_text="SIBS terminal id")
    mbway_alias = serializers.CharField(source="mbway_alias_masked", help_text="Masked: 351#*****5678")
    reference = serializers.SerializerMethodField()
    original_transaction_id = serializers.SerializerMethodField()
    return_code = serializers.CharField()
    return_message = serializers.CharField()
    balances = serializers.SerializerMethodField()
    transaction_datetime = serializers.DateTimeField(allow_null=True, help_text="SIBS transactionDateTime")
    created_at = serializers.DateTimeField(help_text="First heard of; the list's order and date filters")
    updated_at = serializers.DateTimeField(
        source="changed_at",
        help_text=(
            "Last change to the transaction, whatever made it: a notification, or a refund, capture or "
            "cancellation changing its state and balances. Filter with `updated_since` to sync by it."
        ),
    )

    class Meta:
        ref_name = "Transaction"

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_reference(self, txn: Transaction) -> dict | None:
        if not txn.reference_number:
            return None
        return ReferenceSerializer(
            {
                "entity": txn.reference_entity,
                "reference": txn.reference_number,
                "amount": money_text(txn.reference_amount, txn.currency),
                "expires_at": txn.reference_expiry,
                "status": txn.reference_status,
                "paid_at": txn.reference_paid_at,
            }
        ).data

    def get_original_transaction_id(self, txn: Transaction) -> str | None:
        return txn.original_transaction_ref or None

    @extend_schema_field(BalancesSerializer())
    def get_balances(self, txn: Transaction) -> dict:
        return BalancesSerializer(txn).data


class TransactionPageSerializer(serializers.Serializer):
    results = TransactionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next (older) page")
    previous_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the newer page")

    class Meta:
        ref_name = "TransactionPage"


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="notification, status_inquiry or operation")
    outcome = serializers.CharField(help_text="applied, duplicate, ignored or error")
    out_of_order = serializers.BooleanField()
    occurred_at = serializers.DateTimeField()
    sibs_datetime = serializers.DateTimeField(allow_null=True)
    notification_id = serializers.CharField()
    payment_status = serializers.CharField()
    payment_type = serializers.CharField()
    return_code = serializers.CharField()
    return_message = serializers.CharField()
    amount = MoneyField("amount")
    currency = serializers.CharField()
    related_transaction_id = serializers.SerializerMethodField()
    detail = serializers.CharField()

    class Meta:
        ref_name = "TransactionEvent"

    def get_related_transaction_id(self, event) -> str | None:
        return event.related_transaction.transaction_id if event.related_transaction_id else None


class TransactionDetailSerializer(TransactionSerializer):
    warnings = serializers.ListField(child=serializers.CharField())
    events = serializers.SerializerMethodField()

    class Meta:
        ref_name = "TransactionDetail"

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, txn: Transaction) -> list[dict]:
        return EventSerializer(self.context["events"], many=True).data


# --------------------------------------------------------------------------- parameters


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date-time with its offset (``Z`` accepted); None for anything else. A ``+``
    left unencoded in a query string arrives as a space, and is read as the ``+`` it was."""
    text = (text or "").strip().replace(" ", "+")
    if not text or len(text) > 40:
        return None
    try:
        moment = parse_datetime(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment


def _many(name: str, description: str, enum=None, type_=str) -> OpenApiParameter:
    return OpenApiParameter(name, type_, many=True, explode=True, enum=enum, description=description)


LIST_PARAMETERS = [
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 100},
        description=(
            "Search (exact matches, at most 100 characters): SIBS transaction id, merchant transaction id, "
            "internal id, MULTIBANCO reference (9 digits, or entity + reference: 14 digits), the last 4 "
            "digits of an MB WAY phone, or an amount (`16.20`, `16,20`)."
        ),
    ),
    OpenApiParameter(
        "period",
        str,
        enum=[p.value for p in listing.Period],
        description="Preset range, days in Europe/Lisbon; `custom` (or omitted) uses `from`/`to`.",
    ),
    OpenApiParameter(
        "from", str, description="Start: `YYYY-MM-DD` (midnight in Lisbon) or an ISO 8601 date-time with offset."
    ),
    OpenApiParameter("to", str, description="End, inclusive day: `YYYY-MM-DD`; or an exclusive ISO 8601 date-time."),
    _many("store", "Store id (see `/stores`); repeat for several.", type_=int),
    _many("terminal", "SIBS terminal id; repeat for several.", type_=int),
    _many("method", "Payment method; repeat for several.", enum=PaymentMethod.values),
    _many("type", "Payment type; repeat for several.", enum=PaymentType.values),
    _many("status", "State; repeat for several.", enum=TransactionState.values),
    OpenApiParameter("amount_min", str, description="Smallest amount, e.g. `10.00`."),
    OpenApiParameter("amount_max", str, description="Largest amount."),
    OpenApiParameter("currency", str, description="ISO 4217 code, e.g. `EUR`."),
    OpenApiParameter(
        "tab",
        str,
        enum=[t.value for t in listing.Tab],
        description=(
            "Status group: success (paid, partially refunded, succeeded), pending (pending, awaiting payment), "
            "declined (declined, failed, expired), refunded (refunded, partially refunded), "
            "to_capture (authorised)."
        ),
    ),
    OpenApiParameter(
        "updated_since",
        str,
        description=(
            "Only transactions changed at or after this ISO 8601 date-time with offset "
            "(`2026-12-08T10:00:00+00:00`), refunds and captures of a payment included: compare with "
            "`updated_at`. Still newest first by creation; page through with `cursor`."
        ),
    ),
    OpenApiParameter("cursor", str, description="`next_cursor` or `previous_cursor` of a previous answer."),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": listing.MAX_PAGE_SIZE},
        description=f"Rows per page, 1 to {listing.MAX_PAGE_SIZE} (default 50).",
    ),
]


# Parameters whose values come from a list: an empty one is a client's mistake, not "any".
EMPTY_REFUSED = ("period", "tab", "method", "type", "status", "store", "terminal")


# --------------------------------------------------------------------------- views


class TransactionListApi(APIView):
    @extend_schema(
        operation_id="transactions_list",
        summary="Transactions, newest first, filtered and searched, one page at a time",
        parameters=LIST_PARAMETERS,
        responses={200: TransactionPageSerializer},
    )
    def get(self, request):
        access = api_access(request)
        access.require(Capability.VIEW_TRANSACTIONS)
        params = request.query_params
        filters, errors, _form = listing.parse_filters(params, access=access, choices=False)
        cursor = None
        if params.get("cursor"):
            try:
                cursor = listing.Cursor.decode(params["cursor"])
            except listing.InvalidCursor:
                errors["cursor"] = ["This cursor is not one this API issued (or it was changed)."]
        limit = listing.PAGE_SIZE
        if params.get("limit"):
            raw = params["limit"]
            if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= listing.MAX_PAGE_SIZE):
                errors["limit"] = [f"A whole number from 1 to {listing.MAX_PAGE_SIZE}."]
            else:
                limit = int(raw)
        for name in EMPTY_REFUSED:
            if "" in params.getlist(name):
                errors.setdefault(name, []).append("Must not be empty: leave the parameter out instead.")
        if params.get("updated_since"):
            since = parse_instant(params["updated_since"])
            if since is None:
                errors["updated_since"] = ["An ISO 8601 date-time with its offset, e.g. 2026-12-08T10:00:00+00:00."]
            else:
                filters = dataclasses.replace(filters, changed_since=since)
        if errors:
            raise ValidationError(errors)
        page = listing.transaction_page(access=access, filters=filters, cursor=cursor, size=limit)
        return Response(
            {
                "results": TransactionSerializer(page.rows, many=True).data,
                "next_cursor": page.next_cursor,
                "previous_cursor": page.prev_cursor,
            }
        )


class TransactionDetailApi(APIView):
    @extend_schema(
        operation_id="transactions_retrieve",
        summary="One transaction (by SIBS transaction id) and its timeline events",
        parameters=[OpenApiParameter("transaction_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: TransactionDetailSerializer},
    )
    def get(self, request, transaction_id: str):
        access = api_access(request)
        if not (0 < len(transaction_id) <= MAX_ID_LENGTH and transaction_id.isprintable()):
            raise Http404
        txn = selectors.transaction_get(access=access, transaction_id=transaction_id)
        events = selectors.transaction_timeline(access=access, transaction=txn).select_related("related_transaction")
        return Response(TransactionDetailSerializer(txn, context={"events": list(events)}).data)
