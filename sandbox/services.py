"""Writes of the simulated gateway: checkouts, executions, operations, simulated customers.

Every function takes validated values (parsing lives in :mod:`sandbox.gateway`), captures
``now`` once, changes rows under a row lock inside one transaction, and writes the notification
of the change in that same transaction (:func:`sandbox.notifications.notification_enqueue`).
A refused request raises :class:`sandbox.answers.GatewayError`; a *declined* operation is a
result, recorded like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from payments.sibs import BadSecretError, decode_secret

from . import magic, wire
from .answers import GatewayError, operation_body
from .models import (
    AckExpectation,
    NotificationStyle,
    SandboxMerchant,
    SandboxOperation,
    SandboxPayment,
    SandboxTerminalMethods,
)
from .notifications import notification_enqueue

logger = logging.getLogger(__name__)

CHECKOUT_VALIDITY = timedelta(minutes=10)  # "expiry" of the SIBS examples: ten minutes
RESOLVE_BATCH = 200

Ref = SandboxPayment.ReferenceState


# --------------------------------------------------------------------------- configuration


def sandbox_configure(
    *,
    client_id: str,
    bearer_token: str,
    terminal_ids: list[int],
    notification_url: str,
    notification_secret: str,
    merchant_name: str,
    notification_style: str | None = None,
    ack_expectation: str | None = None,
    retry_unit_seconds: int | None = None,
    customer_delay_seconds: int | None = None,
    delivery_timeout_seconds: int | None = None,
    reference_entity: str | None = None,
) -> SandboxMerchant:
    """Create or update the sandbox client ``client_id`` (idempotent).

    ``notification_secret`` is the Base64 webhook secret (32 bytes) the receiver decrypts with;
    an empty ``notification_url`` or secret means no notifications are sent. The optional
    arguments change only what is passed. Raises ``ValueError`` with a readable message.
    """
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise ValueError("client_id must be 1 to 64 characters")
    if not (bearer_token or "").strip():
        raise ValueError("bearer_token must not be empty")
    if not (merchant_name or "").strip() or len(merchant_name.strip()) > 100:
        raise ValueError("merchant_name must be 1 to 100 characters")
    terminals = _terminal_list(terminal_ids)
    notification_url = (notification_url or "").strip()
    if notification_url and (not notification_url.startswith(("http://", "https://")) or len(notification_url) > 500):
        raise ValueError("notification_url must be an http:// or https:// URL of at most 500 characters (or empty)")
    notification_secret = (notification_secret or "").strip()
    if notification_secret:
        try:
            decode_secret(notification_secret)
        except BadSecretError as exc:
            raise ValueError(f"notification_secret: {exc}") from None
    defaults: dict[str, Any] = {
        "bearer_token": bearer_token.strip(),
        "terminal_ids": terminals,
        "notification_url": notification_url,
        "notification_secret": notification_secret,
        "merchant_name": merchant_name.strip(),
    }
    if notification_style is not None:
        if notification_style not in NotificationStyle.values:
            raise ValueError(f"notification_style must be one of {', '.join(NotificationStyle.values)}")
        defaults["notification_style"] = notification_style
    if ack_expectation is not None:
        if ack_expectation not in AckExpectation.values:
            raise ValueError(f"ack_expectation must be one of {', '.join(AckExpectation.values)}")
        defaults["ack_expectation"] = ack_expectation
    for name, value, low in (
        ("retry_unit_seconds", retry_unit_seconds, 1),
        ("customer_delay_seconds", customer_delay_seconds, 0),
        ("delivery_timeout_seconds", delivery_timeout_seconds, 1),
    ):
        if value is not None:
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number of at least {low}")
            defaults[name] = value
    if reference_entity is not None:
        if not (reference_entity.isdigit() and len(reference_entity) == 5):
            raise ValueError("reference_entity must be 5 digits")
        defaults["reference_entity"] = reference_entity
    merchant, _ = SandboxMerchant.objects.update_or_create(client_id=client_id, defaults=defaults)
    return merchant


def _terminal_list(terminal_ids: list[int]) -> list[int]:
    terminals: list[int] = []
    for value in terminal_ids or []:
        if isinstance(value, bool):
            raise ValueError("terminal ids must be whole numbers")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"terminal id {value!r} is not a whole number") from None
        if not 0 < number < 10**10:
            raise ValueError(f"terminal id {number} must have 1 to 10 digits")
        if number not in terminals:
            terminals.append(number)
    if not terminals:
        raise ValueError("at least one terminal id is needed")
    return terminals


# --------------------------------------------------------------------------- helpers


def _lock(payment: SandboxPayment) -> SandboxPayment:
    return SandboxPayment.objects.select_for_update().select_related("merchant").get(pk=payment.pk)


def _apply(payment: SandboxPayment, outcome: magic.Outcome) -> None:
    payment.status = outcome.status
    payment.return_code = outcome.code
    payment.return_message = outcome.message
    payment.return_description = "" if outcome.code == "000" else outcome.description
    if outcome.status == "Success" and not payment.internal_transaction_id:
        payment.internal_transaction_id = wire.new_internal_transaction_id()


def _check_unique_merchant_tx(merchant: SandboxMerchant, terminal_id: int, merchant_transaction_id: str) -> None:
    existing = SandboxPayment.objects.filter(
        merchant=merchant, terminal_id=terminal_id, merchant_transaction_id=merchant_transaction_id
    ).first()
    if existing is not None:
        raise GatewayError(
            "12.110.1201",
            f"merchantTransactionId {merchant_transaction_id!r} was already used on terminal {terminal_id} "
            f"(transaction {existing.transaction_id}); use a new one for each checkout.",
        )


def _create_payment(**fields: Any) -> SandboxPayment:
    # The unique constraint settles a race the check above can lose.
    try:
        with transaction.atomic():
            return SandboxPayment.objects.create(**fields)
    except IntegrityError:
        raise GatewayError(
            "12.110.1201",
            f"merchantTransactionId {fields.get('merchant_transaction_id')!r} was already used on terminal "
            f"{fields.get('terminal_id')}.",
        ) from None


def _check_executable(payment: SandboxPayment, methods: tuple[str, ...], now: datetime) -> None:
    if payment.kind != SandboxPayment.Kind.CHECKOUT:
        raise GatewayError("12.110.1301", "This transaction is not a checkout; it cannot be executed.")
    if not any(method in payment.payment_methods for method in methods):
        raise GatewayError(
            "12.110.1301",
            f"{' or '.join(methods)} was not offered in this checkout (paymentMethod {payment.payment_methods}).",
        )
    if payment.payment_method or payment.status != "Pending":
        raise GatewayError(
            "12.110.1301",
            f"Transaction {payment.transaction_id} was already processed "
            f"({payment.payment_method or 'no method'}, {payment.status}); create a new checkout.",
        )
    if payment.expires_at and now > payment.expires_at:
        raise GatewayError(
            "12.110.1301",
            f"The checkout expired at {wire.iso_millis(payment.expires_at)}; create a new checkout.",
        )


# --------------------------------------------------------------------------- checkout


@transaction.atomic
def checkout_create(
    *,
    merchant: SandboxMerchant,
    terminal_id: int,
    merchant_transaction_id: str,
    channel: str,
    description: str,
    payment_type: str,
    payment_methods: list[str],
    amount: Decimal,
    currency: str,
    tokenise: bool,
    reference_entity: str | None,
    reference_expires_at: datetime | None,
    mit: dict[str, Any] | None,
    request_body: dict[str, Any],
    now: datetime,
) -> tuple[SandboxPayment, str]:
    """``POST /payments``: a pending transaction and its ``transactionSignature``."""
    _check_unique_merchant_tx(merchant, terminal_id, merchant_transaction_id)
    transaction_id = wire.new_transaction_id()
    signature = wire.new_signature(transaction_id, terminal_id=terminal_id, merchant_code=merchant.pk)
    payment = _create_payment(
        merchant=merchant,
        transaction_id=transaction_id,
        signature_hash=wire.signature_hash(signature),
        terminal_id=terminal_id,
        merchant_transaction_id=merchant_transaction_id,
        channel=channel,
        description=description,
        payment_type=payment_type,
        payment_methods=payment_methods,
        amount=amount,
        currency=currency,
        tokenise=tokenise,
        reference_entity=reference_entity or "",
        reference_expires_at=reference_expires_at,
        mit=mit,
        created_at=now,
        expires_at=now + CHECKOUT_VALIDITY,
        request_body=wire.plain(request_body),
    )
    return payment, signature


# --------------------------------------------------------------------------- execution


def _forced(forced: str | None, default: magic.Outcome) -> magic.Outcome:
    if forced == "success":
        return magic.SUCCESS
    if forced == "decline":
        return magic.FORCED_DECLINE
    return default


@transaction.atomic
def mbway_purchase(*, payment: SandboxPayment, phone: str, forced: str | None, now: datetime) -> SandboxPayment:
    """``mbway-id/purchase``: the request reaches the customer's phone; they answer after the
    merchant's ``customer_delay_seconds`` (at once when 0)."""
    payment = _lock(payment)
    _check_executable(payment, ("MBWAY",), now)
    outcome = _forced(forced, magic.mbway_outcome(phone, payment.amount))
    payment.payment_method = "MBWAY"
    payment.phone = phone
    payment.executed_at = now
    payment.pending_outcome = {"Success": "success", "Declined": "decline"}.get(outcome.status, "timeout")
    delay = payment.merchant.customer_delay_seconds
    payment.resolve_at = now + timedelta(seconds=delay)
    payment.save()
    if delay == 0:
        _resolve(payment, now)
    return payment


