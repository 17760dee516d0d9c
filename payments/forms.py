"""Forms of the payments pages. Validation of substance lives in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from backoffice.models import Store, Terminal
from payments.models import ApiRootPreset


class CredentialForm(forms.Form):
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
        stores = Store.objects.filter(merchant=access.merchant).order_by("name")
        terminals = Terminal.objects.filter(merchant=access.merchant).select_related("store").order_by("terminal_id")
        if access.is_store_limited:
            stores = stores.filter(pk__in=access.store_ids)
            terminals = terminals.filter(store__in=access.store_ids)
        self._stores = {f"store:{s.pk}": s for s in stores}
        self._terminals = {f"terminal:{t.pk}": t for t in terminals}
        choices = [] if access.is_store_limited else [("merchant", _("Whole merchant"))]
        choices += [(key, _("Store: %(name)s") % {"name": s.name}) for key, s in self._stores.items()]
        choices += [
            (key, _("Terminal: %(id)s · %(name)s") % {"id": t.terminal_id, "name": t.name})
            for key, t in self._terminals.items()
        ]
        self.fields["scope"].choices = choices

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
