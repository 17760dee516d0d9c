"""Asking a customer to pay: an MB WAY push or a MULTIBANCO reference, through SIBS's
server-to-server checkout (seed 003), with the safety of the money operations.

The life of one request (``PaymentRequest``):

1. **Check and reserve.** The caller may request payments on that terminal's store; the amount
   is more than zero and at most ``PAYMENT_REQUEST_MAX_AMOUNT``; the phone or the entity and
   validity are well formed; a gateway credential applies. Then one row is inserted, keyed by the
   client's idempotency key (unique per merchant): a double click or a retried API call finds
   that row and gets it back without a second checkout. The same key with another request is
   refused.
2. **Checkout** (``POST /payments``, Bearer), claimed with a conditional UPDATE
   ``reserved -> in_flight`` and made outside any database transaction, never retried by itself.
3. **Execution** with ``Authorization: Digest <transactionSignature>``: the MB WAY purchase (the
   customer gets a push in the app) or the reference generation.
4. **Record.** The execution answer becomes the payment's ordinary ``Transaction`` (through the
   ledger, with the same precedence rules as notifications), and the request is ``sent``: from
   then on notifications and status inquiries move the transaction, and refunds and cancellations
   are made from it like any other.

A refusal by SIBS (HTTP 4xx: a bad phone, a method not active on the terminal, an amount out of
bounds) leaves the request ``failed`` with the catalogue's words, and no transaction. A lost
answer (read timeout, HTTP 408/429/5xx, an unreadable 2xx) leaves it ``unknown``: the status
inquiry (by ``merchantTransactionId`` when the checkout answer was lost, by ``transactionID``
otherwise) settles it to ``sent`` or ``failed``. Nothing is ever sent twice.
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

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import SYSTEM, Actor
from backoffice.models import Terminal
from backoffice.roles import Capability
from payments.models import GatewayCredential, ReferenceState, Transaction
from payments.requests.models import PaymentRequest, RequestLanguage, RequestMethod, RequestState
from payments.services import inquiry, ledger
from payments.services.gateway import client_for, credential_for_transaction
from payments.services.operations import OperationError, parse_amount
from payments.sibs.checkout import (
    CheckoutAnswerError,
    checkout_body,
    normalise_phone,
    parse_checkout_answer,
    reference_generate_body,
)
from payments.sibs.client import (
    SibsApiError,
    SibsHttpError,
    SibsInvalidResponseError,
    SibsTransportError,
    encode_body,
)
from payments.sibs.enums import PaymentStatus
from payments.sibs.errors import describe
from payments.sibs.notification import NotificationError, mask_token_value, parse_status_response

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
MAX_ORDER_REFERENCE = 64
MAX_DESCRIPTION = 70
DEFAULT_MAX_AMOUNT = Decimal("10000.00")
MIN_VALIDITY = timedelta(hours=1)
MAX_VALIDITY = timedelta(days=90)
# An unknown outcome is first asked about after this, then less and less often.
FIRST_INQUIRY_DELAY = timedelta(seconds=30)
MAX_INQUIRY_INTERVAL = timedelta(hours=1)
# "Not found" proves a call was never processed only once SIBS had time to finish it.
NOT_FOUND_GRACE = timedelta(seconds=90)
STALE_RESERVATION = timedelta(minutes=10)
STALE_IN_FLIGHT = timedelta(minutes=2)
# An open page asks SIBS about an MB WAY request at most this often (the customer answers within
# minutes); a reference, which waits days, every PAYMENT_REQUEST_REFERENCE_CHECK_SECONDS.
MBWAY_CHECK_INTERVAL = timedelta(seconds=5)
REMINDER_INTERVAL = timedelta(hours=24)
EXECUTION_ACTION = {RequestMethod.MBWAY: "mbway-id/purchase", RequestMethod.REFERENCE: "service-reference/generate"}


class PaymentRequestError(Exception):
    """A request refused before anything was sent. ``code`` is stable; ``message`` is for people;
    ``status`` is the HTTP status the API answers with; ``field`` the input at fault."""

    def __init__(self, message: str, *, code: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field


@dataclass(frozen=True)
class RequestResult:
    request: PaymentRequest
    # True when the idempotency key was seen before: nothing new was sent to SIBS.
    replayed: bool


def max_amount() -> Decimal:
    return Decimal(str(getattr(settings, "PAYMENT_REQUEST_MAX_AMOUNT", DEFAULT_MAX_AMOUNT)))


def check_interval(method: str) -> timedelta:
    if method == RequestMethod.MBWAY:
        return MBWAY_CHECK_INTERVAL
    return timedelta(seconds=int(getattr(settings, "PAYMENT_REQUEST_REFERENCE_CHECK_SECONDS", 60)))


def describe_code(code: str, description: str = "") -> str:
    """A SIBS result code in words in the active language, with SIBS's own text when it adds."""
    if not code:
        return description
    language = "pt-PT" if (get_language() or "").startswith("pt") else "en"
    info = describe(code, language=language)
    text = f"{info.merchant_message} ({code})"
    if description and description not in (info.merchant_message, "Success", "Declined", "Error"):
        text += " — " + _("SIBS says: %(description)s") % {"description": description}
    return text