@transaction.atomic
def reference_generate(*, payment: SandboxPayment, forced: str | None, now: datetime) -> SandboxPayment:
    """``service-reference/generate``: a MULTIBANCO reference, UNPAID until paid or expired."""
    payment = _lock(payment)
    _check_executable(payment, ("REFERENCE",), now)
    payment.payment_method = "REFERENCE"
    payment.executed_at = now
    if forced == "decline":
        _apply(
            payment,
            magic.Outcome(
                "Declined", "10.107.0010", "Declined", "Reference generation not allowed for the payment entity"
            ),
        )
        payment.save()
        return payment
    payment.reference_entity = payment.reference_entity or payment.merchant.reference_entity
    payment.reference = wire.new_reference()
    payment.reference_status = Ref.UNPAID
    if not payment.reference_expires_at:
        payment.reference_expires_at = now + timedelta(days=3)
    outcome = magic.reference_outcome(payment.amount)
    if outcome:
        payment.pending_outcome = outcome
        payment.resolve_at = now + timedelta(seconds=payment.merchant.customer_delay_seconds)
    payment.save()
    notification_enqueue(payment=payment, event="reference.generated", now=now)
    if outcome and payment.resolve_at <= now:
        _resolve(payment, now)
    return payment


@transaction.atomic
def reference_settle(*, payment: SandboxPayment, outcome: str, delay_seconds: int, now: datetime) -> SandboxPayment:
    """Control API: the customer pays the reference (``pay``) or lets it expire (``expire``)."""
    payment = _lock(payment)
    if payment.payment_method != "REFERENCE" or not payment.reference:
        raise GatewayError("10.107.0011", "Payment reference not found: generate a reference first.")
    _check_reference_unpaid(payment)
    payment.pending_outcome = outcome
    payment.resolve_at = now + timedelta(seconds=delay_seconds)
    payment.save()
    if delay_seconds == 0:
        _resolve(payment, now)
    return payment


