"""Applying what SIBS says (notifications and status answers) to transactions.

Rules, in the order they are applied:

1. **Where it lands.** The merchant's transaction with that ``transactionID``. A MULTIBANCO
   "paid" notification whose ``transactionID`` differs from its reference's generation (seed
   examples 10 and 11 differ) is tied to the unpaid reference with the same merchant
   transaction id, else with the same entity and reference number, when exactly one matches;
   the other id is kept in ``secondary_transaction_id``. The same pairing works the other way
   round, when the payment arrives before the generation. Otherwise it is a transaction of its own.
2. **Status precedence.** ``payments.sibs.enums.status_supersedes``: a late ``Pending`` never
   overwrites ``Success``; the first final failure stays. A notification that loses still
   fills fields the transaction lacks, and is on the timeline as ``ignored``/``duplicate``.
3. **MULTIBANCO.** ``reference_status`` moves only forward (UNPAID < EXPIRED/CANCELLED < PAID),
   independently of ``paymentStatus``: the generation says ``Success`` + ``UNPAID`` (awaiting
   payment), the later "paid" says ``Success`` again and marks it PAID.
4. **Operations** (RFND, CAPT, CAUT, CMBW, CPRF, RVSL) are rows of their own, linked to the
   payment they act on by ``originalTransaction.id`` when sent, else by merchant transaction id
   when exactly one payment has it. An operation arriving first stays unlinked (flagged) and is
   linked when its payment arrives. The payment's balances are recomputed from its successful
   operations each time (sums, never increments). An operation is never "paid", whatever its
   ``paymentStatus`` says (annulments arrive as ``Success``).

Everything here runs inside the caller's ``transaction.atomic()`` and locks rows with
``select_for_update`` (a payment's row is locked after its operation's: no cycle, except a payment
linking operations that arrived before it, where PostgreSQL's deadlock detection aborts one side
and the notification is processed again by the sweep).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.audit import SYSTEM
from backoffice.models import Merchant, Terminal
from payments.dashboards import services as rollups
from payments.models import (
    PENDING_STATUSES,
    ZERO,
    EventKind,
    EventOutcome,
    OperationState,
    PaymentOperation,
    ReferenceState,
    Transaction,
    TransactionEvent,
    TransactionState,
    is_operation_type,
)
from payments.sibs.enums import (
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    ReferenceStatus,
    status_precedence,
    status_supersedes,
)
from payments.sibs.errors import describe
from payments.sibs.notification import PaymentPayload, mask_token_value

MAX_WARNINGS = 20
# The sweeper backs off: first inquiry after STATUS_SWEEP_AGE_MINUTES, then twice as long each
# time, never more than this apart.
MAX_INQUIRY_INTERVAL = timedelta(hours=6)

_PAYMENT_TYPES = frozenset(t.value for t in PaymentType if t.is_payment)
_OPERATION_TYPES = frozenset(t.value for t in PaymentType if t.is_operation_on_original)
_CANCELLATION_TYPES = frozenset(t.value for t in PaymentType if t.is_cancellation)
_COLLECTING_TYPES = frozenset(t.value for t in PaymentType if t.collects_on_success)
_REFERENCE_RANK = {
    "": 0,
    ReferenceState.UNPAID: 1,
    ReferenceState.EXPIRED: 2,
    ReferenceState.CANCELLED: 2,
    ReferenceState.PAID: 3,
}
SUCCESS = PaymentStatus.SUCCESS.value
REFERENCE = PaymentMethod.REFERENCE.value


@dataclass(frozen=True)
class Applied:
    transaction: Transaction
    event: TransactionEvent
    created: bool

    @property
    def outcome(self) -> str:
        return self.event.outcome


def _text(value: Any) -> str:
    """Enum member or raw string from the parser, as the string stored."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def masked_payload(raw: dict[str, Any]) -> dict[str, Any]:
    """A payload fit for the transaction and its timeline: card tokens, phone aliases and IBANs
    masked. The exact plaintext stays, encrypted, on the inbound notification."""
    payload = copy.deepcopy(raw)
    token = payload.get("token")
    if isinstance(token, dict) and isinstance(token.get("value"), str):
        token["value"] = mask_token_value(token["value"])
    mandate = payload.get("mbwayMandate")
    if isinstance(mandate, dict) and isinstance(mandate.get("aliasMBWAY"), str):
        mandate["aliasMBWAY"] = mask_token_value(mandate["aliasMBWAY"])
    for key in ("clientIBAN", "clientIban"):
        if isinstance(payload.get(key), str):
            payload[key] = mask_token_value(payload[key])
    return payload


# --------------------------------------------------------------------------- entry points