# --------------------------------------------------------------------------- input


def _fail(message: str, code: str, field: str | None = None, status: int = 400) -> PaymentRequestError:
    return PaymentRequestError(message, code=code, field=field, status=status)


def clean_phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except ValueError as error:
        reason = str(error)
        if reason == "empty":
            message = _("Enter the customer's MB WAY phone number.")
        elif reason == "country":
            message = _("Write a foreign number with its country code and #, e.g. 34#612345678.")
        elif reason == "mobile":
            message = _("A Portuguese MB WAY number is a mobile number: 9 digits starting with 91, 92, 93 or 96.")
        else:
            message = _("Enter the phone as 912345678, +351 912345678 or 351#912345678.")
        raise _fail(message, "invalid_phone", "phone") from None


def _clean_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise _fail(
            _("An idempotency key is required so that a repeated request cannot ask the customer twice."),
            "idempotency_key_missing",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise _fail(
            _("The idempotency key must be at most %(n)s printable characters.") % {"n": MAX_KEY_LENGTH},
            "idempotency_key_invalid",
        )
    return key


def _clean_text(value: Any, *, field: str, max_length: int, required: bool, label: str) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(_("%(label)s must be text.") % {"label": label}, f"invalid_{field}", field)
    text = " ".join(value.split())
    if required and not text:
        raise _fail(_("Enter the %(label)s.") % {"label": label.lower()}, f"{field}_required", field)
    if len(text) > max_length:
        raise _fail(
            _("%(label)s can have at most %(n)s characters.") % {"label": label, "n": max_length},
            f"invalid_{field}",
            field,
        )
    if not text.isprintable():
        raise _fail(
            _("%(label)s contains characters that cannot be sent.") % {"label": label}, f"invalid_{field}", field
        )
    return text


def credential_for_terminal(terminal: Terminal) -> GatewayCredential | None:
    """The most specific active credential for a terminal (terminal, then store, then merchant)."""
    probe = Transaction(merchant_id=terminal.merchant_id, store_id=terminal.store_id, terminal_id=terminal.pk)
    return credential_for_transaction(probe)


def fingerprint(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _replay(existing: PaymentRequest, fp: str) -> RequestResult:
    if existing.fingerprint != fp:
        raise _fail(
            _("This idempotency key was already used for a different request. Use a new key for a new request."),
            "idempotency_key_reused",
            status=422,
        )
    return RequestResult(existing, replayed=True)


def can_request_on(access: Access, terminal: Terminal) -> bool:
    return (
        access.can(Capability.REQUEST_PAYMENTS)
        and terminal.merchant_id == access.merchant.pk
        and access.allows_store(terminal.store_id)
    )


# --------------------------------------------------------------------------- creating


def payment_request_create(
    *,
    access: Access,
    actor: Actor,
    terminal: Terminal,
    method: str,
    amount: Any,
    order_reference: str,
    description: str = "",
    phone: str = "",
    reference_entity: str = "",
    valid_until: datetime | None = None,
    customer_email: str = "",
    language: str = RequestLanguage.PORTUGUESE,
    idempotency_key: str,
    gateway_headers: dict[str, str] | None = None,
) -> RequestResult:
    """Check, reserve and send one payment request. Raises :class:`PaymentRequestError` when it
    is refused before anything was sent (nothing is stored), ``PermissionDenied`` when the caller
    may not ask on that terminal. ``gateway_headers`` go with the execution call (the sandbox's
    test switches)."""
    access.require(Capability.REQUEST_PAYMENTS)
    if terminal.merchant_id != access.merchant.pk:
        raise PermissionDenied(_("This terminal belongs to another merchant."))
    if not access.allows_store(terminal.store_id):
        raise PermissionDenied(_("You can only ask for payments in the stores you have access to."))
    key = _clean_key(idempotency_key)
    if method not in RequestMethod.values:
        raise _fail(_("Choose MB WAY or MULTIBANCO reference."), "invalid_method", "method")
    try:
        amount = parse_amount(amount, "EUR")
    except OperationError as error:
        raise _fail(error.message, "invalid_amount", "amount") from None
    if amount is None:
        raise _fail(_("Enter the amount."), "invalid_amount", "amount")
    if amount > max_amount():
        raise _fail(
            _("The amount can be at most %(max)s.") % {"max": f"€{max_amount():,.2f}"},
            "amount_too_large",
            "amount",
        )
    order_reference = _clean_text(
        order_reference,
        field="order_reference",
        max_length=MAX_ORDER_REFERENCE,
        required=True,
        label=_("Order reference"),
    )
    description = _clean_text(
        description, field="description", max_length=MAX_DESCRIPTION, required=False, label=_("Description")
    )
    customer_email = (customer_email or "").strip() if isinstance(customer_email, str) else customer_email
    if not isinstance(customer_email, str) or len(customer_email) > 254:
        raise _fail(_("Enter a valid e-mail address."), "invalid_email", "customer_email")
    if customer_email:
        try:
            validate_email(customer_email)
        except ValidationError:
            raise _fail(_("Enter a valid e-mail address."), "invalid_email", "customer_email") from None
    if language not in RequestLanguage.values:
        raise _fail(_("Choose Portuguese or English."), "invalid_language", "language")
    now = timezone.now()
    if method == RequestMethod.MBWAY:
        phone = clean_phone(phone)
        reference_entity, valid_until = "", None
    else:
        phone = ""
        reference_entity = (reference_entity or "").strip() if isinstance(reference_entity, str) else ""
        if not (reference_entity.isdigit() and len(reference_entity) == 5):
            raise _fail(
                _("Enter the MULTIBANCO payment entity: 5 digits, as agreed with SIBS."), "invalid_entity", "entity"
            )
        if valid_until is None or timezone.is_naive(valid_until):
            raise _fail(_("Choose until when the reference can be paid."), "invalid_validity", "valid_until")
        if valid_until < now + MIN_VALIDITY or valid_until > now + MAX_VALIDITY + timedelta(days=1):
            raise _fail(_("A reference can be valid from one hour to 90 days."), "invalid_validity", "valid_until")
    fp = fingerprint(
        {
            "terminal": terminal.terminal_id,
            "method": method,
            "amount": f"{amount:f}",
            "order_reference": order_reference,
            "description": description,
            "phone": phone,
            "entity": reference_entity,
            # A retry a few seconds later computes another "now + 3 days": compare the day only.
            "valid_until": valid_until.date().isoformat() if valid_until else None,
            "email": customer_email.lower(),
            "language": language,
        }
    )
    existing = PaymentRequest.objects.filter(merchant_id=access.merchant.pk, idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, fp)
    if credential_for_terminal(terminal) is None:
        raise _fail(
            _("No active gateway credential applies to this terminal: add one under Payment methods first."),
            "no_credential",
            status=409,
        )
    try:
        with transaction.atomic():
            request = PaymentRequest.objects.create(
                merchant_id=access.merchant.pk,
                store_id=terminal.store_id,
                terminal=terminal,
                terminal_number=terminal.terminal_id,
                method=method,
                amount=amount,
                currency="EUR",
                order_reference=order_reference,
                description=description,
                customer_phone=phone,
                phone_masked=mask_token_value(phone) if phone else "",
                reference_entity=reference_entity,
                valid_until=valid_until,
                customer_email=customer_email,
                language=language,
                state=RequestState.RESERVED,
                idempotency_key=key,
                fingerprint=fp,
                gateway_reference=f"pr-{secrets.token_hex(12)}",
                requested_by=actor.user,
                requested_by_key=actor.api_key,
                requested_by_label=actor.label[:255],
                created_at=now,
                updated_at=now,
            )
            audit.record(
                actor=actor,
                action="payment_request.requested",
                merchant=access.merchant,
                obj=request,
                after=_describe(request),
            )
    except IntegrityError:
        # The same key at the same moment (a double click): the other request won the insert.
        existing = PaymentRequest.objects.filter(merchant_id=access.merchant.pk, idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, fp)
    request = payment_request_execute(request=request, actor=actor, gateway_headers=gateway_headers)
    return RequestResult(request, replayed=False)


def _describe(request: PaymentRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "amount": f"{request.amount:f}",
        "currency": request.currency,
        "terminal": request.terminal_number,
        "order_reference": request.order_reference,
        "phone": request.phone_masked,
        "entity": request.reference_entity,
        "valid_until": request.valid_until.isoformat() if request.valid_until else None,
        "customer_email": request.customer_email,
        "language": request.language,
        "state": request.state,
    }


# --------------------------------------------------------------------------- executing


def _as_sent(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(encode_body(body), parse_float=str)


def _return_status(data: Any) -> tuple[str, str]:
    if not isinstance(data, dict) or not isinstance(data.get("returnStatus"), dict):
        return "", ""
    status = data["returnStatus"]
    code = status.get("statusCode")
    text = status.get("statusDescription") or status.get("statusMsg") or ""
    return (str(code).strip()[:64] if code is not None else ""), str(text)[:500]


def _redacted_checkout(data: dict[str, Any] | None) -> dict[str, Any] | None:
    # The signature authorises the execution call; it is kept encrypted, never in plain JSON.
    if not isinstance(data, dict):
        return None
    return {k: ("(kept encrypted)" if k in ("transactionSignature", "formContext") else v) for k, v in data.items()}


def payment_request_execute(
    *, request: PaymentRequest, actor: Actor = SYSTEM, gateway_headers: dict[str, str] | None = None
) -> PaymentRequest:
    """Send a reserved request to SIBS (checkout, then execution), once, and record the answers.
    No database transaction is open during the calls."""
    now = timezone.now()
    claimed = PaymentRequest.objects.filter(pk=request.pk, state=RequestState.RESERVED).update(
        state=RequestState.IN_FLIGHT, sent_at=now, updated_at=now
    )
    request.refresh_from_db()
    if not claimed:
        return request  # someone else is sending it
    credential = credential_for_terminal(request.terminal)
    if credential is None:
        return _finish(request, actor, detail=_("No active gateway credential applies: nothing was sent to SIBS."))
    client = client_for(credential)

    body = checkout_body(
        terminal_id=request.terminal_number,
        merchant_transaction_id=request.gateway_reference,
        amount=request.amount,
        currency=request.currency,
        method=request.method,
        description=sibs_description(request),
        timestamp=now,
        reference_entity=request.reference_entity,
        reference_valid_until=request.valid_until,
    )
    PaymentRequest.objects.filter(pk=request.pk).update(checkout_request=_as_sent(body))
    try:
        response = client.checkout(body)
        answer = parse_checkout_answer(response.data or {})
    except SibsApiError as error:
        return _call_failed(request, actor, error, stage="checkout")
    except CheckoutAnswerError as error:
        code, text = _return_status(response.data)
        if code and code != "000":
            return _finish(
                request, actor, detail=describe_code(code, text), code=code, http_status=response.http_status
            )
        return _unknown(request, actor, detail=str(error), http_status=response.http_status)
    PaymentRequest.objects.filter(pk=request.pk).update(
        sibs_transaction_id=answer.transaction_id,
        transaction_signature=answer.transaction_signature,
        checkout_expires_at=answer.expiry,
        checkout_response=_redacted_checkout(answer.raw),
        http_status=response.http_status,
        updated_at=timezone.now(),
    )
    request.refresh_from_db()
    return _send_execution(request, actor, client, gateway_headers=gateway_headers)


def sibs_description(request: PaymentRequest) -> str:
    """What SIBS (and its Backoffice) shows for the payment: the order first, then the text."""
    text = request.order_reference
    if request.description:
        text += f" — {request.description}"
    return text[:MAX_DESCRIPTION]


def _send_execution(request: PaymentRequest, actor: Actor, client, *, gateway_headers=None) -> PaymentRequest:
    if request.method == RequestMethod.MBWAY:
        body = {"customerPhone": request.customer_phone}
    else:
        body = reference_generate_body()
    PaymentRequest.objects.filter(pk=request.pk).update(execution_sent=True, updated_at=timezone.now())
    request.execution_sent = True
    try:
        payload, response = client.execute(
            request.sibs_transaction_id,
            EXECUTION_ACTION[request.method],
            request.transaction_signature,
            body,
            extra_headers=gateway_headers,
        )
    except SibsApiError as error:
        return _call_failed(request, actor, error, stage="execution")
    return _record_execution(
        request, actor, data=response.data or {}, http_status=response.http_status, payload=payload
    )


def _call_failed(request: PaymentRequest, actor: Actor, error: SibsApiError, *, stage: str) -> PaymentRequest:
    """Sort a call without a usable answer into ``failed`` (certainly not done) or ``unknown``."""
    if isinstance(error, SibsTransportError):
        if not error.sent:
            if stage == "checkout":
                detail = _("SIBS could not be reached; nothing was asked, nothing to pay. You can try again.")
            else:
                detail = _(
                    "SIBS could not be reached to send the request to the customer; nothing to pay. You can try again."
                )
            return _finish(request, actor, detail=f"{detail} ({error.message})")
        return _unknown(request, actor, detail=error.message)
    if isinstance(error, SibsHttpError):
        data = error.response.data if error.response is not None else None
        code, text = _return_status(data)
        status = error.http_status or 0
        if status in (408, 429) or status >= 500:
            return _unknown(request, actor, detail=f"HTTP {status}: {describe_code(code, text)}", http_status=status)
        if status in (401, 403):
            detail = _("SIBS refused the gateway credential (HTTP %(status)s): nothing to pay.") % {"status": status}
        else:
            detail = _("SIBS refused the request (HTTP %(status)s): nothing to pay.") % {"status": status}
        if code:
            detail += " " + describe_code(code, text)
        return _finish(request, actor, detail=detail, code=code, http_status=status, body=data, stage=stage)
    if isinstance(error, SibsInvalidResponseError):
        return _unknown(request, actor, detail=error.message, http_status=error.http_status)
    return _unknown(request, actor, detail=error.message, http_status=error.http_status)


def _execution_payload(request: PaymentRequest, data: dict[str, Any]) -> dict[str, Any]:
    """The execution answer completed with what was asked (the MB WAY answer carries only the
    id and the status): the merchant, the amount, the method, the type and the alias."""
    merged: dict[str, Any] = {
        "merchant": {"terminalId": request.terminal_number, "merchantTransactionId": request.gateway_reference},
        "amount": {"value": f"{request.amount:.2f}", "currency": request.currency},
        "paymentMethod": request.method,
        "paymentType": "PURS",
    }
    if request.method == RequestMethod.MBWAY and request.customer_phone:
        merged["token"] = {"tokenType": "MobilePhone", "value": request.customer_phone}
    for key, value in data.items():
        if key == "merchant" and isinstance(value, dict):
            merged["merchant"] = {**merged["merchant"], **value}
        elif value is not None:
            merged[key] = value
    merged.setdefault("transactionID", request.sibs_transaction_id)
    return merged


def _record_execution(
    request: PaymentRequest, actor: Actor, *, data: dict[str, Any], http_status: int | None, payload=None
) -> PaymentRequest:
    code, text = _return_status(data)
    status = data.get("paymentStatus")
    if code and code != "000" and not status:
        # Refused inside a 2xx: nothing was sent to the customer.
        return _finish(request, actor, detail=describe_code(code, text), code=code, http_status=http_status, body=data)
    merged = _execution_payload(request, data)
    try:
        payload = parse_status_response(merged)
    except NotificationError as error:
        return _unknown(request, actor, detail=f"unreadable answer: {error.message}", http_status=http_status)
    now = timezone.now()
    with transaction.atomic():
        applied = ledger.execution_answer_apply(
            merchant=request.merchant,
            payload=payload,
            stored_payload=ledger.masked_payload(merged),
            occurred_at=now,
            http_status=http_status,
        )
        txn = applied.transaction
        if txn.store_id is None and txn.terminal_id is None:
            Transaction.objects.filter(pk=txn.pk).update(store_id=request.store_id, terminal_id=request.terminal_id)
        locked = PaymentRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state not in (RequestState.IN_FLIGHT, RequestState.UNKNOWN):
            return locked
        before = locked.state
        locked.state = RequestState.SENT
        locked.transaction = txn
        locked.execution_response = ledger.masked_payload(data)
        locked.http_status = http_status
        locked.return_code = code
        ref = payload.payment_reference
        if ref is not None:
            locked.reference_number = (ref.reference or "")[:20]
            locked.reference_entity = (ref.entity or locked.reference_entity)[:5]
            locked.reference_expiry = ref.expiry or locked.valid_until
        locked.outcome_detail = ""
        locked.settled_at = now
        locked.updated_at = now
        locked.next_inquiry_at = None
        locked.save()
        audit.record(
            actor=actor,
            action="payment_request.sent",
            merchant=request.merchant,
            obj=locked,
            before={"state": before},
            after={
                "state": locked.state,
                "transaction": txn.transaction_id,
                "payment_status": txn.payment_status,
                "reference": locked.reference_number,
            },
        )
        if locked.method == RequestMethod.REFERENCE and locked.customer_email and locked.reference_number:
            from payments.requests.tasks import send_reference_email

            pk = locked.pk
            transaction.on_commit(lambda: send_reference_email.delay(pk, False))
    return locked


def _finish(
    request: PaymentRequest,
    actor: Actor,
    *,
    detail: str,
    code: str = "",
    http_status: int | None = None,
    body: Any = None,
    stage: str = "",
) -> PaymentRequest:
    now = timezone.now()
    with transaction.atomic():
        locked = PaymentRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state not in (RequestState.IN_FLIGHT, RequestState.RESERVED, RequestState.UNKNOWN):
            return locked
        before = locked.state
        locked.state = RequestState.FAILED
        locked.outcome_detail = detail[:2000]
        locked.return_code = code[:64]
        locked.http_status = http_status
        if stage == "execution" and isinstance(body, dict):
            locked.execution_response = body
        elif stage == "checkout" and isinstance(body, dict):
            locked.checkout_response = _redacted_checkout(body)
        locked.settled_at = now
        locked.updated_at = now
        locked.next_inquiry_at = None
        locked.save()
        audit.record(
            actor=actor,
            action="payment_request.failed",
            merchant=locked.merchant,
            obj=locked,
            before={"state": before},
            after={"state": locked.state, "detail": locked.outcome_detail[:500], "code": code},
        )
    return locked


def _unknown(request: PaymentRequest, actor: Actor, *, detail: str, http_status: int | None = None) -> PaymentRequest:
    now = timezone.now()
    with transaction.atomic():
        locked = PaymentRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != RequestState.IN_FLIGHT:
            return locked
        locked.state = RequestState.UNKNOWN
        locked.outcome_detail = (
            _("No answer from SIBS: the request may or may not have reached the customer. Asking SIBS until it says.")
            + f" ({detail})"
        )[:2000]
        locked.http_status = http_status
        locked.updated_at = now
        locked.next_inquiry_at = now + FIRST_INQUIRY_DELAY
        locked.save()
        audit.record(
            actor=actor,
            action="payment_request.unknown",
            merchant=locked.merchant,
            obj=locked,
            after={"state": locked.state, "detail": detail[:500], "http_status": http_status},
        )
    return locked


# --------------------------------------------------------------------------- settling an unknown outcome


def _backoff(count: int) -> timedelta:
    return min(FIRST_INQUIRY_DELAY * (2 ** min(count, 12)), MAX_INQUIRY_INTERVAL)


def _reschedule(request: PaymentRequest, now: datetime, detail: str) -> str:
    logger.info("inquiry of payment request %s inconclusive: %s", request.pk, detail)
    PaymentRequest.objects.filter(pk=request.pk, state=RequestState.UNKNOWN).update(
        inquiry_count=F("inquiry_count") + 1,
        next_inquiry_at=now + _backoff(request.inquiry_count + 1),
        updated_at=now,
    )
    return RequestState.UNKNOWN


def payment_request_inquire(*, request_pk: int, now: datetime | None = None) -> str:
    """Ask SIBS what became of a request whose answer was lost, and settle it. Returns its state."""
    now = now or timezone.now()
    request = PaymentRequest.objects.select_related("merchant", "terminal").filter(pk=request_pk).first()
    if request is None:
        return "missing"
    if request.state != RequestState.UNKNOWN:
        return request.state
    credential = credential_for_terminal(request.terminal)
    if credential is None:
        return _reschedule(request, now, "no credential")
    client = client_for(credential)
    sent_long_ago = request.sent_at is not None and now - request.sent_at >= NOT_FOUND_GRACE
    try:
        if request.sibs_transaction_id:
            payload, response = client.status(request.sibs_transaction_id)
        else:
            payload, response = client.status_by_merchant_transaction(
                request.gateway_reference, terminal_id=request.terminal_number
            )
    except SibsHttpError as error:
        if error.http_status == 404 and sent_long_ago:
            return _finish(
                request,
                SYSTEM,
                detail=_("SIBS has no record of this request: it never reached the customer, nothing to pay."),
            ).state
        return _reschedule(request, now, f"HTTP {error.http_status}")
    except SibsApiError as error:
        return _reschedule(request, now, error.message)
    method = str(getattr(payload.payment_method, "value", payload.payment_method) or "")
    status = str(getattr(payload.payment_status, "value", payload.payment_status) or "")
    executed = method in RequestMethod.values or (status and status != PaymentStatus.PENDING)
    if not request.sibs_transaction_id:
        if payload.transaction_id:
            PaymentRequest.objects.filter(pk=request.pk).update(sibs_transaction_id=payload.transaction_id[:255])
        if executed and payload.transaction_id:
            request.sibs_transaction_id = payload.transaction_id
            return _record_execution(request, SYSTEM, data=response.data or {}, http_status=response.http_status).state
        # SIBS prepared the checkout but its answer (and the signature the next call needs) was
        # lost: the request never reached the customer, and the checkout lapses by itself.
        return _finish(
            request,
            SYSTEM,
            detail=_(
                "SIBS prepared the payment but its answer was lost, so the request was never sent to the customer. "
                "Nothing to pay; you can ask again."
            ),
        ).state
    if executed:
        return _record_execution(request, SYSTEM, data=response.data or {}, http_status=response.http_status).state
    if sent_long_ago:
        return _finish(
            request,
            SYSTEM,
            detail=_("SIBS never received the request for the customer: nothing to pay. You can ask again."),
        ).state
    return _reschedule(request, now, "not executed yet")


def payment_requests_sweep_claim(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Requests due for an inquiry, claimed with a conditional UPDATE (two sweeps never ask
    twice); reservations never sent are failed and calls whose process died become unknown."""
    now = now or timezone.now()
    for request in PaymentRequest.objects.filter(state=RequestState.RESERVED, updated_at__lt=now - STALE_RESERVATION)[
        :limit
    ]:
        _finish(request, SYSTEM, detail=_("Never sent to SIBS (interrupted): nothing to pay."))
    dead = PaymentRequest.objects.filter(state=RequestState.IN_FLIGHT, sent_at__lt=now - STALE_IN_FLIGHT)
    for request in dead[:limit]:
        _unknown(request, SYSTEM, detail="interrupted mid-call")
    due = list(
        PaymentRequest.objects.filter(state=RequestState.UNKNOWN, next_inquiry_at__lte=now)
        .order_by("next_inquiry_at")
        .values_list("pk", "next_inquiry_at", "inquiry_count")[:limit]
    )
    claimed = []
    for pk, due_at, count in due:
        if PaymentRequest.objects.filter(pk=pk, next_inquiry_at=due_at).update(
            next_inquiry_at=now + _backoff(count + 1)
        ):
            claimed.append(pk)
    return claimed


# --------------------------------------------------------------------------- refreshing, reminding


def _require_own(access: Access, request: PaymentRequest, capability: Capability) -> None:
    access.require(capability)
    if request.merchant_id != access.merchant.pk or not access.allows_store(request.store_id):
        raise PermissionDenied(_("This request belongs to a store you have no access to."))


def payment_request_refresh(*, access: Access, request: PaymentRequest, force: bool = False) -> PaymentRequest:
    """Ask SIBS now about a request still open (a page's poll or the board's refresh button);
    at most once every few seconds per request, whoever asks."""
    _require_own(access, request, Capability.VIEW_TRANSACTIONS)
    now = timezone.now()
    txn = request.transaction
    open_payment = txn is not None and (
        txn.payment_status in (PaymentStatus.PENDING, PaymentStatus.IN_PROCESSING)
        or txn.reference_status == ReferenceState.UNPAID
    )
    if request.state != RequestState.UNKNOWN and not open_payment:
        return request
    recent = Q(last_checked_at__gt=now - check_interval(request.method))
    claimed = PaymentRequest.objects.filter(pk=request.pk).exclude(recent).update(last_checked_at=now)
    if not claimed and not force:
        return request
    if request.state == RequestState.UNKNOWN:
        payment_request_inquire(request_pk=request.pk, now=now)
    elif txn is not None:
        inquiry.transaction_inquire(transaction_pk=txn.pk)
    request.refresh_from_db()
    return request


def payment_request_remind(*, access: Access, actor: Actor, request: PaymentRequest) -> PaymentRequest:
    """E-mail the customer the reference again; once a day at most."""
    _require_own(access, request, Capability.REQUEST_PAYMENTS)
    txn = request.transaction
    if request.method != RequestMethod.REFERENCE or request.state != RequestState.SENT or txn is None:
        raise _fail(_("Only a MULTIBANCO reference sent to SIBS can be reminded."), "not_possible", status=409)
    if txn.reference_status != ReferenceState.UNPAID:
        raise _fail(_("This reference is no longer waiting for payment."), "not_possible", status=409)
    now = timezone.now()
    if request.reference_expiry and request.reference_expiry <= now:
        raise _fail(_("This reference has expired: ask for a new payment instead."), "expired", status=409)
    if not request.customer_email:
        raise _fail(_("No e-mail address was given for this customer."), "no_email", status=409)
    with transaction.atomic():
        sent = (
            PaymentRequest.objects.filter(pk=request.pk)
            .filter(Q(last_reminder_at__isnull=True) | Q(last_reminder_at__lte=now - REMINDER_INTERVAL))
            .update(last_reminder_at=now, reminder_count=F("reminder_count") + 1, updated_at=now)
        )
        if not sent:
            raise _fail(
                _("A reminder was already sent in the last 24 hours; the customer gets at most one a day."),
                "reminder_too_soon",
                status=429,
            )
        request.refresh_from_db()
        audit.record(
            actor=actor,
            action="payment_request.reminded",
            merchant=request.merchant,
            obj=request,
            after={"to": request.customer_email, "count": request.reminder_count},
        )
        from payments.requests.tasks import send_reference_email

        pk = request.pk
        transaction.on_commit(lambda: send_reference_email.delay(pk, True))
    return request