def _check_reference_unpaid(payment: SandboxPayment) -> None:
    if payment.reference_status == Ref.PAID:
        raise GatewayError("10.107.0013", "Payment reference already paid.")
    if payment.reference_status in {Ref.EXPIRED, Ref.CANCELLED}:
        raise GatewayError("10.107.0012", f"Payment reference is cancelled ({payment.reference_status.lower()}).")


@dataclass(frozen=True, slots=True)
class CardInput:
    pan: str
    expired: bool


def _finish_card(payment: SandboxPayment, outcome: magic.Outcome, now: datetime) -> None:
    _apply(payment, outcome)
    payment.card_outcome = ""
    if outcome.status == "Success" and payment.tokenise and not payment.card_token:
        payment.card_token = wire.new_card_token()
    payment.save()
    notification_enqueue(payment=payment, event="card", now=now)


@transaction.atomic
def card_purchase(
    *, payment: SandboxPayment, card: CardInput, tokenise: bool, forced: str | None, now: datetime
) -> SandboxPayment:
    """``card/purchase`` (server to server): success, decline, error, or 3-D Secure pending."""
    payment = _lock(payment)
    _check_executable(payment, ("CARD",), now)
    payment.payment_method = "CARD"
    payment.card_masked_pan = magic.mask_pan(card.pan)
    payment.tokenise = payment.tokenise or tokenise
    payment.executed_at = now
    outcome = magic.CARD_EXPIRED_OUTCOME if card.expired else magic.card_outcome(card.pan)
    if forced in {"success", "decline"}:
        outcome = _forced(forced, magic.SUCCESS)
    if outcome is None:
        payment.status = "Partial"
        payment.card_outcome = "3ds"
        payment.save()
        return payment
    _finish_card(payment, outcome, now)
    return payment