def notification_apply(
    *,
    merchant: Merchant,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    occurred_at: datetime,
    notification_id: str = "",
    inbound=None,
) -> Applied:
    """Apply a notification to its transaction (created if new). Inside ``transaction.atomic()``."""
    for _attempt in range(2):
        txn, created = _locate(merchant, payload, occurred_at)
        try:
            return _apply(
                txn,
                created=created,
                payload=payload,
                stored_payload=stored_payload,
                kind=EventKind.NOTIFICATION,
                occurred_at=occurred_at,
                notification_id=notification_id,
                inbound=inbound,
            )
        except _CreatedMeanwhile:
            continue  # another worker created the row between our look and our insert
    raise RuntimeError("transaction row kept appearing and disappearing")  # pragma: no cover


def inquiry_apply(
    *,
    transaction_pk: int,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    occurred_at: datetime,
    http_status: int | None,
) -> Applied:
    """Apply a status answer to the transaction that was asked about. Inside ``atomic()``."""
    txn = Transaction.objects.select_for_update().get(pk=transaction_pk)
    return _apply(
        txn,
        created=False,
        payload=payload,
        stored_payload=stored_payload,
        kind=EventKind.STATUS_INQUIRY,
        occurred_at=occurred_at,
        http_status=http_status,
    )


def operation_answer_apply(
    *,
    original: Transaction,
    payment_type: str,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    occurred_at: datetime,
    http_status: int | None,
    kind: str = EventKind.OPERATION,
) -> Applied:
    """Record SIBS's answer to a refund, capture or cancellation the backoffice asked for (the
    synchronous ``BackOfficeResponse``, or the status inquiry that found it) as the operation's
    own transaction, linked to ``original``. The answer carries neither ``paymentType`` nor
    ``paymentMethod``: they come from what was asked. Inside ``transaction.atomic()``."""
    for _attempt in range(2):
        txn, created = _locate(original.merchant, payload, occurred_at)
        if created:
            txn.original_id = original.pk
            txn.original_transaction_ref = original.transaction_id
            txn.payment_type = payment_type
            txn.payment_method = original.payment_method
            txn.terminal_number = original.terminal_number
            txn.currency = original.currency
        try:
            return _apply(
                txn,
                created=created,
                payload=payload,
                stored_payload=stored_payload,
                kind=kind,
                occurred_at=occurred_at,
                http_status=http_status,
            )
        except _CreatedMeanwhile:
            continue
    raise RuntimeError("transaction row kept appearing and disappearing")  # pragma: no cover


def execution_answer_apply(
    *,
    merchant: Merchant,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    occurred_at: datetime,
    http_status: int | None,
) -> Applied:
    """Record SIBS's answer to a payment the backoffice executed itself (a server-to-server MB WAY
    purchase or reference generation, see ``payments.requests``): the payment's transaction,
    created if new, with the same precedence rules as notifications. Inside ``atomic()``."""
    for _attempt in range(2):
        txn, created = _locate(merchant, payload, occurred_at)
        try:
            return _apply(
                txn,
                created=created,
                payload=payload,
                stored_payload=stored_payload,
                kind=EventKind.OPERATION,
                occurred_at=occurred_at,
                http_status=http_status,
            )
        except _CreatedMeanwhile:
            continue
    raise RuntimeError("transaction row kept appearing and disappearing")  # pragma: no cover


def inquiry_failed(*, transaction_pk: int, occurred_at: datetime, detail: str, http_status: int | None = None):
    """Put a status inquiry that got no usable answer on the timeline."""
    txn = Transaction.objects.get(pk=transaction_pk)
    return TransactionEvent.objects.create(
        transaction=txn,
        merchant_id=txn.merchant_id,
        kind=EventKind.STATUS_INQUIRY,
        outcome=EventOutcome.ERROR,
        occurred_at=occurred_at,
        http_status=http_status,
        detail=detail[:2000],
    )


# --------------------------------------------------------------------------- locating


class _CreatedMeanwhile(Exception):
    pass


def _locate(merchant: Merchant, payload: PaymentPayload, occurred_at: datetime) -> tuple[Transaction, bool]:
    """The locked stored row for this payload, or a new unsaved one."""
    tid = payload.transaction_id
    locked = Transaction.objects.select_for_update()
    txn = locked.filter(merchant=merchant, transaction_id=tid).first()
    if txn is not None:
        return txn, False
    if _is_reference_payment(payload):
        txn = locked.filter(merchant=merchant, secondary_transaction_id=tid).first()
        if txn is not None:
            return txn, False
        partner = _reference_partner(merchant, payload)
        if partner is not None:
            txn = locked.filter(pk=partner, secondary_transaction_id__isnull=True).first()
            if txn is not None:
                txn.secondary_transaction_id = tid
                _drop_warning(txn, "reference_payment_unmatched")
                return txn, False
    txn = Transaction(merchant=merchant, transaction_id=tid, created_at=occurred_at, updated_at=occurred_at)
    return txn, True


