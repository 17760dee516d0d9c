"""Refunds, captures and cancellations asked for by staff or API keys, moved through SIBS safely.

The life of one request (``PaymentOperation``):

1. **Reserve.** In one database transaction, with the payment's row locked
   (``select_for_update``): check the action is possible now and the amount is available
   (paid minus refunds done *or in flight*; authorised minus captures and cancellations done or
   in flight), then insert the request holding that amount. Two people refunding the same
   payment at once are serialised by the lock: the second sees the first's reservation.
2. **Four eyes.** A refund above the merchant's threshold waits in ``pending_approval`` (still
   holding its amount) until another person approves (it is then sent) or rejects it (released).
3. **Call SIBS** outside any database transaction, once (claimed with a conditional UPDATE
   ``reserved -> in_flight``; a money call is never retried automatically).
4. **Record** the answer: a ``BackOfficeResponse`` becomes the operation's own ``Transaction``
   (through the ledger, which recomputes the payment's balances) and settles the request. No
   answer (read timeout, HTTP 408/5xx, a body that cannot be read) leaves it ``unknown``, still
   holding its amount: the status inquiry by its ``merchantTransactionId`` or the operation's
   notification settles it. A request SIBS certainly never received (connection refused, HTTP
   4xx refusal) is ``failed`` and releases its amount.

Idempotency: every request carries a key (the form's hidden token, the API's ``Idempotency-Key``)
unique per merchant. The same key with the same request returns the same operation without a
second call to SIBS; with a different request it is refused.

Every step writes an audit event; lock order is always payment row, then request row (the
ledger locks an operation's transaction before its payment, then the request).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import SYSTEM, Actor
from backoffice.roles import Capability
from common.money import MoneyInputError, format_money, minor_units, parse_money
from payments.models import (
    ZERO,
    EventKind,
    OperationKind,
    OperationPolicy,
    OperationReason,
    OperationState,
    PaymentOperation,
    ReferenceState,
    Transaction,
    is_operation_type,
)
from payments.services import ledger
from payments.services.four_eyes import is_own_request
from payments.services.gateway import client_for, credential_for_transaction
from payments.services.ledger import describe_code, operation_settle_from_transaction
from payments.sibs.client import SibsApiError, SibsHttpError, SibsTransportError, encode_body, operation_body
from payments.sibs.enums import PaymentMethod, PaymentStatus, PaymentType

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
MAX_COMMENT_LENGTH = 1000
MAX_AMOUNT = Decimal("9999999999.99")
# A status inquiry answering "not found" only proves the request was never processed once SIBS
# has had time to finish it (our read timeout is 30 s).
NOT_FOUND_GRACE = timedelta(seconds=90)
# A request reserved but never sent (the process died in between) is released after this.
STALE_RESERVATION = timedelta(minutes=10)
# A request sent whose process died before recording the answer becomes unknown after this.
STALE_IN_FLIGHT = timedelta(minutes=2)
MAX_INQUIRY_INTERVAL = timedelta(hours=1)
FIRST_INQUIRY_DELAY = timedelta(seconds=30)

_COLLECTED_TYPES = {PaymentType.PURCHASE.value, PaymentType.MERCHANT_INITIATED.value}


class OperationError(Exception):
    """A request refused before anything was sent. ``code`` is stable; ``message`` is for people;
    ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field


@dataclass(frozen=True)
class OperationResult:
    operation: PaymentOperation
    # True when the idempotency key was seen before: nothing new was sent to SIBS.
    replayed: bool


# --------------------------------------------------------------------------- reading


def available_amount(txn: Transaction, kind: str) -> Decimal:
    """What ``kind`` may still move on ``txn`` now (in flight subtracted), 0 when impossible."""
    if refusal(txn, kind) is not None:
        return ZERO
    if kind == OperationKind.REFUND:
        return txn.refundable_amount
    if kind == OperationKind.CAPTURE:
        return txn.capturable_amount
    if _is_reference(txn):
        return txn.amount or ZERO
    return txn.capturable_amount