@transaction.atomic
def card_action(*, payment: SandboxPayment, executed: bool, forced: str | None, now: datetime) -> SandboxPayment:
    """The second ``card/purchase``, with ``actionProcessed``: 3-D Secure done (or failed)."""
    payment = _lock(payment)
    if payment.payment_method != "CARD" or payment.status != "Partial":
        raise GatewayError("12.110.1301", "No 3-D Secure action is pending on this transaction.")
    outcome = magic.SUCCESS if executed else magic.CARD_3DS_FAILED
    _finish_card(payment, _forced(forced, outcome), now)
    return payment


@transaction.atomic
def token_purchase(*, payment: SandboxPayment, token: str, forced: str | None, now: datetime) -> SandboxPayment:
    """``token/purchase``: charge a card token issued earlier to the same merchant."""
    payment = _lock(payment)
    _check_executable(payment, ("TOKEN", "CARD"), now)
    source = (
        SandboxPayment.objects.filter(merchant=payment.merchant, card_token=token)
        .exclude(pk=payment.pk)
        .order_by("created_at")
        .first()
    )
    if source is None:
        raise GatewayError("12.110.1301", "tokenInfo.value is not a card token of this merchant.")
    payment.payment_method = "TOKEN"
    payment.card_token = token
    payment.card_masked_pan = source.card_masked_pan
    payment.executed_at = now
    _apply(payment, _forced(forced, magic.SUCCESS))
    payment.save()
    notification_enqueue(payment=payment, event="token", now=now)
    return payment


@transaction.atomic
def mit_charge(
    *,
    original: SandboxPayment,
    terminal_id: int,
    merchant_transaction_id: str,
    description: str,
    amount: Decimal,
    currency: str,
    mit: dict[str, Any],
    forced: str | None,
    request_body: dict[str, Any],
    now: datetime,
) -> SandboxPayment:
    """A merchant-initiated charge (``MITR``) against a successful card CIT or tokenised card."""
    original = _lock(original)
    if original.status != "Success" or original.payment_method not in {"CARD", "TOKEN"}:
        raise GatewayError(
            "12.110.1301",
            "The original transaction must be a successful card payment (a CIT or a tokenised card).",
        )
    if not (original.mit or original.card_token):
        raise GatewayError(
            "12.110.1301",
            "The original transaction set up no merchant-initiated transactions "
            "(send merchantInitiatedTransaction at checkout, or tokenise the card).",
        )
    _check_unique_merchant_tx(original.merchant, terminal_id, merchant_transaction_id)
    payment = _create_payment(
        merchant=original.merchant,
        kind=SandboxPayment.Kind.MIT,
        transaction_id=wire.new_transaction_id(),
        terminal_id=terminal_id,
        merchant_transaction_id=merchant_transaction_id,
        description=description,
        payment_type="MITR",
        payment_methods=["CARD"],
        payment_method="CARD",
        amount=amount,
        currency=currency,
        card_masked_pan=original.card_masked_pan,
        mit=mit,
        original=original,
        created_at=now,
        executed_at=now,
        request_body=wire.plain(request_body),
    )
    _apply(payment, _forced(forced, magic.SUCCESS))
    payment.save()
    notification_enqueue(payment=payment, event="mit", now=now)
    return payment