def _is_reference_payment(payload: PaymentPayload) -> bool:
    return _text(payload.payment_method) == REFERENCE and not is_operation_type(_text(payload.payment_type))


def _reference_paid_like(payload: PaymentPayload) -> bool:
    ref = payload.payment_reference
    return _text(payload.payment_status) == SUCCESS and (ref is None or _text(ref.status) == ReferenceStatus.PAID)


def _reference_partner(merchant: Merchant, payload: PaymentPayload) -> int | None:
    """The one reference this MULTIBANCO notification completes, when it has another id."""
    ref = payload.payment_reference
    mtid = payload.merchant_transaction_id
    base = Transaction.objects.filter(
        merchant=merchant, payment_method=REFERENCE, secondary_transaction_id__isnull=True
    ).exclude(payment_type__in=_OPERATION_TYPES)

    def single(qs) -> int | None:
        ids = list(qs.values_list("pk", flat=True)[:2])
        return ids[0] if len(ids) == 1 else None

    if _reference_paid_like(payload):
        # A payment: complete the one unpaid reference it is for.
        unpaid = base.filter(reference_status=ReferenceState.UNPAID)
        if mtid and (found := single(unpaid.filter(merchant_transaction_id=mtid))):
            return found
        if ref is not None and ref.reference:
            by_ref = unpaid.filter(reference_number=ref.reference)
            if ref.entity:
                by_ref = by_ref.filter(reference_entity=ref.entity)
            return single(by_ref)
        return None
    if ref is not None and _text(ref.status) == ReferenceStatus.UNPAID:
        # A generation arriving after its payment: the payment's row is paid and knows nothing
        # of the generation (no reference at all, or one without expiry).
        paid = base.filter(reference_status=ReferenceState.PAID)
        if mtid and (found := single(paid.filter(merchant_transaction_id=mtid, reference_number=""))):
            return found
        if ref.reference:
            by_ref = paid.filter(reference_number=ref.reference, reference_expiry__isnull=True)
            if ref.entity:
                by_ref = by_ref.filter(reference_entity=ref.entity)
            return single(by_ref)
    return None


# --------------------------------------------------------------------------- applying


def _apply(
    txn: Transaction,
    *,
    created: bool,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    kind: str,
    occurred_at: datetime,
    notification_id: str = "",
    inbound=None,
    http_status: int | None = None,
) -> Applied:
    incoming = _text(payload.payment_status)
    current = txn.payment_status
    notes: list[str] = []

    conflict = not created and _types_conflict(txn.payment_type, _text(payload.payment_type))
    if conflict:
        # One transactionID both a payment and an operation on a payment: SIBS gives operations
        # their own ids, so keep what we have and let a person look.
        _add_warning(txn, "type_conflict")
        notes.append(f"{_text(payload.payment_type)} payload for a {txn.payment_type} transaction: not applied")
        supersedes = False
    else:
        supersedes = created or status_supersedes(incoming or None, current or None)

    if supersedes:
        _overwrite_status(txn, payload)
    filled = [] if conflict else _copy_fields(txn, payload, overwrite=supersedes)
    if filled and not supersedes:
        notes.append("filled: " + ", ".join(filled))
    reference_changed = False if conflict else _merge_reference(txn, payload, occurred_at)
    if created or (not conflict and ("terminal_number" in filled or txn.terminal_unresolved)):
        _resolve_terminal(txn)
    for warning in payload.warnings:
        _add_warning(txn, f"payload: {warning}")

    out_of_order = not created and bool(incoming) and status_precedence(incoming) < status_precedence(current or None)
    if supersedes or reference_changed:
        outcome = EventOutcome.APPLIED
        txn.last_payload = stored_payload
    elif incoming and incoming == current and not conflict:
        outcome = EventOutcome.DUPLICATE
    else:
        outcome = EventOutcome.IGNORED
        _note_disagreement(txn, incoming, kind, notes)

    txn.updated_at = occurred_at
    if created:
        _recompute(txn, operations=[])
        _schedule_inquiry(txn)
        try:
            with transaction.atomic():
                txn.save(force_insert=True)
        except IntegrityError:
            raise _CreatedMeanwhile from None
    else:
        if kind == EventKind.STATUS_INQUIRY:
            txn.last_inquiry_at = occurred_at
        _recompute(txn)
        _schedule_inquiry(txn)
        txn.save()
    rollups.transaction_changed(txn)

    event = _event(
        txn,
        kind=kind,
        outcome=outcome,
        out_of_order=out_of_order,
        payload=payload,
        stored_payload=stored_payload,
        occurred_at=occurred_at,
        notification_id=notification_id,
        inbound=inbound,
        http_status=http_status,
        detail="; ".join(notes),
    )

    if txn.is_operation:
        _attach_to_original(txn, event)
        if txn.merchant_transaction_id:
            # An operation staff asked for: SIBS's word settles the request (and its reservation).
            operation_settle_from_transaction(txn)
    elif created and _text(txn.payment_type) in _PAYMENT_TYPES:
        _adopt_orphans(txn)
    for hook in _APPLIED_HOOKS:
        # Apps above payments act on SIBS's word in the same database transaction (a QR Code
        # Express sale takes its units from the product's stock, once per transaction).
        hook(txn)
    return Applied(transaction=txn, event=event, created=created)


