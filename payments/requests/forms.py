"""The "new payment request" form: shapes the input; the rules live in the service."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from payments.requests.models import PaymentRequest, RequestLanguage, RequestMethod
from payments.requests.services import MAX_DESCRIPTION, MAX_KEY_LENGTH, MAX_ORDER_REFERENCE

VALIDITY_CHOICES = [
    ("1", _("1 day")),
    ("3", _("3 days")),
    ("7", _("7 days")),
    ("30", _("30 days")),
]
# Service error fields → form fields.
FIELD_FOR = {"valid_until": "validity", "entity": "reference_entity"}


def new_key() -> str:
    """The idempotency key the form carries from the moment it is rendered: a double click or a
    resent form finds the request the first one made."""
    return secrets.token_urlsafe(24)


class TerminalChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.store.name} · {obj.terminal_id}"


class PaymentRequestForm(forms.Form):
    terminal = TerminalChoice(label=_("Terminal"), queryset=None, empty_label=None)
    method = forms.ChoiceField(label=_("Method"), choices=RequestMethod.choices, widget=forms.RadioSelect)
    amount = forms.CharField(
        label=_("Amount (€)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    order_reference = forms.CharField(label=_("Order reference"), max_length=MAX_ORDER_REFERENCE)
    description = forms.CharField(label=_("Description"), max_length=MAX_DESCRIPTION, required=False)
    phone = forms.CharField(
        label=_("Customer's MB WAY phone"),
        max_length=32,
        required=False,
        help_text=_("912345678 or +351 912345678; another country as 34#612345678."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    reference_entity = forms.CharField(
        label=_("Payment entity"),
        max_length=5,
        required=False,
        help_text=_("The 5-digit MULTIBANCO entity agreed with SIBS."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    validity = forms.ChoiceField(label=_("Can be paid for"), choices=VALIDITY_CHOICES, initial="3", required=False)
    customer_email = forms.EmailField(
        label=_("Customer's e-mail (optional)"),
        required=False,
        help_text=_("For a MULTIBANCO reference, the customer gets it by e-mail."),
    )
    language = forms.ChoiceField(label=_("Customer's language"), choices=RequestLanguage.choices)
    idempotency_key = forms.CharField(max_length=MAX_KEY_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args, terminals, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["terminal"].queryset = terminals
        if len(terminals) == 1:
            self.fields["terminal"].initial = terminals[0].pk
            self.fields["terminal"].help_text = _("The store's only terminal.")
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())
            self.initial.setdefault("method", RequestMethod.MBWAY)
            self.initial.setdefault("language", "pt" if (get_language() or "pt").startswith("pt") else "en")
            last = (
                PaymentRequest.objects.filter(merchant=merchant, method=RequestMethod.REFERENCE)
                .exclude(reference_entity="")
                .order_by("-created_at")
                .values_list("reference_entity", flat=True)
                .first()
            )
            if last:
                self.initial.setdefault("reference_entity", last)

    def valid_until(self):
        days = self.cleaned_data.get("validity") or "3"
        return timezone.now() + timedelta(days=int(days))

    def add_service_error(self, error) -> None:
        field = FIELD_FOR.get(error.field or "", error.field)
        self.add_error(field if field in self.fields else None, error.message)
