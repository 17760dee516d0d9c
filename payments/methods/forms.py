"""Forms of the payment-methods tabs. They only parse; the rules live in the services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from payments.methods import selectors
from payments.methods.catalogue import SETTINGS, Method
from payments.methods.resolution import Value

TRI = {"": None, "on": True, "off": False}


def _tri_choices(inherited: Value | None, *, top: bool) -> list[tuple[str, str]]:
    if inherited is None:
        first = _("Not set")
    else:
        shown = _("on") if inherited.value else _("off")
        first = _("Default (%(value)s)") % {"value": shown} if top else _("Inherit (%(value)s)") % {"value": shown}
    return [("", first), ("on", _("On")), ("off", _("Off"))]


class SettingForm(forms.Form):
    """One method at one level. Every field left empty inherits (the hint says from where)."""

    def __init__(self, *args, access: Access, method: str, inherited: dict[str, Value], top: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.method = method
        names = SETTINGS.get(method, ())
        self.fields["enabled"] = forms.ChoiceField(
            label=_("Offered"), required=False, choices=_tri_choices(inherited.get("enabled"), top=top)
        )
        if "reference_entity" in names:
            self.fields["reference_entity"] = forms.ModelChoiceField(
                label=_("Payment entity"),
                queryset=selectors.entity_list(access=access).filter(is_active=True),
                required=False,
                empty_label=_("Inherit"),
            )
            self.fields["validity"] = forms.IntegerField(
                label=_("Reference validity"), required=False, min_value=1, max_value=365 * 24
            )
            self.fields["validity_unit"] = forms.ChoiceField(
                label=_("Unit"), choices=[("days", _("days")), ("hours", _("hours"))], required=False
            )
            for name, label in (
                ("reference_min_amount", _("Minimum amount")),
                ("reference_max_amount", _("Maximum amount")),
            ):
                self.fields[name] = forms.DecimalField(
                    label=label, required=False, max_digits=12, decimal_places=2, min_value=Decimal("0.01")
                )
        if "card_tokenisation" in names:
            self.fields["card_tokenisation"] = forms.ChoiceField(
                label=_("Offer to keep the card (tokenisation)"),
                required=False,
                choices=_tri_choices(inherited.get("card_tokenisation"), top=top),
            )
            self.fields["mit_recurring_terms_url"] = forms.CharField(
                label=_("Terms for recurring payments (https)"), required=False, max_length=300
            )
            self.fields["mit_unscheduled_terms_url"] = forms.CharField(
                label=_("Terms for unscheduled card-on-file payments (https)"), required=False, max_length=300
            )
        if "mandate_company_name" in names:
            self.fields["mandate_company_name"] = forms.CharField(
                label=_("Company name"), required=False, max_length=100
            )
            self.fields["mandate_terms_url"] = forms.CharField(
                label=_("Terms and conditions (https)"), required=False, max_length=300
            )
        for name, field in self.fields.items():
            value = inherited.get(name)
            if value is not None and name not in ("enabled", "card_tokenisation"):
                field.help_text = _inherited_hint(value)
        if "validity" in self.fields and inherited.get("reference_validity_hours"):
            self.fields["validity"].help_text = _inherited_hint(inherited["reference_validity_hours"], hours=True)

    def values(self) -> dict:
        """The cleaned data as the service takes it (``None`` or blank: inherit)."""
        data = self.cleaned_data
        out: dict = {"enabled": TRI[data.get("enabled") or ""]}
        for name in SETTINGS.get(self.method, ()):
            if name == "reference_validity_hours":
                number = data.get("validity")
                out[name] = None if number is None else number * (24 if data.get("validity_unit") == "days" else 1)
            elif name == "card_tokenisation":
                out[name] = TRI[data.get(name) or ""]
            else:
                out[name] = data.get(name)
        return out

    def clean(self):
        data = super().clean()
        number = data.get("validity")
        if number is not None and data.get("validity_unit") == "days" and number > 365:
            self.add_error("validity", _("At most 365 days."))
        return data


def _inherited_hint(value: Value, *, hours: bool = False) -> str:
    if value.source == "default":
        if value.value in (None, ""):
            return str(_("Empty: nothing is set above."))
        shown = value.value
    else:
        shown = value.value if value.value not in (None, "") else "—"
    if hours and isinstance(shown, int):
        shown = _("%(n)s days") % {"n": shown // 24} if shown % 24 == 0 else _("%(n)s hours") % {"n": shown}
    sources = {"merchant": _("the merchant"), "store": _("the store"), "default": _("the default")}
    return str(
        _("Empty inherits %(value)s from %(source)s.")
        % {"value": shown, "source": sources.get(value.source, value.source)}
    )


def initial_for(row, method: str) -> dict:
    """The form's initial values from the level's own row (None: nothing set here)."""
    if row is None:
        return {}
    initial: dict = {"enabled": {None: "", True: "on", False: "off"}[row.enabled]}
    for name in SETTINGS.get(method, ()):
        value = getattr(row, name)
        if name == "reference_validity_hours":
            if value is not None:
                initial["validity"], initial["validity_unit"] = (
                    (value // 24, "days") if value % 24 == 0 else (value, "hours")
                )
        elif name == "card_tokenisation":
            initial[name] = {None: "", True: "on", False: "off"}[value]
        elif name == "reference_entity":
            initial[name] = row.reference_entity_id
        else:
            initial[name] = value
    return initial


class EntityForm(forms.Form):
    entity = forms.CharField(label=_("Entity (5 digits)"), max_length=5, min_length=5)
    description = forms.CharField(label=_("Description"), max_length=100, required=False)


class RequestForm(forms.Form):
    method = forms.ChoiceField(label=_("Payment method"), choices=Method.choices)
    stores = forms.ModelMultipleChoiceField(
        label=_("Stores"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    terminals = forms.ModelMultipleChoiceField(
        label=_("Terminals"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    expected_volume = forms.CharField(
        label=_("Expected volume"), max_length=200, help_text=_("For example: 300 payments a month, 15,000 EUR.")
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=150)
    contact_email = forms.EmailField(label=_("Contact e-mail"))
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = selectors.store_list(access=access)
        self.fields["terminals"].queryset = selectors.terminal_list(access=access)

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("stores") and not data.get("terminals"):
            raise forms.ValidationError(_("Choose at least one store or terminal."))
        return data