_APPLIED_HOOKS: list[Callable[[Transaction], None]] = []


def on_applied(hook: Callable[[Transaction], None]) -> Callable[[Transaction], None]:
    """Register ``hook(txn)``, called after each notification or status answer is applied to a
    transaction, inside the same database transaction and with the row locked. Apps above
    payments register from their ``AppConfig.ready`` (payments never imports them)."""
    if hook not in _APPLIED_HOOKS:
        _APPLIED_HOOKS.append(hook)
    return hook


def _types_conflict(stored: str, incoming: str) -> bool:
    if not stored or not incoming or stored == incoming:
        return False
    return is_operation_type(stored) != is_operation_type(incoming)


def _overwrite_status(txn: Transaction, payload: PaymentPayload) -> None:
    txn.payment_status = _text(payload.payment_status)
    status = payload.return_status
    txn.return_code = (status.code or "")[:64] if status else ""
    txn.return_message = (status.message or "")[:255] if status else ""
    txn.return_description = (status.description or "") if status else ""


def _copy_fields(txn: Transaction, payload: PaymentPayload, *, overwrite: bool) -> list[str]:
    """Copy the payload's fields onto the row: all present ones when this payload's status
    won, else only into empty fields. Never blanks a field. Returns the names changed."""
    changed: list[str] = []

    def put(name: str, value: Any) -> None:
        if value is None or value == "":
            return
        current = getattr(txn, name)
        if current == value or (not overwrite and current not in (None, "")):
            return
        setattr(txn, name, value)
        changed.append(name)

    put("payment_method", _text(payload.payment_method)[:40])
    put("payment_type", _text(payload.payment_type)[:40])
    put("merchant_transaction_id", payload.merchant_transaction_id)
    put("internal_transaction_id", payload.internal_transaction_id)
    put("terminal_number", payload.terminal_id)
    if payload.amount is not None:
        put("amount", payload.amount)
        put("currency", payload.currency or "")
    put("transaction_datetime", payload.transaction_datetime)
    put("original_transaction_ref", payload.original_transaction_id)

    token = payload.token
    if token is not None:
        put("token_type", _text(token.type)[:40])
        put("token_masked", (token.masked_value or "")[:64])
        if _text(token.type) == "MobilePhone":
            put("mbway_alias_masked", (token.masked_value or "")[:64])
    mandate = payload.mbway_mandate
    if mandate is not None:
        put("mandate_id", mandate.mandate_id)
        put("mandate_action", _text(mandate.action)[:20])
        put("mandate_action_status", _text(mandate.action_status)[:20])
        put("mandate_type", _text(mandate.mandate_type)[:20])
        put("mandate_client_name", (mandate.client_name or "")[:255])
        put("mandate_expiration_date", mandate.expiration_date)
        put("mandate_amount_limit", mandate.amount_limit)
        put("mbway_alias_masked", (mandate.masked_alias or "")[:64])
    # The digits the mask leaves visible ("351#*****5678" -> "5678"), searchable in the list.
    alias_digits = txn.mbway_alias_masked.rpartition("#")[2][-4:]
    if alias_digits.isdigit():
        put("mbway_alias_last_digits", alias_digits)
    mit = payload.merchant_initiated_transaction
    if mit is not None:
        put("mit_type", _text(mit.type)[:20])
        put("mit_amount_qualifier", _text(mit.amount_qualifier)[:20])
        put("mit_validity_date", mit.validity_date)
        if mit.schedule is not None:
            put(
                "mit_schedule",
                {
                    "initialDate": mit.schedule.initial_date.isoformat() if mit.schedule.initial_date else None,
                    "finalDate": mit.schedule.final_date.isoformat() if mit.schedule.final_date else None,
                    "interval": mit.schedule.interval,
                    **_plain(mit.schedule.extra),
                },
            )
    operation = payload.financial_operation
    if operation is not None:
        qr_id = operation.product.get("staticQRCodeId")
        if isinstance(qr_id, str):
            put("qr_code_id", qr_id.strip()[:64])
        put(
            "qr_purchase",
            _plain(
                {
                    "product": operation.product,
                    "billingInfo": operation.billing_info,
                    "expeditionInfo": operation.expedition_info,
                    **operation.extra,
                }
            ),
        )
    return changed