def _is_reference(txn: Transaction) -> bool:
    return txn.payment_method == PaymentMethod.REFERENCE


def refusal(txn: Transaction, kind: str) -> str | None:
    """Why ``kind`` is not possible on ``txn`` now, in words; None when it is."""
    if txn.is_operation or txn.original_id is not None:
        return _("This is itself an operation on a payment; act on the payment instead.")
    if kind == OperationKind.CANCELLATION and _is_reference(txn):
        # A generated reference is Success (notification) or Pending (inquiry) with UNPAID.
        if txn.reference_status != ReferenceState.UNPAID or txn.payment_status not in (
            PaymentStatus.SUCCESS,
            PaymentStatus.PENDING,
        ):
            return _("Only a MULTIBANCO reference that is not paid, expired or cancelled can be cancelled.")
        if txn.held_amount(OperationKind.CANCELLATION) > ZERO:
            return _("A cancellation of this reference is already in progress.")
        return None
    if txn.payment_status != PaymentStatus.SUCCESS:
        return _("SIBS has not reported this transaction as successful.")
    if kind == OperationKind.REFUND:
        if _is_reference(txn):
            return _("A MULTIBANCO payment cannot be refunded through SIBS.")
        if txn.payment_type not in _COLLECTED_TYPES | {PaymentType.AUTHORISATION.value}:
            return _("Only a purchase or a captured authorisation can be refunded.")
        if txn.captured_amount <= ZERO:
            if txn.payment_type == PaymentType.AUTHORISATION:
                return _("The authorisation was not captured: cancel it instead of refunding it.")
            return _("Nothing was paid on this transaction.")
        if txn.refundable_amount <= ZERO:
            return _("Nothing is left to refund (refunds done or in progress cover what was paid).")
        return None
    if kind == OperationKind.CAPTURE:
        if txn.payment_type != PaymentType.AUTHORISATION:
            return _("Only an authorisation can be captured.")
        if txn.capturable_amount <= ZERO:
            return _("Nothing is left to capture (captures and cancellations cover what was authorised).")
        return None
    if kind == OperationKind.CANCELLATION:
        if txn.payment_type != PaymentType.AUTHORISATION:
            return _("Only an authorisation or an unpaid MULTIBANCO reference can be cancelled; refund a purchase.")
        if txn.captured_amount > ZERO or txn.held_amount(OperationKind.CAPTURE) > ZERO:
            return _("The authorisation was (or is being) captured: refund instead of cancelling.")
        if txn.capturable_amount <= ZERO:
            return _("Nothing is left to cancel on this authorisation.")
        return None
    return _("Unknown operation.")


def can_act_on(access: Access, txn: Transaction) -> bool:
    return (
        access.can(Capability.OPERATE_PAYMENTS)
        and txn.merchant_id == access.merchant.pk
        and (not access.is_store_limited or (txn.store_id is not None and access.allows_store(txn.store_id)))
    )


def _require_can_act(access: Access, txn: Transaction) -> None:
    access.require(Capability.OPERATE_PAYMENTS)
    if txn.merchant_id != access.merchant.pk:
        raise PermissionDenied(_("This transaction belongs to another merchant."))
    if access.is_store_limited and (txn.store_id is None or not access.allows_store(txn.store_id)):
        raise PermissionDenied(_("You can only act on the stores you have access to."))


def four_eyes_threshold(merchant) -> Decimal | None:
    policy = OperationPolicy.objects.filter(merchant=merchant).only("four_eyes_threshold").first()
    return policy.four_eyes_threshold if policy else None


# --------------------------------------------------------------------------- input


