"""Forms of the refund, capture and cancellation dialogs. The rules live in the service."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from common.forms import MoneyField
from payments.models import OperationKind, OperationReason
from payments.services.operations import MAX_COMMENT_LENGTH, MAX_KEY_LENGTH, OperationError, parse_amount

# Reasons offered per action (the service accepts any reason of the list).
REASONS = {
    OperationKind.REFUND: [
        OperationReason.CUSTOMER_REQUEST,
        OperationReason.RETURNED_GOODS,
        OperationReason.NOT_DELIVERED,
        OperationReason.DUPLICATE,
        OperationReason.WRONG_AMOUNT,
        OperationReason.SUSPECTED_FRAUD,
        OperationReason.OTHER,
    ],
    OperationKind.CAPTURE: [
        OperationReason.SHIPPED,
        OperationReason.PARTIAL_SHIPMENT,
        OperationReason.CUSTOMER_REQUEST,
        OperationReason.OTHER,
    ],
    OperationKind.CANCELLATION: [
        OperationReason.ORDER_CANCELLED,
        OperationReason.CUSTOMER_REQUEST,
        OperationReason.DUPLICATE,
        OperationReason.SUSPECTED_FRAUD,
        OperationReason.OTHER,
    ],
}


def new_key() -> str:
    """The idempotency key a form carries from the moment it is rendered."""
    return secrets.token_urlsafe(24)


class OperationForm(forms.Form):
    amount = forms.CharField(label=_("Amount"), max_length=20, required=False)
    reason = forms.ChoiceField(label=_("Reason"))
    comment = forms.CharField(
        label=_("Comment"), max_length=MAX_COMMENT_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    idempotency_key = forms.CharField(max_length=MAX_KEY_LENGTH, widget=forms.HiddenInput)
    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Refunds move money back to the customer: confirm it is you."),
    )

    def __init__(self, *args, kind: str, currency: str = "EUR", fixed_amount: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.currency = currency or "EUR"
        self.fixed_amount = fixed_amount
        self.fields["reason"].choices = [(r.value, r.label) for r in REASONS[kind]]
        if kind == OperationKind.REFUND:
            self.fields["password"].required = True
        else:
            del self.fields["password"]
        if fixed_amount:
            self.fields["amount"].widget = forms.HiddenInput()
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())

    def clean_amount(self):
        try:
            return parse_amount(self.cleaned_data.get("amount"), self.currency, typed=True)
        except OperationError as error:
            raise forms.ValidationError(error.message) from None

    def clean_idempotency_key(self):
        key = self.cleaned_data["idempotency_key"].strip()
        if not key or not key.isprintable():
            raise forms.ValidationError(_("This form is out of date: reload the page."))
        return key


class DecisionForm(forms.Form):
    """Approve or reject a refund waiting for a second person."""

    comment = forms.CharField(label=_("Comment"), max_length=MAX_COMMENT_LENGTH, required=False)
    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PolicyForm(forms.Form):
    four_eyes_threshold = MoneyField(
        label=_("Refunds above this amount need a second person's approval"),
        required=False,
        max_value=Decimal("9999999999.99"),
        help_text=_("Leave empty to let any refund go through without approval."),
    )