def _plain(value: Any) -> Any:
    """Decimals (the parser reads JSON numbers exactly) as JSON numbers again."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value


def _merge_reference(txn: Transaction, payload: PaymentPayload, occurred_at: datetime) -> bool:
    """Fill the MULTIBANCO reference and move its status forward. True when the status moved."""
    ref = payload.payment_reference
    if ref is not None:
        for name, value in (
            ("reference_entity", ref.entity),
            ("reference_number", ref.reference),
            ("reference_payment_entity", ref.payment_entity),
            ("reference_amount", ref.amount),
            ("reference_expiry", ref.expiry),
        ):
            if value not in (None, "") and getattr(txn, name) in (None, ""):
                setattr(txn, name, value[:40] if isinstance(value, str) else value)
    if txn.is_operation or is_operation_type(_text(payload.payment_type)):
        return False  # an annulment of a reference is not its payment
    if txn.payment_method != REFERENCE and ref is None:
        return False

    status = _text(payload.payment_status)
    incoming = ""
    if ref is not None and _text(ref.status) in (ReferenceStatus.PAID, ReferenceStatus.UNPAID):
        incoming = _text(ref.status)
    elif status == SUCCESS and ref is None:
        # The "paid" notification (seed example 11) carries no paymentReference at all.
        incoming = ReferenceState.PAID
    if status == PaymentStatus.EXPIRED and incoming != ReferenceState.PAID:
        incoming = ReferenceState.EXPIRED
    if _REFERENCE_RANK.get(incoming, 0) <= _REFERENCE_RANK.get(txn.reference_status, 0):
        return False
    txn.reference_status = incoming
    if incoming == ReferenceState.PAID:
        txn.reference_paid_at = payload.transaction_datetime or occurred_at
        if not txn.reference_number and ref is None:
            # Paid, but which reference? Tied to none of ours: worth a look.
            _add_warning(txn, "reference_payment_unmatched")
    return True


def _resolve_terminal(txn: Transaction) -> None:
    """The terminal within this merchant; another merchant's terminal is never used."""
    terminal = None
    if txn.terminal_number is not None:
        terminal = (
            Terminal.objects.filter(merchant_id=txn.merchant_id, terminal_id=txn.terminal_number)
            .only("pk", "store_id")
            .first()
        )
    if terminal is None:
        txn.terminal = None
        txn.store_id = None
        txn.terminal_unresolved = True
        _add_warning(txn, "terminal_unknown")
    else:
        txn.terminal_id = terminal.pk
        txn.store_id = terminal.store_id
        txn.terminal_unresolved = False
        _drop_warning(txn, "terminal_unknown")


def _note_disagreement(txn: Transaction, incoming: str, kind: str, notes: list[str]) -> None:
    current = txn.payment_status
    try:
        both_final = PaymentStatus(incoming).is_final and PaymentStatus(current).is_final
    except ValueError:
        return
    if both_final and incoming != current:
        source = "status inquiry" if kind == EventKind.STATUS_INQUIRY else "notification"
        notes.append(f"{source} says {incoming}, stored status {current} kept")
        _add_warning(txn, f"final_state_disagreement: {incoming} vs {current}")


def _add_warning(txn: Transaction, warning: str) -> None:
    warnings = list(txn.warnings or [])
    if warning not in warnings and len(warnings) < MAX_WARNINGS:
        warnings.append(warning[:200])
        txn.warnings = warnings


def _drop_warning(txn: Transaction, warning: str) -> None:
    if warning in (txn.warnings or []):
        txn.warnings = [w for w in txn.warnings if w != warning]


def _schedule_inquiry(txn: Transaction) -> None:
    if txn.payment_status not in PENDING_STATUSES:
        txn.next_inquiry_at = None
        return
    if txn.next_inquiry_at is None:
        txn.next_inquiry_at = txn.created_at + timedelta(minutes=settings.STATUS_SWEEP_AGE_MINUTES)