@transaction.atomic
def qrcode_purchase(
    *,
    merchant: SandboxMerchant,
    terminal_id: int,
    amount: Decimal,
    currency: str,
    financial_operation: dict[str, Any],
    now: datetime,
) -> SandboxPayment:
    """A customer paid a static QR code (QR Code Express) with the MB WAY app: no API call on
    the merchant's side, only the notification."""
    payment = SandboxPayment.objects.create(
        merchant=merchant,
        kind=SandboxPayment.Kind.QRCODE,
        transaction_id=wire.new_qrcode_transaction_id(),
        terminal_id=terminal_id,
        merchant_transaction_id=None,
        payment_type="PURS",
        payment_methods=["STATIC_QRCODE"],
        payment_method="STATIC_QRCODE",
        amount=amount,
        currency=currency,
        # JSON numbers, as in the SIBS example: a two-decimal float round-trips through its repr
        # (notifications turn it back into an exact Decimal before sending).
        financial_operation=_numbers(financial_operation),
        created_at=now,
        executed_at=now,
    )
    _apply(payment, magic.SUCCESS)
    payment.save()
    notification_enqueue(payment=payment, event="qrcode", now=now)
    return payment


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(key): _numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers(item) for item in value]
    return value


# --------------------------------------------------------------------------- simulated customers


def _resolve(payment: SandboxPayment, now: datetime) -> None:
    """Apply what the simulated customer decided (``payment`` is locked by the caller)."""
    outcome = payment.pending_outcome
    payment.pending_outcome = ""
    payment.resolve_at = None
    if payment.payment_method == "MBWAY" and payment.status == "Pending":
        result = {"success": magic.SUCCESS, "decline": magic.MBWAY_DECLINED}.get(outcome, magic.MBWAY_TIMEOUT)
        _apply(payment, result)
        payment.save()
        notification_enqueue(payment=payment, event="mbway", now=now)
        return
    if payment.payment_method == "REFERENCE" and payment.reference_status == Ref.UNPAID:
        if outcome == "pay":
            payment.reference_status = Ref.PAID
            _apply(payment, magic.SUCCESS)
            payment.save()
            notification_enqueue(payment=payment, event="reference.paid", now=now)
        else:
            payment.reference_status = Ref.EXPIRED
            # Expired now, even when the test amount made it expire before its date: a reference
            # shown as expired never carries an expiry still to come.
            if payment.reference_expires_at is None or payment.reference_expires_at > now:
                payment.reference_expires_at = now
            _apply(payment, magic.Outcome("Expired", "E0612", "Expired", "Payment reference is cancelled (expired)."))
            payment.save()
            notification_enqueue(payment=payment, event="reference.expired", now=now)
        return
    payment.save()


def _due(now: datetime) -> Q:
    return Q(resolve_at__lte=now) | Q(reference_status=Ref.UNPAID, reference_expires_at__lte=now)


@transaction.atomic
def payment_resolve(payment: SandboxPayment, *, now: datetime) -> SandboxPayment:
    """Settle a payment whose simulated customer is due to act (no-op otherwise)."""
    payment = _lock(payment)
    if payment.resolve_at and payment.resolve_at <= now:
        _resolve(payment, now)
    elif (
        payment.reference_status == Ref.UNPAID
        and payment.reference_expires_at
        and payment.reference_expires_at <= now
        and payment.pending_outcome != "pay"
    ):
        payment.pending_outcome = "expire"
        _resolve(payment, now)
    return payment


def payment_is_due(payment: SandboxPayment, now: datetime) -> bool:
    return bool(
        (payment.resolve_at and payment.resolve_at <= now)
        or (
            payment.reference_status == Ref.UNPAID
            and payment.reference_expires_at
            and payment.reference_expires_at <= now
        )
    )


def payments_resolve_due(*, now: datetime, limit: int = RESOLVE_BATCH) -> int:
    """Let every due simulated customer act (the periodic tick calls this)."""
    due = list(SandboxPayment.objects.filter(_due(now)).order_by("pk")[:limit])
    for payment in due:
        try:
            payment_resolve(payment, now=now)
        except Exception:
            logger.exception("sandbox: resolving payment %s failed", payment.transaction_id)
    return len(due)


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    amount: Decimal
    payment_type: str
    code: str = "000"
    message: str = "Success"
    description: str = "Success"


def _decline(amount: Decimal | None, payment_type: str, description: str, code: str = "E0119") -> _Verdict:
    return _Verdict(False, amount or Decimal("0.00"), payment_type, code, "Declined", description)


