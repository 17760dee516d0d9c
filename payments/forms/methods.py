"""Forms of the payments pages. Validation of substance lives in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from backoffice.forms import ScopeChoiceMixin
from payments.models import ApiRootPreset


class CredentialForm(ScopeChoiceMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    scope = forms.ChoiceField(label=_("Applies to"))
    terminal_number = forms.IntegerField(
        label=_("SIBS terminal id"),
        min_value=1,
        max_value=9_999_999_999,
        required=False,
        help_text=_("The terminal the token was issued for. Left empty for a terminal, it is that terminal's id."),
    )
    client_id = forms.CharField(label=_("Client id (X-IBM-Client-Id)"), max_length=100)
    bearer_token = forms.CharField(
        label=_("Bearer token"),
        max_length=4096,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Encrypted at rest and never shown again; only its last 4 characters are."),
    )
    api_root_preset = forms.ChoiceField(label=_("API address"), choices=ApiRootPreset.choices)
    custom_api_root = forms.CharField(
        label=_("Other address"),
        max_length=300,
        required=False,
        help_text=_("Only for “Other address”: https://…/api/v2"),
    )

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        self.access = access
        self._init_scope(access)

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        data["store"] = self._stores.get(scope)
        data["terminal"] = self._terminals.get(scope)
        if scope and data["terminal"] is None and not data.get("terminal_number"):
            self.add_error("terminal_number", _("Enter the SIBS terminal id this token was issued for."))
        if data.get("api_root_preset") == ApiRootPreset.CUSTOM and not data.get("custom_api_root"):
            self.add_error("custom_api_root", _("Enter the address, or choose one of the presets."))
        return data