def next_inquiry_delay(inquiry_count: int) -> timedelta:
    base = timedelta(minutes=settings.STATUS_SWEEP_AGE_MINUTES)
    return min(base * (2 ** min(inquiry_count, 16)), MAX_INQUIRY_INTERVAL)


# --------------------------------------------------------------------------- balances and state


def _recompute(txn: Transaction, operations: list[Transaction] | None = None) -> None:
    """Balances from the row's own status and its successful operations, then its state."""
    ptype = txn.payment_type
    if ptype in _PAYMENT_TYPES:
        if operations is None:
            operations = list(txn.operations.all()) if txn.pk else []
        done = [op for op in operations if op.payment_status == SUCCESS]
        refunded = sum((op.amount or ZERO for op in done if op.payment_type == PaymentType.REFUND), ZERO)
        captures = sum((op.amount or ZERO for op in done if op.payment_type == PaymentType.CAPTURE), ZERO)
        cancelled = sum(
            (
                op.amount if op.amount is not None else (txn.amount or ZERO)
                for op in done
                if op.payment_type in _CANCELLATION_TYPES
            ),
            ZERO,
        )
        success = txn.payment_status == SUCCESS
        if ptype == PaymentType.AUTHORISATION:
            authorised = txn.amount or ZERO if success else ZERO
            captured = captures
        else:
            paid = success and (txn.payment_method != REFERENCE or txn.reference_status in ("", ReferenceState.PAID))
            authorised = captured = (txn.amount or ZERO) if paid and ptype in _COLLECTING_TYPES else ZERO
        if cancelled and txn.payment_method == REFERENCE and txn.reference_status != ReferenceState.PAID:
            txn.reference_status = ReferenceState.CANCELLED
        txn.authorised_amount, txn.captured_amount = authorised, captured
        txn.refunded_amount, txn.cancelled_amount = refunded, cancelled
    else:
        txn.authorised_amount = txn.captured_amount = txn.refunded_amount = txn.cancelled_amount = ZERO
    txn.state = derive_state(txn)


def derive_state(txn: Transaction) -> str:
    if (
        txn.payment_method == REFERENCE
        and txn.reference_status == ReferenceState.CANCELLED
        and txn.cancelled_amount > ZERO
        and txn.payment_type in _PAYMENT_TYPES
    ):
        # A reference whose cancellation SIBS confirmed is cancelled, whatever its own last status
        # says (Pending from when it was generated, or Declined once SIBS is asked again).
        return TransactionState.CANCELLED
    try:
        status = PaymentStatus(txn.payment_status)
    except ValueError:
        return TransactionState.UNKNOWN
    if status.value in PENDING_STATUSES:
        return TransactionState.PENDING
    if status == PaymentStatus.DECLINED:
        return TransactionState.DECLINED
    if status in (PaymentStatus.ERROR, PaymentStatus.TIMEOUT):
        return TransactionState.FAILED
    if status == PaymentStatus.EXPIRED:
        return TransactionState.EXPIRED
    # Success. Only payment types can be "paid": annulments and unknown types merely succeed.
    ptype = txn.payment_type
    if ptype not in _PAYMENT_TYPES:
        return TransactionState.SUCCEEDED
    if txn.payment_method == REFERENCE or txn.reference_status:
        by_reference = {
            ReferenceState.UNPAID: TransactionState.AWAITING_PAYMENT,
            ReferenceState.EXPIRED: TransactionState.EXPIRED,
            ReferenceState.CANCELLED: TransactionState.CANCELLED,
        }
        if txn.reference_status in by_reference:
            return by_reference[txn.reference_status]
    collected = txn.captured_amount
    if ptype == PaymentType.AUTHORISATION and collected <= ZERO:
        return TransactionState.CANCELLED if txn.cancelled_amount > ZERO else TransactionState.AUTHORISED
    if collected > ZERO and txn.refunded_amount >= collected:
        return TransactionState.REFUNDED
    if txn.refunded_amount > ZERO:
        return TransactionState.PARTIALLY_REFUNDED
    if ptype != PaymentType.AUTHORISATION and collected > ZERO and txn.cancelled_amount >= collected:
        return TransactionState.CANCELLED
    return TransactionState.PAID


# --------------------------------------------------------------------------- operations


