"""Form fields shared by the apps."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from common.money import MoneyInputError, money_input, parse_money


class MoneyField(forms.Field):
    """An amount as a person types it in either language (``20,00``, ``1.234,56``, ``20.00``),
    read by :func:`common.money.parse_money`; shown for editing as ``20,00`` in Portuguese."""

    default_error_messages = {
        "invalid": _("Enter an amount, e.g. 20,00."),
        "too_many_decimals": _("The amount can have at most %(places)s decimals."),
        "negative": _("The amount cannot be negative."),
    }

    def __init__(self, *, currency: str = "EUR", max_value: Decimal | None = None, **kwargs):
        self.currency = currency
        self.max_value = max_value
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def prepare_value(self, value):
        if isinstance(value, Decimal | int):
            return money_input(value, self.currency)
        return value

    def to_python(self, value):
        text = "" if value in self.empty_values else str(value).strip()
        if len(text) > 30:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            amount = parse_money(text, self.currency, typed=True)
        except MoneyInputError as error:
            if error.code == "too_many_decimals":
                raise forms.ValidationError(
                    self.error_messages["too_many_decimals"], code="too_many_decimals", params={"places": error.places}
                ) from None
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if amount is not None and amount < 0:
            raise forms.ValidationError(self.error_messages["negative"], code="negative")
        if amount is not None and self.max_value is not None and amount > self.max_value:
            raise forms.ValidationError(_("The amount is too large."), code="max_value")
        return amount