def _eur(value: Decimal, currency: str) -> str:
    return f"{wire.money_text(value)} {currency}"


def _judge(payment: SandboxPayment, kind: str, amount: Decimal | None) -> _Verdict:
    """SIBS's rules for refunds, captures and cancellations (PROTOCOL.md §2.7)."""
    c = payment.currency
    if kind == SandboxOperation.Kind.REFUND:
        if payment.payment_method == "REFERENCE":
            return _decline(
                amount, "RFND", "Invalid operation: a MULTIBANCO payment cannot be refunded.", code="10.107.0014"
            )
        if payment.status != "Success":
            return _decline(amount, "RFND", f"Nothing to refund: the transaction is {payment.status}.")
        if payment.is_authorisation and payment.captured_amount == 0:
            return _decline(amount, "RFND", "Nothing to refund: the authorisation was not captured; cancel it instead.")
        refundable = payment.refundable_amount
        if refundable == 0:
            return _decline(amount, "RFND", "Nothing left to refund: the transaction is fully refunded.")
        amount = refundable if amount is None else amount
        if amount > refundable:
            return _decline(
                amount,
                "RFND",
                f"Refund of {_eur(amount, c)} exceeds the refundable balance of {_eur(refundable, c)}.",
            )
        return _Verdict(True, amount, "RFND")

    if kind == SandboxOperation.Kind.CAPTURE:
        if not payment.is_authorisation:
            return _decline(
                amount, "CAPT", f"Only an authorisation (AUTH) can be captured; this is {payment.payment_type}."
            )
        if payment.status != "Success":
            return _decline(amount, "CAPT", f"Nothing to capture: the authorisation is {payment.status}.")
        capturable = payment.capturable_amount
        if capturable == 0:
            return _decline(
                amount,
                "CAPT",
                f"Nothing left to capture: {_eur(payment.captured_amount, c)} captured and "
                f"{_eur(payment.cancelled_amount, c)} cancelled of {_eur(payment.amount, c)} authorised.",
            )
        amount = capturable if amount is None else amount
        if amount > capturable:
            return _decline(
                amount,
                "CAPT",
                f"Capture of {_eur(amount, c)} exceeds the capturable balance of {_eur(capturable, c)} "
                f"({_eur(payment.amount, c)} authorised).",
            )
        return _Verdict(True, amount, "CAPT")

    # Cancellation: an uncaptured authorisation, or an unpaid MULTIBANCO reference.
    if payment.payment_method == "REFERENCE":
        if payment.reference_status == Ref.PAID:
            return _decline(amount, "CPRF", "Payment reference already paid.", code="10.107.0013")
        if payment.reference_status in {Ref.EXPIRED, Ref.CANCELLED}:
            return _decline(amount, "CPRF", "Payment reference is cancelled.", code="10.107.0012")
        if payment.reference_status != Ref.UNPAID:
            return _decline(amount, "CPRF", "No reference was generated for this transaction.", code="10.107.0011")
        if amount is not None and amount != payment.amount:
            return _decline(amount, "CPRF", f"A MULTIBANCO reference is cancelled in full ({_eur(payment.amount, c)}).")
        return _Verdict(True, payment.amount, "CPRF")
    if not payment.is_authorisation:
        return _decline(
            amount,
            "CAUT",
            "Only an authorisation (AUTH) or an unpaid MULTIBANCO reference can be cancelled; "
            "refund a purchase instead.",
        )
    if payment.status != "Success":
        return _decline(amount, "CAUT", f"Nothing to cancel: the authorisation is {payment.status}.")
    if payment.captured_amount > 0:
        return _decline(
            amount,
            "CAUT",
            f"The authorisation was already captured ({_eur(payment.captured_amount, c)}); "
            "refund instead of cancelling.",
        )
    capturable = payment.capturable_amount
    if capturable == 0:
        return _decline(amount, "CAUT", "The authorisation is already cancelled.")
    amount = capturable if amount is None else amount
    if amount > capturable:
        return _decline(
            amount,
            "CAUT",
            f"Cancellation of {_eur(amount, c)} exceeds the uncaptured balance of {_eur(capturable, c)}.",
        )
    return _Verdict(True, amount, "CAUT")