def _find_original(op: Transaction) -> int | None:
    payments = Transaction.objects.filter(merchant_id=op.merchant_id, payment_type__in=_PAYMENT_TYPES).exclude(pk=op.pk)
    if op.merchant_transaction_id:
        # An operation the backoffice asked for knows its payment, whatever the notification says.
        from payments.models import PaymentOperation

        asked = (
            PaymentOperation.objects.filter(merchant_id=op.merchant_id, gateway_reference=op.merchant_transaction_id)
            .values_list("original_id", flat=True)
            .first()
        )
        if asked:
            return asked
    if op.original_transaction_ref:
        found = (
            payments.filter(
                Q(transaction_id=op.original_transaction_ref) | Q(secondary_transaction_id=op.original_transaction_ref)
            )
            .values_list("pk", flat=True)
            .first()
        )
        if found:
            return found
    if op.merchant_transaction_id:
        ids = list(payments.filter(merchant_transaction_id=op.merchant_transaction_id).values_list("pk", flat=True)[:2])
        if len(ids) == 1:
            return ids[0]
    return None


def _attach_to_original(op: Transaction, event: TransactionEvent | None) -> bool:
    """Link an operation to its payment when possible and bring the payment up to date.

    ``event`` is the operation's new timeline line, repeated on the payment's timeline when it
    changed the operation. Returns whether the operation is linked.
    """
    linked_now = False
    if op.original_id is None:
        original_pk = _find_original(op)
        if original_pk is None:
            if not op.original_unresolved:
                op.original_unresolved = True
                _add_warning(op, "original_unresolved")
                op.save(update_fields=["original_unresolved", "warnings"])
            return False
        op.original_id = original_pk
        op.original_unresolved = False
        _drop_warning(op, "original_unresolved")
        op.save(update_fields=["original", "original_unresolved", "warnings"])
        linked_now = True
    if not linked_now and (event is None or event.outcome != EventOutcome.APPLIED):
        return True  # nothing about the operation changed: neither has its payment
    original = Transaction.objects.select_for_update().get(pk=op.original_id)
    _refresh_original(original)
    _operation_event(original, op, event=event)
    return True