def parse_amount(value: Any, currency: str = "EUR", *, typed: bool = False) -> Decimal | None:
    """An amount from a form (``typed``: as a person writes it, ``1.234,56``) or JSON (string or
    number); None when absent. Raises :class:`OperationError` for anything that is not a positive
    amount in the currency's units. The reading itself is :func:`common.money.parse_money`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise OperationError(_("Enter the amount as a number, e.g. 12.50."), code="invalid_amount", field="amount")
    try:
        amount = parse_money(value, currency, typed=typed)
    except MoneyInputError as error:
        if error.code == "too_many_decimals":
            raise OperationError(
                _("The amount can have at most %(places)s decimals.") % {"places": error.places},
                code="invalid_amount",
                field="amount",
            ) from None
        raise OperationError(
            _("Enter the amount as a number, e.g. 12.50."), code="invalid_amount", field="amount"
        ) from None
    if amount <= ZERO:
        raise OperationError(_("The amount must be more than zero."), code="invalid_amount", field="amount")
    if amount > MAX_AMOUNT:
        raise OperationError(_("The amount is too large."), code="invalid_amount", field="amount")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise OperationError(
            _("The amount can have at most %(places)s decimals.") % {"places": places},
            code="invalid_amount",
            field="amount",
        )
    return amount.quantize(Decimal(1).scaleb(-places))


def _clean_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise OperationError(
            _("An idempotency key is required so that a repeated request cannot move money twice."),
            code="idempotency_key_missing",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise OperationError(
            _("The idempotency key must be at most %(n)s printable characters.") % {"n": MAX_KEY_LENGTH},
            code="idempotency_key_invalid",
        )
    return key


def fingerprint(*, kind: str, txn: Transaction, amount: Decimal | None, reason: str, comment: str) -> str:
    data = {
        "kind": kind,
        "transaction": txn.transaction_id,
        "amount": None if amount is None else f"{amount:f}",
        "reason": reason,
        "comment": comment,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _replay(existing: PaymentOperation, fp: str) -> OperationResult:
    if existing.fingerprint != fp:
        raise OperationError(
            _("This idempotency key was already used for a different request. Use a new key for a new operation."),
            code="idempotency_key_reused",
            status=422,
        )
    return OperationResult(existing, replayed=True)


# --------------------------------------------------------------------------- requesting


def operation_request(
    *,
    access: Access,
    actor: Actor,
    txn: Transaction,
    kind: str,
    amount: Decimal | None,
    reason: str,
    comment: str = "",
    idempotency_key: str,
    gateway_headers: dict[str, str] | None = None,
) -> OperationResult:
    """Reserve and (unless it needs approval) execute a refund, capture or cancellation.

    ``amount`` None means all that is available. Raises :class:`OperationError` when refused
    (nothing reserved), ``PermissionDenied`` when the caller may not act on ``txn``.
    ``gateway_headers`` are extra HTTP headers for the gateway call (the sandbox's test switches).
    """
    _require_can_act(access, txn)
    if kind not in OperationKind.values:
        raise OperationError(_("Unknown operation."), code="invalid_kind", field="kind")
    key = _clean_key(idempotency_key)
    if reason not in OperationReason.values:
        raise OperationError(_("Choose a reason from the list."), code="invalid_reason", field="reason")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise OperationError(
            _("The comment can have at most %(n)s characters.") % {"n": MAX_COMMENT_LENGTH},
            code="invalid_comment",
            field="comment",
        )
    if reason == OperationReason.OTHER and not comment:
        raise OperationError(
            _("Say why in the comment when the reason is “Other”."), code="comment_required", field="comment"
        )
    fp = fingerprint(kind=kind, txn=txn, amount=amount, reason=reason, comment=comment)
    existing = PaymentOperation.objects.filter(merchant_id=txn.merchant_id, idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, fp)

    now = timezone.now()
    try:
        with transaction.atomic():
            original = Transaction.objects.select_for_update().get(pk=txn.pk)
            problem = refusal(original, kind)
            if problem is not None:
                raise OperationError(problem, code="not_possible", status=409)
            currency = original.currency or "EUR"
            available = available_amount(original, kind)
            if amount is None:
                amount = available.quantize(Decimal(1).scaleb(-minor_units(currency)))
            elif _is_reference(original) and kind == OperationKind.CANCELLATION and amount != available:
                raise OperationError(
                    _("A MULTIBANCO reference is cancelled in full (%(amount)s).")
                    % {"amount": format_money(available, currency)},
                    code="amount_not_full",
                    field="amount",
                    status=422,
                )
            if amount > available:
                raise OperationError(
                    _(
                        "%(amount)s is more than the %(available)s that can still be %(done)s (amounts already in "
                        "progress count)."
                    )
                    % {
                        "amount": format_money(amount, currency),
                        "available": format_money(available, currency),
                        "done": _done_word(kind),
                    },
                    code="amount_exceeds_available",
                    field="amount",
                    status=422,
                )
            threshold = four_eyes_threshold(original.merchant_id) if kind == OperationKind.REFUND else None
            needs_approval = threshold is not None and amount > threshold
            op = PaymentOperation.objects.create(
                merchant_id=original.merchant_id,
                original=original,
                kind=kind,
                amount=amount,
                currency=currency,
                state=OperationState.PENDING_APPROVAL if needs_approval else OperationState.RESERVED,
                idempotency_key=key,
                fingerprint=fp,
                gateway_reference=f"bo-{kind[:2]}-{secrets.token_hex(10)}",
                requested_by=actor.user,
                requested_by_key=actor.api_key,
                requested_by_key_creator_id=actor.api_key.created_by_id if actor.api_key else None,
                requested_by_label=actor.label[:255],
                reason=reason,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
            audit.record(
                actor=actor,
                action=f"payment.{kind}_requested",
                merchant=original.merchant,
                obj=op,
                after=_describe(op, original),
            )
            if needs_approval:
                from payments.approvals.services import approval_requested

                approval_requested(op)  # e-mails the approvers once committed
    except IntegrityError:
        # The same key, at the same moment (a double click): the other request won the insert.
        existing = PaymentOperation.objects.filter(merchant_id=txn.merchant_id, idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, fp)
    if op.state == OperationState.RESERVED:
        op = operation_execute(operation=op, actor=actor, gateway_headers=gateway_headers)
    return OperationResult(op, replayed=False)


def _done_word(kind: str) -> str:
    return {
        OperationKind.REFUND: _("refunded"),
        OperationKind.CAPTURE: _("captured"),
        OperationKind.CANCELLATION: _("cancelled"),
    }[kind]


def _describe(op: PaymentOperation, original: Transaction) -> dict:
    return {
        "transaction": original.transaction_id,
        "kind": op.kind,
        "amount": f"{op.amount:f}",
        "currency": op.currency,
        "state": op.state,
        "reason": op.reason,
        "comment": op.comment,
    }


# --------------------------------------------------------------------------- four eyes


def operation_approve(
    *, access: Access, actor: Actor, operation: PaymentOperation, gateway_headers: dict[str, str] | None = None
) -> PaymentOperation:
    """A second person approves a refund waiting for approval; it is then sent to SIBS."""
    original = operation.original
    _require_can_act(access, original)
    if actor.user is None:
        raise PermissionDenied(_("An approval must be given by a person."))
    if is_own_request(operation, actor.user.pk):
        raise PermissionDenied(_("You cannot approve your own request: another person must."))
    now = timezone.now()
    with transaction.atomic():
        Transaction.objects.select_for_update().filter(pk=original.pk).first()
        changed = PaymentOperation.objects.filter(pk=operation.pk, state=OperationState.PENDING_APPROVAL).update(
            state=OperationState.RESERVED, approved_by=actor.user, decided_at=now, updated_at=now
        )
        operation.refresh_from_db()
        if changed:
            audit.record(
                actor=actor,
                action=f"payment.{operation.kind}_approved",
                merchant=original.merchant,
                obj=operation,
                before={"state": OperationState.PENDING_APPROVAL},
                after={"state": OperationState.RESERVED},
            )
    if not changed:
        return operation  # decided meanwhile (a double click, or another approver)
    return operation_execute(operation=operation, actor=actor, gateway_headers=gateway_headers)


def operation_reject(
    *, access: Access, actor: Actor, operation: PaymentOperation, comment: str = ""
) -> PaymentOperation:
    """Refuse a refund waiting for approval: its reservation is released. The requester may
    withdraw their own request this way too."""
    original = operation.original
    _require_can_act(access, original)
    now = timezone.now()
    with transaction.atomic():
        changed = PaymentOperation.objects.filter(pk=operation.pk, state=OperationState.PENDING_APPROVAL).update(
            state=OperationState.REJECTED,
            approved_by=actor.user,
            decided_at=now,
            settled_at=now,
            updated_at=now,
            outcome_detail=(comment or "").strip()[:MAX_COMMENT_LENGTH],
        )
        operation.refresh_from_db()
        if changed:
            audit.record(
                actor=actor,
                action=f"payment.{operation.kind}_rejected",
                merchant=original.merchant,
                obj=operation,
                before={"state": OperationState.PENDING_APPROVAL},
                after={"state": OperationState.REJECTED, "comment": operation.outcome_detail},
            )
    return operation


# --------------------------------------------------------------------------- executing


_PAYMENT_TYPE_FOR = {
    OperationKind.REFUND: PaymentType.REFUND.value,
    OperationKind.CAPTURE: PaymentType.CAPTURE.value,
    OperationKind.CANCELLATION: PaymentType.AUTHORISATION_CANCELLATION.value,
}


def _payment_type(op: PaymentOperation, original: Transaction) -> str:
    if op.kind == OperationKind.CANCELLATION and _is_reference(original):
        return PaymentType.REFERENCE_CANCELLATION.value
    return _PAYMENT_TYPE_FOR[op.kind]


def operation_execute(
    *, operation: PaymentOperation, actor: Actor = SYSTEM, gateway_headers: dict[str, str] | None = None
) -> PaymentOperation:
    """Send a reserved request to SIBS (once) and record what came back. No database
    transaction is open during the call."""
    now = timezone.now()
    claimed = PaymentOperation.objects.filter(pk=operation.pk, state=OperationState.RESERVED).update(
        state=OperationState.IN_FLIGHT, sent_at=now, updated_at=now
    )
    operation.refresh_from_db()
    if not claimed:
        return operation  # someone else sent it
    original = operation.original
    credential = credential_for_transaction(original)
    if credential is None:
        return _finish(
            operation,
            actor,
            state=OperationState.FAILED,
            detail=_("No active gateway credential applies to this transaction: nothing was sent to SIBS."),
        )
    client = client_for(credential)
    # Built once: what is recorded is exactly what is sent (timestamp included).
    body = operation_body(
        transaction_id=original.transaction_id,
        terminal_id=original.terminal_number or credential.terminal_number,
        merchant_transaction_id=operation.gateway_reference,
        amount=operation.amount,
        currency=operation.currency,
        original_datetime=original.transaction_datetime,
        description=f"Backoffice {operation.kind}: {operation.reason}"[:70],
    )
    request_body = json.loads(encode_body(body), parse_float=str)  # amounts as sent: "12.50"
    PaymentOperation.objects.filter(pk=operation.pk).update(request_body=request_body)
    operation.request_body = request_body
    try:
        payload, response = client.send_operation(
            operation.kind, original.transaction_id, body, extra_headers=gateway_headers
        )
    except SibsTransportError as error:
        if not error.sent:
            return _finish(
                operation,
                actor,
                state=OperationState.FAILED,
                detail=_("SIBS could not be reached; nothing was sent, nothing moved. You can try again."),
            )
        return _unknown(operation, actor, detail=error.message)
    except SibsHttpError as error:
        data = error.response.data if error.response is not None else None
        code, description = _return_status(data)
        status = error.http_status or 0
        if status == 408 or status == 429 or status >= 500:
            return _unknown(
                operation,
                actor,
                detail=f"HTTP {status}: {describe_code(code, description)}",
                http_status=status,
                body=data,
            )
        if status in (401, 403):
            detail = _("SIBS refused the gateway credential (HTTP %(status)s): nothing moved.") % {"status": status}
        else:
            detail = _("SIBS refused the request (HTTP %(status)s): nothing moved.") % {"status": status}
        if code:
            detail += " " + describe_code(code, description)
        return _finish(
            operation,
            actor,
            state=OperationState.FAILED,
            detail=detail,
            http_status=status,
            body=data,
            code=code,
        )
    except SibsApiError as error:
        # A 2xx whose body cannot be read: SIBS may well have done it.
        body = error.response.data if error.response is not None else None
        return _unknown(operation, actor, detail=error.message, http_status=error.http_status, body=body)
    return _record_answer(operation, actor, payload=payload, http_status=response.http_status, body=response.data)


def _return_status(data: Any) -> tuple[str, str]:
    if not isinstance(data, dict):
        return "", ""
    status = data.get("returnStatus")
    if not isinstance(status, dict):
        return "", ""
    code = status.get("statusCode")
    description = status.get("statusDescription") or status.get("statusMsg") or ""
    return (str(code).strip()[:64] if code is not None else ""), str(description)[:500]


def _record_answer(
    operation: PaymentOperation, actor: Actor, *, payload, http_status: int | None, body: dict | None
) -> PaymentOperation:
    code = (payload.return_status.code or "") if payload.return_status else ""
    description = (payload.return_status.description or "") if payload.return_status else ""
    status = str(getattr(payload.payment_status, "value", payload.payment_status) or "")
    if not payload.transaction_id:
        if status == PaymentStatus.DECLINED or (code and code != "000" and not status):
            return _finish(
                operation,
                actor,
                state=OperationState.DECLINED,
                detail=describe_code(code, description),
                http_status=http_status,
                body=body,
                code=code,
            )
        return _unknown(
            operation, actor, detail=_("SIBS answered without a transaction id."), http_status=http_status, body=body
        )
    original = operation.original
    with transaction.atomic():
        applied = ledger.operation_answer_apply(
            original=original,
            payment_type=_payment_type(operation, original),
            payload=payload,
            stored_payload=ledger.masked_payload(body or {}),
            occurred_at=timezone.now(),
            http_status=http_status,
        )
        # The ledger settles the request from the operation's status when the answer echoes its
        # merchantTransactionId; this answer is about this request whatever it echoes.
        operation_settle_from_transaction(applied.transaction, operation_pk=operation.pk)
        op = PaymentOperation.objects.select_for_update().get(pk=operation.pk)
        op.response_body = body
        op.http_status = http_status
        if op.state == OperationState.IN_FLIGHT:
            # SIBS is still processing it (Pending): the inquiry or the notification settles it.
            op.state = OperationState.UNKNOWN
            op.next_inquiry_at = timezone.now() + FIRST_INQUIRY_DELAY
            op.outcome_detail = _("SIBS is still processing it (%(status)s).") % {"status": status or "?"}
        op.updated_at = timezone.now()
        op.save()
        audit.record(
            actor=actor,
            action=f"payment.{op.kind}_{op.state}",
            merchant=original.merchant,
            obj=op,
            after={
                "state": op.state,
                "return_code": op.return_code,
                "result": op.result.transaction_id if op.result else None,
            },
        )
    return op


def _finish(
    operation: PaymentOperation,
    actor: Actor,
    *,
    state: str,
    detail: str,
    http_status: int | None = None,
    body: Any = None,
    code: str = "",
) -> PaymentOperation:
    now = timezone.now()
    with transaction.atomic():
        op = PaymentOperation.objects.select_for_update().get(pk=operation.pk)
        if op.state not in (OperationState.IN_FLIGHT, OperationState.RESERVED):
            return op  # settled meanwhile by SIBS's notification: its word stands
        op.state = state
        op.outcome_detail = detail[:2000]
        op.http_status = http_status
        op.response_body = body if isinstance(body, dict) else None
        op.return_code = code[:64]
        op.settled_at = now
        op.updated_at = now
        op.next_inquiry_at = None
        op.save()
        audit.record(
            actor=actor,
            action=f"payment.{op.kind}_{state}",
            merchant=op.original.merchant,
            obj=op,
            after={"state": state, "detail": op.outcome_detail, "http_status": http_status},
        )
    return op


def _unknown(
    operation: PaymentOperation, actor: Actor, *, detail: str, http_status: int | None = None, body: Any = None
) -> PaymentOperation:
    now = timezone.now()
    with transaction.atomic():
        op = PaymentOperation.objects.select_for_update().get(pk=operation.pk)
        if op.state != OperationState.IN_FLIGHT:
            return op
        op.state = OperationState.UNKNOWN
        op.outcome_detail = (
            _("No answer from SIBS: it may or may not have been done. The amount stays reserved until SIBS confirms.")
            + f" ({detail})"
        )[:2000]
        op.http_status = http_status
        op.response_body = body if isinstance(body, dict) else None
        op.updated_at = now
        op.next_inquiry_at = now + FIRST_INQUIRY_DELAY
        op.save()
        audit.record(
            actor=actor,
            action=f"payment.{op.kind}_unknown",
            merchant=op.original.merchant,
            obj=op,
            after={"state": op.state, "detail": detail[:500], "http_status": http_status},
        )
    return op


# --------------------------------------------------------------------------- settling


def operation_inquire(*, operation_pk: int, now: datetime | None = None) -> str:
    """Ask SIBS about a request whose outcome is unknown (by its merchantTransactionId, or by the
    operation's transactionID when one is known) and settle it. Returns the request's state."""
    now = now or timezone.now()
    op = PaymentOperation.objects.select_related("original", "result").filter(pk=operation_pk).first()
    if op is None:
        return "missing"
    if op.state != OperationState.UNKNOWN:
        return op.state
    original = op.original
    credential = credential_for_transaction(original)
    if credential is None:
        _reschedule(op, now, _("No active gateway credential to ask SIBS with."))
        return op.state
    client = client_for(credential)
    try:
        if op.result is not None:
            payload, response = client.status(op.result.transaction_id)
        else:
            payload, response = client.status_by_merchant_transaction(
                op.gateway_reference, terminal_id=original.terminal_number
            )
    except SibsHttpError as error:
        if error.http_status == 404 and op.sent_at is not None and now - op.sent_at >= NOT_FOUND_GRACE:
            with transaction.atomic():
                locked = PaymentOperation.objects.select_for_update().get(pk=op.pk)
                if locked.state == OperationState.UNKNOWN:
                    locked.state = OperationState.FAILED
                    locked.outcome_detail = _(
                        "SIBS has no record of this request: it was never processed, nothing moved. "
                        "The reserved amount is released; you can try again."
                    )
                    locked.settled_at = now
                    locked.updated_at = now
                    locked.next_inquiry_at = None
                    locked.inquiry_count += 1
                    locked.save()
                    audit.record(
                        actor=SYSTEM,
                        action=f"payment.{locked.kind}_settled",
                        merchant=original.merchant,
                        obj=locked,
                        before={"state": OperationState.UNKNOWN},
                        after={"state": OperationState.FAILED, "inquiry": "not found"},
                    )
                return locked.state
        _reschedule(op, now, f"HTTP {error.http_status}")
        return op.state
    except SibsApiError as error:
        _reschedule(op, now, error.message)
        return op.state
    ptype = str(getattr(payload.payment_type, "value", payload.payment_type) or "")
    if not payload.transaction_id or (ptype and not is_operation_type(ptype)):
        _reschedule(op, now, _("The status answer does not describe this operation."))
        return op.state
    with transaction.atomic():
        applied = ledger.operation_answer_apply(
            original=original,
            payment_type=_payment_type(op, original),
            payload=payload,
            stored_payload=ledger.masked_payload(response.data or {}),
            occurred_at=now,
            http_status=response.http_status,
            kind=EventKind.STATUS_INQUIRY,
        )
        operation_settle_from_transaction(applied.transaction, operation_pk=op.pk)
        locked = PaymentOperation.objects.select_for_update().get(pk=op.pk)
        locked.inquiry_count += 1
        if locked.state == OperationState.UNKNOWN:
            locked.next_inquiry_at = now + _backoff(locked.inquiry_count)
        locked.save(update_fields=["inquiry_count", "next_inquiry_at"])
    return locked.state


def _backoff(count: int) -> timedelta:
    return min(FIRST_INQUIRY_DELAY * (2 ** min(count, 12)), MAX_INQUIRY_INTERVAL)


def _reschedule(op: PaymentOperation, now: datetime, detail: str) -> None:
    logger.info("inquiry of operation %s inconclusive: %s", op.pk, detail)
    PaymentOperation.objects.filter(pk=op.pk, state=OperationState.UNKNOWN).update(
        inquiry_count=F("inquiry_count") + 1,
        next_inquiry_at=now + _backoff(op.inquiry_count + 1),
        updated_at=now,
    )
    op.refresh_from_db()


def operations_sweep_claim(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Requests due for a status inquiry (claimed with a conditional UPDATE, so two sweeps never
    ask twice); also releases reservations never sent and marks calls whose process died
    mid-way as unknown."""
    now = now or timezone.now()
    stale = PaymentOperation.objects.filter(state=OperationState.RESERVED, updated_at__lt=now - STALE_RESERVATION)
    for op in stale[:limit]:
        _finish(
            op,
            SYSTEM,
            state=OperationState.FAILED,
            detail=_("Never sent to SIBS (interrupted): nothing moved, the reserved amount is released."),
        )
    # A call whose process died mid-way (worker killed, web process restarted) may have reached
    # SIBS: never released, never re-sent, but asked about like any lost answer. Its amount stays
    # reserved until the inquiry settles it.
    dead = PaymentOperation.objects.filter(state=OperationState.IN_FLIGHT, sent_at__lt=now - STALE_IN_FLIGHT)
    for op in dead.select_related("merchant")[:limit]:
        with transaction.atomic():
            moved = PaymentOperation.objects.filter(pk=op.pk, state=OperationState.IN_FLIGHT).update(
                state=OperationState.UNKNOWN,
                next_inquiry_at=now,
                updated_at=now,
                outcome_detail=_(
                    "The call to SIBS was interrupted before its answer was recorded: it may or may not have "
                    "been done. The amount stays reserved until SIBS confirms."
                ),
            )
            if moved:
                audit.record(
                    actor=SYSTEM,
                    action=f"payment.{op.kind}_unknown",
                    merchant=op.merchant,
                    obj=op,
                    before={"state": OperationState.IN_FLIGHT},
                    after={
                        "state": OperationState.UNKNOWN,
                        "detail": "interrupted mid-call",
                        "sent_at": str(op.sent_at),
                    },
                )
    due = list(
        PaymentOperation.objects.filter(state=OperationState.UNKNOWN, next_inquiry_at__lte=now)
        .order_by("next_inquiry_at")
        .values_list("pk", "next_inquiry_at", "inquiry_count")[:limit]
    )
    claimed = []
    for pk, due_at, count in due:
        if PaymentOperation.objects.filter(pk=pk, next_inquiry_at=due_at).update(
            next_inquiry_at=now + _backoff(count + 1)
        ):
            claimed.append(pk)
    return claimed