@dataclass(frozen=True, slots=True)
class OperationResult:
    operation: SandboxOperation
    replayed: bool


@transaction.atomic
def operation_apply(
    *,
    payment: SandboxPayment,
    kind: str,
    amount: Decimal | None,
    currency: str | None,
    merchant_transaction_id: str,
    forced: str | None,
    request_body: dict[str, Any],
    now: datetime,
) -> OperationResult:
    """Refund, capture or cancel ``payment``, under its row lock so that two concurrent
    partial refunds can never exceed what was paid.

    The same ``merchantTransactionId`` for the same kind of operation on the same payment is an
    idempotent retry: the first result is returned again and nothing moves.
    """
    payment = _lock(payment)
    if merchant_transaction_id:
        existing = payment.operations.filter(kind=kind, merchant_transaction_id=merchant_transaction_id).first()
        if existing is not None:
            if amount is not None and amount != existing.amount:
                raise GatewayError(
                    "E0101",
                    f"merchantTransactionId {merchant_transaction_id!r} was already used for a {kind} of "
                    f"{_eur(existing.amount, existing.currency)}; use a new one for a different operation.",
                )
            return OperationResult(existing, replayed=True)
    if currency is not None and currency != payment.currency:
        raise GatewayError("E0101", f"currency {currency!r} does not match the transaction's ({payment.currency}).")

    verdict = _judge(payment, kind, amount)
    forced_decline = verdict.ok and forced == "decline"
    if forced_decline:
        outcome = magic.FORCED_DECLINE
        verdict = _Verdict(
            False, verdict.amount, verdict.payment_type, outcome.code, outcome.message, outcome.description
        )
    operation = SandboxOperation.objects.create(
        payment=payment,
        kind=kind,
        transaction_id=wire.new_transaction_id(),
        merchant_transaction_id=merchant_transaction_id,
        payment_type=verdict.payment_type,
        amount=verdict.amount,
        currency=payment.currency,
        status="Success" if verdict.ok else "Declined",
        return_code=verdict.code,
        return_message=verdict.message,
        return_description="" if verdict.ok else verdict.description,
        created_at=now,
        request_body=wire.plain(request_body),
    )
    if verdict.ok:
        if kind == SandboxOperation.Kind.REFUND:
            payment.refunded_amount += verdict.amount
        elif kind == SandboxOperation.Kind.CAPTURE:
            payment.captured_amount += verdict.amount
        elif payment.payment_method == "REFERENCE":
            payment.reference_status = Ref.CANCELLED
            payment.pending_outcome = ""
            payment.resolve_at = None
            _apply(payment, magic.Outcome("Declined", "10.107.0012", "Declined", "Payment reference is cancelled."))
        else:
            payment.cancelled_amount += verdict.amount
        payment.save()
    operation.response_body = wire.plain(operation_body(operation, started=now))
    operation.save(update_fields=["response_body"])
    # Business-rule refusals are answered synchronously only; a real (here: forced) decline is
    # an outcome of processing and is notified like a success.
    if verdict.ok or forced_decline:
        notification_enqueue(payment=payment, operation=operation, event=kind, now=now)
    return OperationResult(operation, replayed=False)


def terminal_active_methods(
    merchant: SandboxMerchant, terminal_id: int, *, default: tuple[str, ...]
) -> tuple[str, ...]:
    """The methods active at the gateway for a terminal (``paymentMethodList``)."""
    row = SandboxTerminalMethods.objects.filter(merchant=merchant, terminal_id=terminal_id).first()
    return tuple(row.methods) if row is not None else default


def terminal_methods_set(*, merchant: SandboxMerchant, terminal_id: int, methods: list[str], known: tuple[str, ...]):
    """Set the methods active for one of the client's terminals (idempotent). Raises ``ValueError``."""
    if terminal_id not in merchant.terminal_ids:
        raise ValueError(f"terminal {terminal_id} is not a terminal of this client")
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise ValueError(f"unknown payment methods {unknown}; known: {', '.join(known)}")
    row, _created = SandboxTerminalMethods.objects.update_or_create(
        merchant=merchant, terminal_id=terminal_id, defaults={"methods": list(dict.fromkeys(methods))}
    )
    return row
