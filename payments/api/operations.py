"""API: refund, capture and cancel a transaction, with the same rules as the page.

``POST /api/v1/transactions/{id}/refunds|captures|cancellations`` with a JSON body
``{"amount": "12.50", "reason": "customer_request", "comment": "…"}`` (``amount`` optional: all
that is available) and an ``Idempotency-Key`` header (required). Repeating a request with the same
key returns the same operation without a second call to SIBS (``Idempotent-Replayed: true``);
the same key with another body is refused (422). ``GET`` on the same path lists the requests.

A refund above the merchant's four-eyes threshold waits for ``POST /api/v1/operations/{id}/approve``
(a signed-in person other than the requester, with their ``password``) or ``.../reject``
(anyone who may operate, the requester or an API key included); ``GET /api/v1/operations/{id}``
follows one request until it is settled.

Answers: ``201`` when SIBS settled it (``state`` ``succeeded``, ``declined`` or ``failed``),
``202`` while it waits (``pending_approval`` for a second person, ``unknown`` until the status
inquiry or the notification settles it).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api import schema
from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey
from backoffice.roles import Capability
from common.money import money_text
from payments import selectors
from payments.models import OperationKind, OperationReason, OperationState, PaymentOperation, Transaction
from payments.services import operations as ops

MAX_ID_LENGTH = 255
ALLOWED_FIELDS = {"amount", "reason", "comment"}
SETTLED = {OperationState.SUCCEEDED, OperationState.DECLINED, OperationState.FAILED, OperationState.REJECTED}


class OperationInput(serializers.Serializer):
    amount = serializers.CharField(
        required=False,
        help_text='Amount in the payment\'s currency, e.g. "12.50" or 12.5. Omitted: all that is available.',
        validators=[RegexValidator(schema.POSITIVE_AMOUNT)],
    )
    reason = serializers.ChoiceField(choices=OperationReason.choices)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=ops.MAX_COMMENT_LENGTH,
        validators=[RegexValidator(schema.STORABLE_TEXT)],
    )

    class Meta:
        ref_name = "OperationRequest"


class OperationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    transaction_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=OperationKind.choices)
    state = serializers.ChoiceField(choices=OperationState.choices)
    amount = serializers.CharField()
    currency = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()
    requested_by = serializers.CharField()
    approved_by = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    return_code = serializers.CharField()
    operation_transaction_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)
    balances = serializers.DictField()

    class Meta:
        ref_name = "Operation"


def represent(op: PaymentOperation, original: Transaction | None = None) -> dict[str, Any]:
    original = original or op.original
    return {
        "id": op.pk,
        "transaction_id": original.transaction_id,
        "kind": op.kind,
        "state": op.state,
        "amount": money_text(op.amount, op.currency),
        "currency": op.currency,
        "reason": op.reason,
        "comment": op.comment,
        "requested_by": op.requested_by_label,
        "approved_by": op.approved_by.email if op.approved_by_id else None,
        "message": op.outcome_detail,
        "return_code": op.return_code,
        "operation_transaction_id": op.result.transaction_id if op.result_id else None,
        "created_at": op.created_at.isoformat(),
        "settled_at": op.settled_at.isoformat() if op.settled_at else None,
        "balances": balances(original),
    }


def balances(txn: Transaction) -> dict[str, str]:
    txn.refresh_from_db(fields=["authorised_amount", "captured_amount", "refunded_amount", "cancelled_amount", "state"])
    return {
        "state": txn.state,
        "authorised": money_text(txn.authorised_amount, txn.currency),
        "captured": money_text(txn.captured_amount, txn.currency),
        "refunded": money_text(txn.refunded_amount, txn.currency),
        "cancelled": money_text(txn.cancelled_amount, txn.currency),
        "refundable": money_text(txn.refundable_amount, txn.currency),
        "capturable": money_text(txn.capturable_amount, txn.currency),
    }


def _actor(request) -> Actor:
    """The key, or the signed-in person, behind an API call."""
    if isinstance(request.auth, ApiKey):
        return Actor(
            api_key=request.auth,
            ip_address=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
    return actor_from_request(request._request)


def _status_for(op: PaymentOperation) -> int:
    return 201 if op.state in SETTLED else 202


def _refused(error: ops.OperationError) -> Response:
    type_ = "validation_error" if error.field or error.status == 400 else "operation_refused"
    fields = {error.field: [error.message]} if error.field else {}
    return Response(error_body(type_=type_, code=error.code, message=error.message, fields=fields), status=error.status)


class _OperationApi(APIView):
    kind: str = ""

    def _transaction(self, request, transaction_id: str) -> Transaction:
        if not 0 < len(transaction_id) <= MAX_ID_LENGTH or not transaction_id.isprintable():
            raise NotFound("No such transaction.")
        return selectors.transaction_get(access=api_access(request), transaction_id=transaction_id)

    def get(self, request, transaction_id: str):
        txn = self._transaction(request, transaction_id)
        rows = (
            PaymentOperation.objects.filter(merchant_id=txn.merchant_id, original=txn, kind=self.kind)
            .select_related("approved_by", "result")
            .order_by("-created_at", "-pk")[:200]
        )
        return Response([represent(op, txn) for op in rows])

    def post(self, request, transaction_id: str):
        access = api_access(request)
        txn = self._transaction(request, transaction_id)
        if not isinstance(request.data, dict):
            return Response(
                error_body(type_="validation_error", code="invalid_body", message="The body must be a JSON object."),
                status=400,
            )
        unknown = sorted(set(request.data) - ALLOWED_FIELDS)
        if unknown:
            return Response(
                error_body(
                    type_="validation_error",
                    code="unknown_field",
                    message="Unknown fields: " + ", ".join(str(u)[:50] for u in unknown[:10]),
                    fields={str(u)[:50]: ["Unknown field."] for u in unknown[:10]},
                ),
                status=400,
            )
        key = request.headers.get("Idempotency-Key", "")
        if not key.strip():
            return Response(
                error_body(
                    type_="validation_error",
                    code="idempotency_key_missing",
                    message="Send an Idempotency-Key header (a unique value per operation, e.g. a UUID) so that a "
                    "repeated request cannot move money twice.",
                ),
                status=400,
            )
        try:
            amount = ops.parse_amount(request.data.get("amount"), txn.currency or "EUR")
        except ops.OperationError as error:
            return _refused(error)
        reason = request.data.get("reason")
        comment = request.data.get("comment", "")
        if not isinstance(reason, str) or reason not in OperationReason.values:
            return _refused(
                ops.OperationError(
                    "Choose a reason: " + ", ".join(OperationReason.values), code="invalid_reason", field="reason"
                )
            )
        if not isinstance(comment, str):
            return _refused(ops.OperationError("The comment must be text.", code="invalid_comment", field="comment"))
        try:
            result = ops.operation_request(
                access=access,
                actor=_actor(request),
                txn=txn,
                kind=self.kind,
                amount=amount,
                reason=reason,
                comment=comment,
                idempotency_key=key,
            )
        except ops.OperationError as error:
            return _refused(error)
        op = PaymentOperation.objects.select_related("approved_by", "result", "original").get(pk=result.operation.pk)
        response = Response(represent(op), status=_status_for(op))
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    # Printable, no surrounding spaces (they are stripped), at most the stored length.
    {"type": "string", "minLength": 1, "maxLength": ops.MAX_KEY_LENGTH, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per operation (e.g. a UUID): printable ASCII, 1 to 255 characters.",
)


class RefundsApi(_OperationApi):
    kind = OperationKind.REFUND

    @extend_schema(responses=OperationOutput(many=True), summary="Refund requests of a transaction")
    def get(self, request, transaction_id: str):
        return super().get(request, transaction_id)

    @extend_schema(
        request=OperationInput,
        responses={201: OperationOutput, 202: OperationOutput},
        parameters=[_KEY_HEADER],
        summary="Refund all or part of a payment",
    )
    def post(self, request, transaction_id: str):
        return super().post(request, transaction_id)


class CapturesApi(_OperationApi):
    kind = OperationKind.CAPTURE

    @extend_schema(responses=OperationOutput(many=True), summary="Capture requests of an authorisation")
    def get(self, request, transaction_id: str):
        return super().get(request, transaction_id)

    @extend_schema(
        request=OperationInput,
        responses={201: OperationOutput, 202: OperationOutput},
        parameters=[_KEY_HEADER],
        summary="Capture all or part of an authorisation",
    )
    def post(self, request, transaction_id: str):
        return super().post(request, transaction_id)


class CancellationsApi(_OperationApi):
    kind = OperationKind.CANCELLATION

    @extend_schema(responses=OperationOutput(many=True), summary="Cancellation requests of a transaction")
    def get(self, request, transaction_id: str):
        return super().get(request, transaction_id)

    @extend_schema(
        request=OperationInput,
        responses={201: OperationOutput, 202: OperationOutput},
        parameters=[_KEY_HEADER],
        summary="Cancel an uncaptured authorisation or an unpaid MULTIBANCO reference",
    )
    def post(self, request, transaction_id: str):
        return super().post(request, transaction_id)


# --------------------------------------------------------------------------- one request, four eyes


class DecisionInput(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        help_text="Approve only: the approving person's password.",
        validators=[RegexValidator(schema.STORABLE_TEXT)],
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=ops.MAX_COMMENT_LENGTH,
        validators=[RegexValidator(schema.STORABLE_TEXT)],
    )

    class Meta:
        ref_name = "OperationDecision"


def _operation_for(access, pk: int) -> PaymentOperation:
    """A request of the caller's merchant and stores; anything else is a 404 (never a 403 that
    would confirm another merchant's id exists)."""
    op = (
        PaymentOperation.objects.select_related("original", "original__merchant", "approved_by", "result")
        .filter(pk=pk, merchant=access.merchant)
        .first()
    )
    store_id = op.original.store_id if op is not None else None
    if op is None or (access.is_store_limited and (store_id is None or not access.allows_store(store_id))):
        raise NotFound("No such operation.")
    return op


