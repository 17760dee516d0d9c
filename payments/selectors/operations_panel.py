"""What the transaction detail page needs to show the money operations possible now, and the
requests already made (with their approval and settlement actions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from backoffice.access import Access
from common.money import format_money, minor_units, money_input
from payments.forms.operations import DecisionForm, OperationForm
from payments.models import OperationKind, OperationState, PaymentOperation, Transaction
from payments.services import operations as ops
from payments.sibs.enums import PaymentMethod

MAX_REQUESTS_SHOWN = 50

_TONES = {
    OperationState.SUCCEEDED: "ok",
    OperationState.DECLINED: "bad",
    OperationState.FAILED: "bad",
    OperationState.REJECTED: "info",
    OperationState.UNKNOWN: "warn",
    OperationState.PENDING_APPROVAL: "warn",
    OperationState.IN_FLIGHT: "info",
    OperationState.RESERVED: "info",
}

_URL_NAMES = {
    OperationKind.REFUND: "payments:transaction_refund",
    OperationKind.CAPTURE: "payments:transaction_capture",
    OperationKind.CANCELLATION: "payments:transaction_cancel",
}


def _method_label(txn: Transaction) -> str:
    try:
        return str(PaymentMethod(txn.payment_method).label)
    except ValueError:
        return txn.payment_method or "?"


def outcome_text(op: PaymentOperation) -> str:
    """What happened to a request, in the reader's language. A success is worded here from its
    state (the stored sentence was written in the language of whoever settled it, often the
    worker's English); other outcomes keep the words stored with them."""
    if op.state == OperationState.SUCCEEDED and op.result_id:
        return _("Done: SIBS confirmed it (%(id)s).") % {"id": op.result.transaction_id}
    return op.outcome_detail


def amount_text(value: Decimal, currency: str) -> str:
    """An amount as typed in the form: the currency's decimals, a dot ("12.50")."""
    return f"{value.quantize(Decimal(1).scaleb(-minor_units(currency or 'EUR'))):f}"


def _what_happens(txn: Transaction, kind: str, available: Decimal, threshold: Decimal | None) -> str:
    """The confirmation text, with ``{amount}`` where the amount typed goes (filled in by the
    page as the person types; the server renders it with the amount offered)."""
    currency = txn.currency or "EUR"
    if kind == OperationKind.REFUND:
        text = _(
            "SIBS will return {amount} to the customer's payment method (%(method)s). At most %(available)s "
            "can still be refunded. A refund cannot be undone."
        ) % {"method": _method_label(txn), "available": format_money(available, currency)}
        if threshold is not None:
            text += " " + _("Above %(threshold)s it waits for a second person's approval before anything is sent.") % {
                "threshold": format_money(threshold, currency)
            }
        return text
    if kind == OperationKind.CAPTURE:
        return _(
            "SIBS will charge {amount} of the authorisation to the customer. At most %(available)s can still be "
            "captured; what is not captured stays authorised until it is cancelled or expires."
        ) % {"available": format_money(available, currency)}
    if txn.payment_method == "REFERENCE":
        return _(
            "SIBS will cancel the MULTIBANCO reference %(reference)s ({amount}): the customer can no longer pay "
            "it. This cannot be undone."
        ) % {"reference": txn.reference_number or "?"}
    return _(
        "SIBS will release {amount} of the authorisation: that amount is no longer held on the customer's "
        "account and can no longer be captured. This cannot be undone."
    )


def _labels(kind: str) -> tuple[str, str]:
    return {
        OperationKind.REFUND: (pgettext("button", "Refund"), _("Refund this payment")),
        OperationKind.CAPTURE: (pgettext("button", "Capture"), _("Capture this authorisation")),
        OperationKind.CANCELLATION: (pgettext("button", "Cancel"), _("Cancel this payment")),
    }[kind]


def actions_for(access: Access, txn: Transaction, failure: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The actions possible now. ``failure`` (kind, bound form, message) is a submission that was
    refused: its dialog is shown open again with what was typed and the reason."""
    if not ops.can_act_on(access, txn):
        return []
    threshold = ops.four_eyes_threshold(txn.merchant_id)
    currency = txn.currency or "EUR"
    actions = []
    for kind in (OperationKind.CAPTURE, OperationKind.REFUND, OperationKind.CANCELLATION):
        if ops.refusal(txn, kind) is not None:
            continue
        available = ops.available_amount(txn, kind)
        if available <= 0:
            continue
        fixed = kind == OperationKind.CANCELLATION and txn.payment_method == "REFERENCE"
        failed = failure is not None and failure["kind"] == kind
        if failed:
            form = failure["form"]
        else:
            form = OperationForm(
                kind=kind,
                currency=currency,
                fixed_amount=fixed,
                initial={"amount": money_input(available, currency)},
                prefix=kind,
            )
        button, title = _labels(kind)
        actions.append(
            {
                "kind": kind,
                "button": button,
                "title": title,
                "available": amount_text(available, currency),
                "available_text": format_money(available, currency),
                "open": failed,
                "error": failure["message"] if failed else "",
                "fixed_amount": fixed,
                "form": form,
                "url": reverse(
                    _URL_NAMES[kind], kwargs={"merchant": access.merchant.slug, "transaction_id": txn.transaction_id}
                ),
                "what_happens": _what_happens(
                    txn, kind, available, threshold if kind == OperationKind.REFUND else None
                ),
                "what_happens_now": _what_happens(
                    txn, kind, available, threshold if kind == OperationKind.REFUND else None
                ).replace("{amount}", format_money(available, currency)),
                "needs_password": kind == OperationKind.REFUND,
                "threshold": threshold if kind == OperationKind.REFUND else None,
            }
        )
    return actions


def requests_for(request, access: Access, txn: Transaction) -> list[dict[str, Any]]:
    if txn.merchant_id != access.merchant.pk or not access.allows_store(txn.store_id):
        return []
    user = getattr(request, "user", None)
    can_act = ops.can_act_on(access, txn)
    rows = []
    qs = (
        PaymentOperation.objects.filter(merchant=access.merchant, original=txn)
        .select_related("requested_by", "approved_by", "result")
        .order_by("-created_at", "-pk")[:MAX_REQUESTS_SHOWN]
    )
    for op in qs:
        own = ops.is_own_request(op, getattr(user, "pk", None))
        pending = op.state == OperationState.PENDING_APPROVAL
        base = {"merchant": access.merchant.slug, "pk": op.pk}
        rows.append(
            {
                "op": op,
                "outcome": outcome_text(op),
                "tone": _TONES.get(op.state, "info"),
                "amount_text": format_money(op.amount, op.currency),
                "can_approve": can_act and pending and not own,
                "can_reject": can_act and pending,
                "can_inquire": can_act and op.state == OperationState.UNKNOWN,
                "approve_url": reverse("payments:operation_approve", kwargs=base),
                "reject_url": reverse("payments:operation_reject", kwargs=base),
                "inquire_url": reverse("payments:operation_inquire", kwargs=base),
                "decision_form": DecisionForm(prefix=f"op{op.pk}"),
            }
        )
    return rows


def detail_context(request, txn) -> dict:
    """Amounts, the actions (refund / capture / cancel) staff may take on ``txn`` now, with their
    forms and confirmation texts, and the requests already made."""
    access: Access = request.access
    # Set by the refund / capture / cancel views when a submission was refused (see
    # views_operations.refused): the page is rendered again with the dialog open.
    failure = getattr(request, "operation_failure", None)
    actions = actions_for(access, txn, failure)
    shown = failure is not None and any(a["open"] for a in actions)
    return {
        "operations": {
            "txn": txn,
            "can_act": ops.can_act_on(access, txn),
            "actions": actions,
            # A refusal whose action is no longer offered (nothing left to refund) is said here.
            "error": failure["message"] if failure is not None and not shown else "",
            "requests": requests_for(request, access, txn),
        }
    }


def timeline_entries(access: Access, txn: Transaction):
    """Timeline source: the refunds, captures and cancellations staff asked for on ``txn``
    (who, why, amount, where each stands), and the approvals given or refused."""
    from payments.selectors.timeline import TimelineEntry

    if txn.merchant_id != access.merchant.pk or not access.allows_store(txn.store_id):
        return []
    entries = []
    for op in (
        PaymentOperation.objects.filter(merchant=access.merchant, original=txn)
        .select_related("approved_by", "result")
        .order_by("created_at", "pk")[:MAX_REQUESTS_SHOWN]
    ):
        amount = format_money(op.amount, op.currency)
        tone = _TONES.get(op.state, "info")
        outcome = {"ok": "ok", "bad": "error", "warn": "warn"}.get(tone, "info")
        detail = op.get_reason_display()
        if op.comment:
            detail += f" — {op.comment}"
        if outcome_text(op):
            detail += f" · {outcome_text(op)}"
        entries.append(
            TimelineEntry(
                at=op.created_at,
                kind="operation_request",
                title=_("%(kind)s of %(amount)s requested") % {"kind": op.get_kind_display(), "amount": amount},
                detail=detail,
                outcome=outcome,
                actor=op.requested_by_label,
                badges=(str(op.get_state_display()),),
            )
        )
        if op.decided_at and op.approved_by_id:
            rejected = op.state == OperationState.REJECTED
            entries.append(
                TimelineEntry(
                    at=op.decided_at,
                    kind="operation_request",
                    title=(_("%(kind)s of %(amount)s rejected") if rejected else _("%(kind)s of %(amount)s approved"))
                    % {"kind": op.get_kind_display(), "amount": amount},
                    detail=op.outcome_detail if rejected else "",
                    outcome="info" if rejected else "ok",
                    actor=op.approved_by.email,
                    badges=(_("Four eyes"),),
                )
            )
    return entries
