"""The transaction detail page and the small fragment that keeps it current.

Everything SIBS told us about one transaction, in human terms: state, balances, the method's own
data (MULTIBANCO reference, MB WAY alias, token, mandate, MIT schedule, QR purchase), the return
code explained in the active language, linked transactions, and the timeline of every event.
Raw payloads only for roles with ``VIEW_RAW_PAYLOADS``.

``transaction_live`` is polled by the page (htmx). It answers ``204`` while the transaction is
unchanged, which costs one indexed read by primary key, and otherwise the refreshed fragments.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backoffice.access import Access, merchant_view
from backoffice.middleware import passive_request
from backoffice.roles import Capability
from common.money import format_money
from payments import selectors
from payments.models import ReferenceState, Transaction, TransactionEvent, TransactionState
from payments.selectors import operations_panel, timeline
from payments.sibs.enums import (
    AmountQualifier,
    MandateAction,
    MandateActionStatus,
    MandateType,
    MitType,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    TokenType,
)
from payments.sibs.errors import describe
from payments.sibs.notification import mask_token_value

# SIBS ids are short ASCII strings; anything else cannot exist and is answered before any query.
MAX_ID_LENGTH = 255
POLL_SECONDS = 5
# Registered timeline sources (deliveries, operation requests) do not touch the transaction, so
# the fragment is rebuilt at least this often even when the transaction itself is unchanged.
FULL_REFRESH_SECONDS = 30


def _valid_id(transaction_id: str) -> bool:
    return 0 < len(transaction_id) <= MAX_ID_LENGTH and transaction_id.isprintable()


def _get(access: Access, transaction_id: str) -> Transaction:
    if not _valid_id(transaction_id):
        raise Http404
    return selectors.transaction_get(access=access, transaction_id=transaction_id)


def _label(choices, value: str) -> str:
    """The human label of an enum value from the wire, or the value itself when unknown."""
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _mask(value: str) -> str:
    """Stored aliases and tokens are masked already; mask again anything that does not look so."""
    if not value:
        return ""
    if "*" in value or "•" in value:
        return value
    return mask_token_value(value) or ""


# --------------------------------------------------------------------------- context pieces


def _version(txn: Transaction) -> str:
    last_event = TransactionEvent.objects.filter(transaction_id=txn.pk).aggregate(m=Max("id"))["m"] or 0
    return f"{txn.changed_at.timestamp():.6f}-{last_event}"


def _balances(txn: Transaction) -> list[dict[str, Any]]:
    rows = [
        {"key": "authorised", "label": _("Authorised"), "amount": txn.authorised_amount},
        {"key": "captured", "label": _("Captured"), "amount": txn.captured_amount},
        {"key": "refunded", "label": _("Refunded"), "amount": txn.refunded_amount},
        {"key": "refundable", "label": _("Refundable"), "amount": txn.refundable_amount},
    ]
    if txn.payment_type == PaymentType.AUTHORISATION or txn.cancelled_amount:
        rows.insert(3, {"key": "cancelled", "label": _("Cancelled"), "amount": txn.cancelled_amount})
    if txn.payment_type == PaymentType.AUTHORISATION:
        rows.append({"key": "capturable", "label": _("Capturable"), "amount": txn.capturable_amount})
    return rows


def _linked(access: Access, txn: Transaction) -> dict[str, Any]:
    """The original of an operation, and the operations of the payment (scoped like any read)."""
    original = None
    payment = txn
    if txn.original_id:
        original = access.scope(Transaction.objects.filter(pk=txn.original_id)).first()
        payment = original
    operations: list[Transaction] = []
    if payment is not None:
        operations = list(
            access.scope(Transaction.objects.filter(original_id=payment.pk)).order_by("created_at", "pk")[:200]
        )
    return {
        "original": original,
        "original_url": timeline.transaction_url(access, original) if original is not None else "",
        "operations": [{"txn": op, "url": timeline.transaction_url(access, op)} for op in operations],
    }


def _reference(txn: Transaction) -> dict[str, Any] | None:
    if not (txn.reference_entity or txn.reference_number):
        return None
    number = txn.reference_number
    grouped = " ".join(number[i : i + 3] for i in range(0, len(number), 3)) if number.isdigit() else number
    return {
        "entity": txn.reference_entity,
        "number": grouped,
        "amount": txn.reference_amount,
        "expiry": txn.reference_expiry,
        "status": _label(ReferenceState, txn.reference_status),
        "status_code": txn.reference_status,
        "paid_at": txn.reference_paid_at,
        "payment_entity": txn.reference_payment_entity,
    }


def _mandate(txn: Transaction) -> dict[str, Any] | None:
    if not (txn.mandate_id or txn.mandate_action):
        return None
    return {
        "id": txn.mandate_id,
        "action": _label(MandateAction, txn.mandate_action),
        "action_status": _label(MandateActionStatus, txn.mandate_action_status),
        "type": _label(MandateType, txn.mandate_type),
        "client_name": txn.mandate_client_name,
        "expiration_date": txn.mandate_expiration_date,
        "amount_limit": txn.mandate_amount_limit,
    }


def _mit(txn: Transaction) -> dict[str, Any] | None:
    if not (txn.mit_type or txn.mit_schedule):
        return None
    schedule = txn.mit_schedule if isinstance(txn.mit_schedule, dict) else {}
    known = ("initialDate", "finalDate", "interval")
    return {
        "type": _label(MitType, txn.mit_type),
        "amount_qualifier": _label(AmountQualifier, txn.mit_amount_qualifier),
        "validity_date": txn.mit_validity_date,
        "initial_date": schedule.get("initialDate") or "",
        "final_date": schedule.get("finalDate") or "",
        "interval": schedule.get("interval") or "",
        "extra": [(str(k), _plain_text(v)) for k, v in schedule.items() if k not in known],
    }


def _plain_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).strip()


# Keys of a QR purchase that identify a person's phone or alias: masked like tokens.
_QR_MASKED_KEYS = {"aliasName", "aliasMBWAY"}
_QR_LABELS = {
    "staticQRCodeId": gettext_lazy("QR code"),
    "productName": gettext_lazy("Product"),
    "productQuantity": gettext_lazy("Quantity"),
    "productAmount": gettext_lazy("Product amount"),
    "expeditionAmount": gettext_lazy("Shipping amount"),
    "twoStepPurchase": gettext_lazy("Two-step purchase"),
    "aliasName": gettext_lazy("MB WAY alias"),
    "customerSupportContact": gettext_lazy("Support contact"),
    "merchantContactType": gettext_lazy("Merchant contact"),
    "contactClientIndicator": gettext_lazy("Client contact indicator"),
    "billingTIN": gettext_lazy("Tax number (NIF)"),
    "billingName": gettext_lazy("Name"),
    "billingAddressLine1": gettext_lazy("Address"),
    "billingAddressLine2": gettext_lazy("Address (cont.)"),
    "billingAddressPostalCode": gettext_lazy("Postal code"),
    "billingAddressCity": gettext_lazy("City"),
    "billingAddressCountry": gettext_lazy("Country"),
    "billingMobilePhone": gettext_lazy("Phone"),
    "billingEmail": gettext_lazy("E-mail"),
    "expeditionName": gettext_lazy("Name"),
    "expeditionAddressLine1": gettext_lazy("Address"),
    "expeditionAddressLine2": gettext_lazy("Address (cont.)"),
    "expeditionAddressPostalCode": gettext_lazy("Postal code"),
    "expeditionAddressCity": gettext_lazy("City"),
    "expeditionAddressCountry": gettext_lazy("Country"),
    "expeditionMobilePhone": gettext_lazy("Phone"),
    "expeditionEmail": gettext_lazy("E-mail"),
}


_QR_AMOUNT_KEYS = {"productAmount", "expeditionAmount"}


def _rows(data: Any, currency: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    rows = []
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif key in _QR_AMOUNT_KEYS and isinstance(value, int | float | str) and value != "":
            text = format_money(value, currency)
        else:
            text = _plain_text(value)
        if text == "":
            continue
        if key in _QR_MASKED_KEYS:
            text = _mask(text)
        rows.append((str(_QR_LABELS.get(key, key)), text))
    return rows


def _qr(txn: Transaction) -> dict[str, Any] | None:
    purchase = txn.qr_purchase if isinstance(txn.qr_purchase, dict) else None
    if not (purchase or txn.qr_code_id):
        return None
    purchase = purchase or {}
    other = {k: v for k, v in purchase.items() if k not in ("product", "billingInfo", "expeditionInfo")}
    currency = txn.currency or "EUR"
    return {
        "code_id": txn.qr_code_id,
        "product": _rows(purchase.get("product"), currency, skip=("staticQRCodeId",) if txn.qr_code_id else ()),
        "billing": _rows(purchase.get("billingInfo"), currency),
        "shipping": _rows(purchase.get("expeditionInfo"), currency),
        "other": _rows(other, currency),
    }


# States where "processed, but check the payment status" has nothing left to check.
_SETTLED = {
    TransactionState.PAID,
    TransactionState.PARTIALLY_REFUNDED,
    TransactionState.REFUNDED,
    TransactionState.CANCELLED,
    TransactionState.SUCCEEDED,
    TransactionState.DECLINED,
    TransactionState.FAILED,
    TransactionState.EXPIRED,
}


def _return_info(txn: Transaction):
    if not txn.return_code:
        return None
    info = describe(txn.return_code, language=get_language() or "en")
    if info.is_success and txn.state in _SETTLED:
        # The catalogue's caution ("this alone does not mean the payment is complete") is for a
        # payment still open; here the state above already says how it ended.
        return dataclasses.replace(info, merchant_message=_("Operation processed successfully."))
    return info


def _payload_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _live_context(request: HttpRequest, txn: Transaction) -> dict[str, Any]:
    access: Access = request.access
    show_raw = access.can(Capability.VIEW_RAW_PAYLOADS)
    entries = timeline.build(access, txn)
    return {
        "txn": txn,
        "method_label": _label(PaymentMethod, txn.payment_method),
        "type_label": _label(PaymentType, txn.payment_type),
        "status_label": _label(PaymentStatus, txn.payment_status),
        "balances": _balances(txn),
        "linked": _linked(access, txn),
        "timeline": [
            {"entry": e, "raw_json": _payload_json(e.raw) if show_raw and e.raw is not None else ""} for e in entries
        ],
        "show_raw": show_raw,
        "version": _version(txn),
        "rendered_at": int(time.time()),
        "poll_seconds": POLL_SECONDS,
        "live_url": reverse(
            "payments:transaction_live",
            kwargs={"merchant": access.merchant.slug, "transaction_id": txn.transaction_id},
        ),
    }


_SCRIPT_TAG = re.compile(r"<script\b[^>]*>\s*</script>", re.IGNORECASE)


def _operations_fragment(request: HttpRequest, context: dict[str, Any]) -> str:
    """The operations panel as the page first showed it, for the refreshed fragment: minus its
    ``<script src>`` tag, which the page already ran (htmx would load and run it again, and
    every dialog button would then act twice). Our own template's output, so it stays safe."""
    html = render_to_string("payments/_operations.html", context, request=request)
    return mark_safe(_SCRIPT_TAG.sub("", html))  # noqa: S308 - escaped template output, tags removed only