def _decision_body(request, allowed: set[str]) -> tuple[dict[str, Any] | None, Response | None]:
    data = request.data
    if not isinstance(data, dict):
        return None, Response(
            error_body(type_="validation_error", code="invalid_body", message="The body must be a JSON object."),
            status=400,
        )
    unknown = sorted(str(u)[:50] for u in set(data) - allowed)[:10]
    if unknown:
        return None, Response(
            error_body(
                type_="validation_error",
                code="unknown_field",
                message="Unknown fields: " + ", ".join(unknown),
                fields={u: ["Unknown field."] for u in unknown},
            ),
            status=400,
        )
    for name in allowed:
        if name in data and not isinstance(data[name], str):
            return None, _refused(ops.OperationError(f"{name} must be text.", code=f"invalid_{name}", field=name))
    return data, None


class OperationApi(APIView):
    @extend_schema(responses=OperationOutput, summary="One refund, capture or cancellation request")
    def get(self, request, pk: int):
        access = api_access(request)
        access.require(Capability.VIEW_TRANSACTIONS)
        op = _operation_for(access, pk)
        return Response(represent(op))


class OperationApproveApi(APIView):
    @extend_schema(
        request=DecisionInput,
        responses={201: OperationOutput, 202: OperationOutput},
        summary="Approve a refund waiting for a second person (then it is sent to SIBS)",
        description="Four eyes: only a person (signed in, not an API key) other than the requester, "
        "with the capability to operate payments on the payment's store, confirming with their password.",
    )
    def post(self, request, pk: int):
        from payments.services.password_confirmation import PasswordRefused, password_confirm

        access = api_access(request)
        op = _operation_for(access, pk)
        data, problem = _decision_body(request, {"password"})
        if problem is not None:
            return problem
        ops._require_can_act(access, op.original)
        if isinstance(request.auth, ApiKey):
            return Response(
                error_body(
                    type_="permission_denied",
                    code="approval_needs_a_person",
                    message="An approval must be given by a person: an API key can request or reject, not approve.",
                ),
                status=403,
            )
        if ops.is_own_request(op, request.user.pk):
            return Response(
                error_body(
                    type_="permission_denied",
                    code="own_request",
                    message="You cannot approve your own request: another person must.",
                ),
                status=403,
            )
        if op.state != OperationState.PENDING_APPROVAL:
            return Response(represent(op), status=_status_for(op))  # decided already: say how
        actor = _actor(request)
        try:
            password_confirm(
                user=request.user,
                password=data.get("password", ""),
                actor=actor,
                merchant=access.merchant,
                purpose="approval",
                obj=op,
            )
        except PasswordRefused as error:
            code = "too_many_attempts" if error.status == 429 else "wrong_password"
            fields = {} if error.status == 429 else {"password": [error.message]}
            return Response(
                error_body(type_="permission_denied", code=code, message=error.message, fields=fields),
                status=error.status,
            )
        op = ops.operation_approve(access=access, actor=actor, operation=op)
        op = PaymentOperation.objects.select_related("approved_by", "result", "original").get(pk=op.pk)
        return Response(represent(op), status=_status_for(op))


class OperationRejectApi(APIView):
    @extend_schema(
        request=DecisionInput,
        responses={201: OperationOutput},
        summary="Reject a refund waiting for approval (its reserved amount is released)",
        description="Anyone who may operate payments on the payment's store, the requester included "
        "(withdrawing it), a person or an API key.",
    )
    def post(self, request, pk: int):
        access = api_access(request)
        op = _operation_for(access, pk)
        data, problem = _decision_body(request, {"comment"})
        if problem is not None:
            return problem
        if op.state != OperationState.PENDING_APPROVAL:
            ops._require_can_act(access, op.original)
            return Response(
                error_body(
                    type_="operation_refused",
                    code="not_pending",
                    message=f"This request is {op.state}: only a request awaiting approval can be rejected.",
                ),
                status=409,
            )
        op = ops.operation_reject(access=access, actor=_actor(request), operation=op, comment=data.get("comment", ""))
        op = PaymentOperation.objects.select_related("approved_by", "result", "original").get(pk=op.pk)
        return Response(represent(op), status=_status_for(op))
