"""How the audit log words the events of payments: refunds, captures and cancellations, gateway
credentials, saved views and the four-eyes threshold (see ``backoffice.audit_display``)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy

from backoffice.audit_display import (
    actor_name,
    register_field,
    register_loader,
    register_prefix,
    register_sentence,
    related,
)
from backoffice.models import AuditEvent
from common.money import format_money
from payments.models import OperationKind, OperationReason, OperationState, PaymentOperation

OPERATION = "payments.paymentoperation"


def _load_operations(ids: Iterable[str]) -> dict[str, PaymentOperation]:
    pks = [int(i) for i in ids if str(i).isdigit()]
    ops = PaymentOperation.objects.filter(pk__in=pks).select_related("original", "requested_by")
    return {str(op.pk): op for op in ops}


register_loader(OPERATION, _load_operations)


def short_id(transaction_id: str) -> str:
    return transaction_id if len(transaction_id) <= 12 else transaction_id[:10] + "…"


def _label(choices, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


# %(amount)s of payment %(payment)s, per kind and what happened.
_OPERATION_SENTENCES = {
    ("refund", "requested"): gettext_lazy("%(actor)s asked to refund %(amount)s of payment %(payment)s"),
    ("refund", "approved"): gettext_lazy("%(actor)s approved the refund of %(amount)s of payment %(payment)s"),
    ("refund", "rejected"): gettext_lazy("%(actor)s refused the refund of %(amount)s of payment %(payment)s"),
    ("refund", "succeeded"): gettext_lazy("%(actor)s refunded %(amount)s of payment %(payment)s"),
    ("refund", "declined"): gettext_lazy("SIBS declined the refund of %(amount)s of payment %(payment)s"),
    ("refund", "failed"): gettext_lazy("The refund of %(amount)s of payment %(payment)s failed"),
    ("refund", "unknown"): gettext_lazy(
        "The refund of %(amount)s of payment %(payment)s is waiting for SIBS to confirm it"
    ),
    ("refund", "settled"): gettext_lazy("SIBS settled the refund of %(amount)s of payment %(payment)s"),
    ("capture", "requested"): gettext_lazy("%(actor)s asked to capture %(amount)s of payment %(payment)s"),
    ("capture", "succeeded"): gettext_lazy("%(actor)s captured %(amount)s of payment %(payment)s"),
    ("capture", "declined"): gettext_lazy("SIBS declined the capture of %(amount)s of payment %(payment)s"),
    ("capture", "failed"): gettext_lazy("The capture of %(amount)s of payment %(payment)s failed"),
    ("capture", "unknown"): gettext_lazy(
        "The capture of %(amount)s of payment %(payment)s is waiting for SIBS to confirm it"
    ),
    ("capture", "settled"): gettext_lazy("SIBS settled the capture of %(amount)s of payment %(payment)s"),
    ("cancellation", "requested"): gettext_lazy("%(actor)s asked to cancel %(amount)s of payment %(payment)s"),
    ("cancellation", "succeeded"): gettext_lazy("%(actor)s cancelled %(amount)s of payment %(payment)s"),
    ("cancellation", "declined"): gettext_lazy("SIBS declined the cancellation of %(amount)s of payment %(payment)s"),
    ("cancellation", "failed"): gettext_lazy("The cancellation of %(amount)s of payment %(payment)s failed"),
    ("cancellation", "unknown"): gettext_lazy(
        "The cancellation of %(amount)s of payment %(payment)s is waiting for SIBS to confirm it"
    ),
    ("cancellation", "settled"): gettext_lazy("SIBS settled the cancellation of %(amount)s of payment %(payment)s"),
}


def _split(action: str) -> tuple[str, str]:
    """``payment.refund_succeeded`` → ("refund", "succeeded")."""
    rest = action.split(".", 1)[1] if "." in action else action
    for kind in OperationKind.values:
        if rest.startswith(kind + "_"):
            return kind, rest[len(kind) + 1 :]
    return "", rest


def _amount(event: AuditEvent, op: PaymentOperation | None) -> str:
    data = event.after if isinstance(event.after, dict) else {}
    if op is not None:
        return format_money(op.amount, op.currency)
    try:
        return format_money(Decimal(str(data.get("amount"))), data.get("currency") or "EUR")
    except (InvalidOperation, TypeError):
        return "—"


def describe_operation(event: AuditEvent, context: dict) -> str:
    kind, what = _split(event.action)
    template = _OPERATION_SENTENCES.get((kind, what))
    if template is None:
        return ""
    op = related(event, context)
    data = event.after if isinstance(event.after, dict) else {}
    payment = op.original.transaction_id if op is not None else str(data.get("transaction") or "")
    text = str(template) % {"actor": actor_name(event), "amount": _amount(event, op), "payment": short_id(payment)}
    reason = op.reason if op is not None else data.get("reason")
    if reason and what in ("requested", "succeeded"):
        text += " — " + _label(OperationReason, reason).lower()
    return text


register_prefix("payment.", describe_operation)


def _state(value: Any, context: dict) -> str:
    return _label(OperationState, value)


def _money_text(value: Any, context: dict) -> str:
    return format_money(value, "EUR")


register_field("state", gettext_lazy("State"), _state, object_type=OPERATION)
register_field("kind", gettext_lazy("Kind"), lambda v, c: _label(OperationKind, v))
register_field("reason", gettext_lazy("Reason"), lambda v, c: _label(OperationReason, v))
register_field("amount", gettext_lazy("Amount"), None)
register_field("currency", gettext_lazy("Currency"), None)
register_field("transaction", gettext_lazy("Payment"), None)
register_field("result", gettext_lazy("SIBS transaction"), None)
register_field("return_code", gettext_lazy("SIBS return code"), None)
register_field("inquiry", gettext_lazy("Status inquiry"), None)
register_field("four_eyes_threshold", gettext_lazy("Four-eyes threshold"), _money_text)
register_field("scope", gettext_lazy("Applies to"), None)
register_field("terminal_number", gettext_lazy("Terminal number"), None)
register_field("client_id", gettext_lazy("Client ID"), None)
register_field("token_hint", gettext_lazy("Token ends in"), None)
register_field("api_root_preset", gettext_lazy("Gateway environment"), None)
register_field("custom_api_root", gettext_lazy("Custom API address"), None)
register_field("query", gettext_lazy("Filters"), None)
register_field("shared", gettext_lazy("Shared with the team"), None)

for _action, _template in (
    ("gateway_credential.created", gettext_lazy("%(actor)s added the gateway credential %(object)s")),
    ("gateway_credential.deactivated", gettext_lazy("%(actor)s deactivated the gateway credential %(object)s")),
    ("saved_view.created", gettext_lazy("%(actor)s saved the view %(object)s")),
    ("saved_view.renamed", gettext_lazy("%(actor)s renamed the view %(object)s")),
    ("saved_view.deleted", gettext_lazy("%(actor)s deleted the view %(object)s")),
    ("operation_policy.changed", gettext_lazy("%(actor)s changed the four-eyes threshold for refunds")),
    ("payment.password_failed", gettext_lazy("%(actor)s entered a wrong password to confirm a money action")),
):
    register_sentence(_action, _template)