# --------------------------------------------------------------------------- views


@require_GET
@merchant_view(Capability.VIEW_TRANSACTIONS)
def transaction_detail(request: HttpRequest, transaction_id: str) -> HttpResponse:
    access: Access = request.access
    txn = _get(access, transaction_id)
    show_raw = access.can(Capability.VIEW_RAW_PAYLOADS)
    context: dict[str, Any] = {
        "active": "transactions",
        "token_type_label": _label(TokenType, txn.token_type),
        "token_masked": _mask(txn.token_masked),
        "alias_masked": _mask(txn.mbway_alias_masked),
        "reference": _reference(txn),
        "mandate": _mandate(txn),
        "mit": _mit(txn),
        "qr": _qr(txn),
        "return_info": _return_info(txn),
        "warnings": [str(w) for w in (txn.warnings or []) if w],
        "last_payload_json": _payload_json(txn.last_payload) if show_raw and txn.last_payload is not None else "",
        "list_url": reverse("payments:transactions", kwargs={"merchant": access.merchant.slug}),
    }
    context.update(_live_context(request, txn))
    context.update(operations_panel.detail_context(request, txn))
    response = render(request, "payments/transaction_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@passive_request
@merchant_view(Capability.VIEW_TRANSACTIONS)
def transaction_live(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """The refreshed state, balances, operations, linked transactions and timeline; 204 when
    nothing changed. (The page does not ask while an operation dialog or form is in use.)"""
    access: Access = request.access
    txn = _get(access, transaction_id)
    try:
        rendered_at = int(request.GET.get("t", ""))
    except ValueError:
        rendered_at = 0
    fresh = 0 <= time.time() - rendered_at < FULL_REFRESH_SECONDS
    if fresh and request.GET.get("v", "") == _version(txn):
        response = HttpResponse(status=204)
    else:
        context = _live_context(request, txn)
        context["operations_html"] = _operations_fragment(
            request, {**context, **operations_panel.detail_context(request, txn)}
        )
        response = render(request, "payments/_transaction_live.html", context)
    response["Cache-Control"] = "no-store"
    return response
