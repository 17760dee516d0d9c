"""Forms of the inbound configuration. Validation of substance lives in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import (
    AckStatusCode,
)


class SecretGenerateForm(forms.Form):
    prefix = "generate"
    label = forms.CharField(label=_("Label"), max_length=100, required=False, help_text=_("For example “SIBS QLY”."))


class SecretEnterForm(forms.Form):
    prefix = "enter"
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    secret = forms.CharField(
        label=_("Secret from SIBS Backoffice"),
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("44 Base64 characters, ending in “=”."),
    )


class InboundSettingsForm(forms.Form):
    prefix = "inbound"
    ack_status_code = forms.ChoiceField(
        label=_("statusCode in the acknowledgement"),
        choices=AckStatusCode.choices,
        help_text=_("SIBS documents disagree; “200” unless SIBS asks you for “000”."),
    )


# =========================================================================== outbound webhooks
