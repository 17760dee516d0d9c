"""API: ask a customer to pay, and follow the request.

``POST /api/v1/payment-requests`` with an ``Idempotency-Key`` header (required) and a JSON body
``{"method": "MBWAY", "amount": "25.00", "order_reference": "ENC-1", "phone": "351#912345678"}``
or ``{"method": "REFERENCE", "amount": "30.00", "order_reference": "ENC-2", "entity": "24000",
"valid_until": "2026-12-31T23:59:00Z", "customer_email": "…", "language": "pt"}`` (``terminal``,
the SIBS terminal id, is required when the key's stores have more than one). Repeating a request
with the same key returns the same request without a second checkout (``Idempotent-Replayed:
true``); the same key with another body is refused (422).

Answers: ``201`` once settled (``state`` ``sent``: SIBS has the payment, follow ``status``; or
``failed``: refused, nothing to pay, ``message`` says why), ``202`` while SIBS has to confirm
(``unknown``). ``GET /api/v1/payment-requests/{id}`` follows it (``status``: ``waiting_customer``,
``awaiting_payment``, ``paid``, ``declined``, ``expired``, ``cancelled``, …).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey
from common.money import money_text
from payments.requests import selectors, services
from payments.requests.models import PaymentRequest, RequestLanguage, RequestMethod, RequestState

ALLOWED_FIELDS = {
    "terminal",
    "method",
    "amount",
    "order_reference",
    "description",
    "phone",
    "entity",
    "valid_until",
    "customer_email",
    "language",
}


class PaymentRequestInput(serializers.Serializer):
    terminal = serializers.IntegerField(
        required=False, help_text="SIBS terminal id; optional when the caller may use only one terminal."
    )
    method = serializers.ChoiceField(choices=RequestMethod.choices)
    amount = serializers.CharField(help_text='In euros, more than zero, e.g. "25.00" or 25.5.')
    order_reference = serializers.CharField(max_length=services.MAX_ORDER_REFERENCE)
    description = serializers.CharField(required=False, allow_blank=True, max_length=services.MAX_DESCRIPTION)
    phone = serializers.CharField(required=False, help_text='MB WAY: "351#912345678", "+351912345678" or "912345678".')
    entity = serializers.CharField(required=False, help_text="MULTIBANCO: the 5-digit payment entity.")
    valid_until = serializers.DateTimeField(
        required=False, help_text="MULTIBANCO: until when the reference can be paid (1 hour to 90 days ahead)."
    )
    customer_email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=RequestLanguage.choices, required=False, default="pt")

    class Meta:
        ref_name = "PaymentRequestInput"


class ReferenceOutput(serializers.Serializer):
    entity = serializers.CharField()
    reference = serializers.CharField()
    amount = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class PaymentRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=RequestState.choices)
    status = serializers.CharField(help_text="What it means now: waiting_customer, awaiting_payment, paid, …")
    status_label = serializers.CharField()
    method = serializers.ChoiceField(choices=RequestMethod.choices)
    amount = serializers.CharField()
    currency = serializers.CharField()
    order_reference = serializers.CharField()
    description = serializers.CharField()
    terminal = serializers.IntegerField()
    phone = serializers.CharField(help_text="Masked.")
    customer_email = serializers.CharField()
    language = serializers.CharField()
    transaction_id = serializers.CharField(allow_null=True, help_text="SIBS transactionID: the transactions API.")
    merchant_transaction_id = serializers.CharField()
    reference = ReferenceOutput(allow_null=True)
    message = serializers.CharField()
    return_code = serializers.CharField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "PaymentRequest"


def represent(pr: PaymentRequest) -> dict[str, Any]:
    status = selectors.request_status(pr)
    reference = None
    if pr.reference_number:
        reference = {
            "entity": pr.reference_entity,
            "reference": pr.reference_number,
            "amount": money_text(pr.amount, pr.currency),
            "expires_at": pr.reference_expiry.isoformat() if pr.reference_expiry else None,
        }
    return {
        "id": pr.pk,
        "state": pr.state,
        "status": status.code,
        "status_label": status.label,
        "method": pr.method,
        "amount": money_text(pr.amount, pr.currency),
        "currency": pr.currency,
        "order_reference": pr.order_reference,
        "description": pr.description,
        "terminal": pr.terminal_number,
        "phone": pr.phone_masked,
        "customer_email": pr.customer_email,
        "language": pr.language,
        "transaction_id": pr.sibs_transaction_id or None if pr.state == RequestState.SENT else None,
        "merchant_transaction_id": pr.gateway_reference,
        "reference": reference,
        "message": status.detail or pr.outcome_detail,
        "return_code": pr.return_code,
        "requested_by": pr.requested_by_label,
        "created_at": pr.created_at.isoformat(),
        "settled_at": pr.settled_at.isoformat() if pr.settled_at else None,
    }


def _actor(request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return Actor(
            api_key=request.auth,
            ip_address=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
    return actor_from_request(request._request)


def _invalid(code: str, message: str, field: str | None = None, status: int = 400) -> Response:
    fields = {field: [message]} if field else {}
    return Response(error_body(type_="validation_error", code=code, message=message, fields=fields), status=status)


def _refused(error: services.PaymentRequestError) -> Response:
    type_ = "validation_error" if error.field or error.status == 400 else "request_refused"
    fields = {error.field: [error.message]} if error.field else {}
    return Response(error_body(type_=type_, code=error.code, message=error.message, fields=fields), status=error.status)


_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="Unique per request (e.g. a UUID)."
)


class PaymentRequestsApi(APIView):
    @extend_schema(
        request=PaymentRequestInput,
        responses={201: PaymentRequestOutput, 202: PaymentRequestOutput},
        parameters=[_KEY_HEADER],
        summary="Ask a customer to pay by MB WAY or with a MULTIBANCO reference",
    )
    def post(self, request):
        access = api_access(request)
        data = request.data
        if not isinstance(data, dict):
            return _invalid("invalid_body", "The body must be a JSON object.")
        unknown = sorted(str(k)[:50] for k in set(data) - ALLOWED_FIELDS)
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
            return _invalid(
                "idempotency_key_missing",
                "Send an Idempotency-Key header (a unique value per request, e.g. a UUID) so that a repeated "
                "request cannot ask the customer twice.",
            )
        for name in ("method", "order_reference", "description", "phone", "entity", "customer_email", "language"):
            if name in data and data[name] is not None and not isinstance(data[name], str):
                return _invalid(f"invalid_{name}", f"{name} must be a string.", name)
        terminals = list(selectors.request_terminals(access=access))
        terminal_id = data.get("terminal")
        if terminal_id is None:
            if len(terminals) != 1:
                return _invalid("terminal_required", "Say which terminal (its SIBS terminal id).", "terminal")
            terminal = terminals[0]
        else:
            if (
                isinstance(terminal_id, bool)
                or not isinstance(terminal_id, int | str)
                or not str(terminal_id).isdigit()
            ):
                return _invalid("invalid_terminal", "terminal must be a SIBS terminal id (a number).", "terminal")
            terminal = next((t for t in terminals if str(t.terminal_id) == str(terminal_id).lstrip("0")), None)
            if terminal is None:
                return _invalid("unknown_terminal", "No terminal of yours has that id.", "terminal", status=404)
        valid_until: datetime | None = None
        raw_until = data.get("valid_until")
        if raw_until not in (None, ""):
            valid_until = parse_datetime(raw_until) if isinstance(raw_until, str) and len(raw_until) <= 40 else None
            if valid_until is None:
                return _invalid(
                    "invalid_validity", "valid_until must be an ISO 8601 date-time with its zone.", "valid_until"
                )
        amount = data.get("amount")
        if isinstance(amount, bool) or (amount is not None and not isinstance(amount, str | int | float)):
            return _invalid("invalid_amount", 'amount must be a number or a string like "25.00".', "amount")
        try:
            result = services.payment_request_create(
                access=access,
                actor=_actor(request),
                terminal=terminal,
                method=data.get("method") or "",
                amount=amount,
                order_reference=data.get("order_reference") or "",
                description=data.get("description") or "",
                phone=data.get("phone") or "",
                reference_entity=data.get("entity") or "",
                valid_until=valid_until,
                customer_email=data.get("customer_email") or "",
                language=data.get("language") or "pt",
                idempotency_key=key,
            )
        except services.PaymentRequestError as error:
            return _refused(error)
        pr = PaymentRequest.objects.select_related("transaction").get(pk=result.request.pk)
        status = 202 if pr.state in (RequestState.UNKNOWN, RequestState.IN_FLIGHT, RequestState.RESERVED) else 201
        response = Response(represent(pr), status=status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class PaymentRequestApi(APIView):
    @extend_schema(responses=PaymentRequestOutput, summary="A payment request and what became of it")
    def get(self, request, pk: int):
        access = api_access(request)
        pr = selectors.payment_request_list(access=access).filter(pk=pk).first()
        if pr is None:
            raise NotFound("No such payment request.")
        return Response(represent(pr))