def operations_relink(*, merchant_id: int | None = None, limit: int = 500) -> int:
    """Try again to link operations whose payment was not found when they arrived.

    Covers the race where an operation and its payment are processed at the same moment by
    two workers and neither sees the other's uncommitted row. Run by the inbound sweep.
    """
    qs = Transaction.objects.filter(original_unresolved=True, original__isnull=True)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    linked = 0
    for pk in list(qs.order_by("-created_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            op = Transaction.objects.select_for_update().filter(pk=pk, original__isnull=True).first()
            if op is not None and _attach_to_original(op, None):
                linked += 1
    return linked


def _refresh_original(original: Transaction) -> None:
    before = (
        original.authorised_amount,
        original.captured_amount,
        original.refunded_amount,
        original.cancelled_amount,
        original.state,
        original.reference_status,
    )
    _recompute(original)
    after = (
        original.authorised_amount,
        original.captured_amount,
        original.refunded_amount,
        original.cancelled_amount,
        original.state,
        original.reference_status,
    )
    if before != after:
        original.save(
            update_fields=[
                "authorised_amount",
                "captured_amount",
                "refunded_amount",
                "cancelled_amount",
                "state",
                "reference_status",
            ]
        )
        rollups.transaction_changed(original)


def _operation_event(original: Transaction, op: Transaction, *, event: TransactionEvent | None) -> None:
    """The operation's line on its payment's timeline (once per notification)."""
    inbound_id = event.inbound_id if event is not None else None
    if inbound_id is not None and TransactionEvent.objects.filter(transaction=original, inbound_id=inbound_id).exists():
        return
    TransactionEvent.objects.create(
        transaction=original,
        merchant_id=original.merchant_id,
        kind=EventKind.OPERATION,
        outcome=event.outcome if event is not None else EventOutcome.APPLIED,
        occurred_at=event.occurred_at if event is not None else op.updated_at,
        sibs_datetime=op.transaction_datetime,
        inbound_id=inbound_id,
        notification_id=event.notification_id if event is not None else "",
        related_transaction=op,
        payment_status=op.payment_status,
        payment_type=op.payment_type,
        return_code=op.return_code,
        return_message=op.return_message,
        amount=op.amount,
        currency=op.currency,
        detail=f"{op.payment_type} {op.transaction_id}",
    )


def _adopt_orphans(payment: Transaction) -> None:
    """Operations that arrived before this payment and point at it."""
    match = Q(original_transaction_ref=payment.transaction_id)
    if payment.merchant_transaction_id:
        unique = (
            Transaction.objects.filter(
                merchant_id=payment.merchant_id,
                payment_type__in=_PAYMENT_TYPES,
                merchant_transaction_id=payment.merchant_transaction_id,
            ).count()
            == 1
        )
        if unique:
            match |= Q(original_transaction_ref="", merchant_transaction_id=payment.merchant_transaction_id)
    orphans = list(
        Transaction.objects.select_for_update()
        .filter(merchant_id=payment.merchant_id, original__isnull=True, payment_type__in=_OPERATION_TYPES)
        .filter(match)
        .order_by("created_at", "pk")
    )
    if not orphans:
        return
    for op in orphans:
        op.original = payment
        op.original_unresolved = False
        _drop_warning(op, "original_unresolved")
        op.save(update_fields=["original", "original_unresolved", "warnings"])
    _refresh_original(payment)
    for op in orphans:
        _operation_event(payment, op, event=None)


# --------------------------------------------------------------------------- events


def _event(
    txn: Transaction,
    *,
    kind: str,
    outcome: str,
    out_of_order: bool,
    payload: PaymentPayload,
    stored_payload: dict[str, Any],
    occurred_at: datetime,
    notification_id: str,
    inbound,
    http_status: int | None,
    detail: str,
) -> TransactionEvent:
    status = payload.return_status
    return TransactionEvent.objects.create(
        transaction=txn,
        merchant_id=txn.merchant_id,
        kind=kind,
        outcome=outcome,
        out_of_order=out_of_order,
        occurred_at=occurred_at,
        sibs_datetime=payload.transaction_datetime,
        inbound=inbound,
        notification_id=notification_id[:255],
        payment_status=_text(payload.payment_status)[:40],
        payment_type=_text(payload.payment_type)[:40],
        return_code=((status.code or "") if status else "")[:64],
        return_message=((status.message or "") if status else "")[:255],
        amount=payload.amount,
        currency=payload.currency or "",
        http_status=http_status,
        detail=detail[:2000],
        payload=stored_payload,
    )


# --- Operation requests settled by SIBS's word ---------------------------------------------------

_SETTLED_BY_STATUS = {
    PaymentStatus.SUCCESS.value: OperationState.SUCCEEDED,
    PaymentStatus.DECLINED.value: OperationState.DECLINED,
    PaymentStatus.ERROR.value: OperationState.FAILED,
    PaymentStatus.TIMEOUT.value: OperationState.FAILED,
    PaymentStatus.EXPIRED.value: OperationState.FAILED,
}


def operation_settle_from_transaction(txn: Transaction, *, operation_pk: int | None = None) -> PaymentOperation | None:
    """SIBS reported the operation ``txn`` (answer, inquiry or notification): settle the request
    that asked for it. Called by the ledger inside its ``atomic()``, after it locked ``txn`` and
    its payment. SIBS's word is final: a request thought failed is corrected when SIBS says it
    went through."""
    requests = PaymentOperation.objects.select_for_update().filter(merchant_id=txn.merchant_id)
    if operation_pk is not None:
        op = requests.filter(pk=operation_pk).first()
    elif txn.merchant_transaction_id:
        op = requests.filter(gateway_reference=txn.merchant_transaction_id).first()
    else:
        op = None
    if op is None or op.state in (OperationState.PENDING_APPROVAL, OperationState.REJECTED):
        return op
    fields = ["updated_at"]
    now = timezone.now()
    if op.result_id != txn.pk:
        op.result = txn
        fields.append("result")
    state = _SETTLED_BY_STATUS.get(txn.payment_status)
    if state is not None and op.state != state:
        before = op.state
        op.state = state
        op.return_code = txn.return_code[:64]
        op.return_message = txn.return_message[:255]
        if state == OperationState.SUCCEEDED:
            op.outcome_detail = _("Done: SIBS confirmed it (%(id)s).") % {"id": txn.transaction_id}
        else:
            op.outcome_detail = describe_code(txn.return_code, txn.return_description or txn.return_message)
        op.settled_at = now
        op.next_inquiry_at = None
        fields += ["state", "return_code", "return_message", "outcome_detail", "settled_at", "next_inquiry_at"]
        if before not in (OperationState.IN_FLIGHT, OperationState.RESERVED):
            # Settled after the fact (by the inquiry or the notification): say so in the log.
            audit.record(
                actor=SYSTEM,
                action=f"payment.{op.kind}_settled",
                merchant=txn.merchant,
                obj=op,
                before={"state": before},
                after={"state": state, "result": txn.transaction_id},
            )
    op.updated_at = now
    op.save(update_fields=fields)
    return op


def describe_code(code: str, description: str = "") -> str:
    """A SIBS result code in words, with SIBS's own description when it adds something."""
    if not code:
        return description
    info = describe(code)
    text = f"{info.merchant_message} ({code})"
    if description and description not in (info.merchant_message, "Success", "Declined", "Error"):
        text += " — " + _("SIBS says: %(description)s") % {"description": description}
    return text
