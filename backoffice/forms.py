from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from backoffice.models import Store, Terminal
from backoffice.roles import Role, grantable_roles


class ActivationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    code = forms.CharField(label=_("Activation code"), max_length=32, strip=True)
    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput, max_length=256, strip=False)
    password2 = forms.CharField(
        label=_("New password (again)"), widget=forms.PasswordInput, max_length=256, strip=False
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords are not the same."))
        return data


def _store_choices(access: Access):
    stores = Store.objects.filter(merchant=access.merchant).order_by("name")
    if access.is_store_limited:
        stores = stores.filter(pk__in=access.store_ids)
    return stores


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    stores = forms.ModelMultipleChoiceField(
        label=_("Stores"),
        queryset=Store.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty for every store, including stores added later."),
    )

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        self.access = access
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r in grantable_roles(access.role)]
        self.fields["stores"].queryset = _store_choices(access)
        if access.is_store_limited:
            self.fields["stores"].required = True
            self.fields["stores"].help_text = _("Choose at least one of your stores.")


class InviteForm(MembershipForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language of the e-mail"), choices=settings.LANGUAGES)

    field_order = ["email", "full_name", "role", "stores", "language"]


class ApiKeyForm(MembershipForm):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses this key, e.g. “e-shop”."))

    field_order = ["name", "role", "stores"]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Who"), max_length=254, required=False)
    action = forms.ChoiceField(
        label=_("What"),
        required=False,
        # Each choice is the start of the action codes it covers (see backoffice.audit_display).
        choices=[
            ("", _("Everything")),
            ("payment", _("Refunds, captures and cancellations")),
            ("membership", _("Users and roles")),
            ("user", _("Sign-ins and passwords")),
            ("mfa", _("Second factor")),
            ("api_key", _("API keys")),
            ("gateway_credential", _("Gateway credentials")),
            ("webhook", _("Webhooks and notifications")),
            ("saved_view", _("Saved views")),
            ("operation_policy", _("Four-eyes threshold")),
        ],
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("“From” must be on or before “To”."))
        return data


class ScopeChoiceMixin:
    """A scope field of "merchant", "store:<pk>" or "terminal:<pk>" (gateway credentials,
    webhooks), limited to what the access may configure; ``_stores``/``_terminals`` map the keys
    back to objects.

    A store or terminal of another merchant (or outside a store-limited admin's stores) is simply
    not among the choices, and is refused with a message saying so.
    """

    def _init_scope(self, access: Access, *, field: str = "scope", allow_merchant: bool = True) -> None:
        stores = Store.objects.filter(merchant=access.merchant).order_by("name")
        terminals = Terminal.objects.filter(merchant=access.merchant).select_related("store").order_by("terminal_id")
        if access.is_store_limited:
            stores = stores.filter(pk__in=access.store_ids)
            terminals = terminals.filter(store__in=access.store_ids)
        self._stores = {f"store:{s.pk}": s for s in stores}
        self._terminals = {f"terminal:{t.pk}": t for t in terminals}
        choices = [("merchant", _("Whole merchant"))] if allow_merchant and not access.is_store_limited else []
        choices += [(key, _("Store: %(name)s") % {"name": s.name}) for key, s in self._stores.items()]
        choices += [
            (
                key,
                _("Terminal: %(id)s · %(name)s (%(store)s)") % {"id": t.terminal_id, "name": t.name, "store": t.store},
            )
            for key, t in self._terminals.items()
        ]
        self.fields[field].choices = choices

    @staticmethod
    def scope_key(obj) -> str:
        """The choice for an object with ``store``/``terminal`` (a webhook, a credential)."""
        if obj.terminal_id:
            return f"terminal:{obj.terminal_id}"
        if obj.store_id:
            return f"store:{obj.store_id}"
        return "merchant"
