"""Forms of the QR Code Express pages: they parse input; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from qrexpress.models import DESCRIPTION_MAX, PRODUCT_NAME_MAX, QR_CODE_ID_MAX, FulfilmentState, ProductStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProductFieldsForm(forms.Form):
    product_name = forms.CharField(label=_("Product name (shown in MB WAY)"), max_length=PRODUCT_NAME_MAX)
    description = forms.CharField(
        label=_("Internal description"), max_length=DESCRIPTION_MAX, help_text=_("Not shown to customers.")
    )
    price = forms.DecimalField(label=_("Price (€)"), max_digits=10, decimal_places=2, min_value=0.01)
    expedition_amount = forms.DecimalField(
        label=_("Shipping amount (€)"), max_digits=10, decimal_places=2, min_value=0, initial=0
    )
    two_step_purchase = forms.BooleanField(label=_("Two-step purchase"), required=False)
    expires_on = forms.DateField(label=_("Expiry date"), required=False, widget=DATE)
    collect_tax_number = forms.BooleanField(label=_("Ask for the tax number"), required=False)
    collect_billing_address = forms.BooleanField(label=_("Ask for the billing address"), required=False)
    collect_shipping_address = forms.BooleanField(label=_("Ask for the shipping address"), required=False, initial=True)
    collect_phone = forms.BooleanField(label=_("Ask for the phone"), required=False, initial=True)
    collect_email = forms.BooleanField(label=_("Ask for the e-mail"), required=False)
    support_contact = forms.CharField(label=_("Customer support contact"), max_length=100, required=False)
    terms_url = forms.URLField(
        label=_("Terms and conditions link"), max_length=300, required=False, assume_scheme="https"
    )
    status = forms.ChoiceField(label=_("Status"), choices=ProductStatus.choices, initial=ProductStatus.ACTIVE)
    qr_content = forms.CharField(
        label=_("QR code content"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The content string SIBS Backoffice shows for this code. Left empty with the sandbox gateway."),
    )
    low_stock_threshold = forms.IntegerField(
        label=_("Low-stock threshold"),
        required=False,
        min_value=0,
        help_text=_("One e-mail to the QR Code Managers when the stock falls to this number."),
    )
    auto_suspend = forms.BooleanField(label=_("Suspend (SUS) when the stock runs out"), required=False)
    auto_reactivate = forms.BooleanField(label=_("Reactivate when stock is added"), required=False)


class QrImageForm(forms.Form):
    qr_image = forms.FileField(
        label=_("SIBS's QR image (PNG)"),
        required=False,
        help_text=_("Instead of the content string: the image SIBS Backoffice gives for this code."),
    )
    remove_qr_image = forms.BooleanField(label=_("Remove the uploaded image"), required=False)


class ProductCreateForm(ProductFieldsForm):
    terminal = forms.ModelChoiceField(label=_("Terminal"), queryset=None)
    qr_code_id = forms.CharField(
        label=_("QR Code ID"),
        max_length=QR_CODE_ID_MAX,
        required=False,
        help_text=_("As SIBS Backoffice shows it. Leave empty with the sandbox gateway: it creates one."),
    )
    stock_managed = forms.BooleanField(label=_("Manage stock"), required=False, initial=True)
    initial_units = forms.IntegerField(label=_("Initial units"), required=False, min_value=0, initial=0)

    field_order = ["terminal", "qr_code_id", "product_name", "description", "price", "expedition_amount"]

    def __init__(self, *args, terminals=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["terminal"].queryset = terminals


class StockForm(forms.Form):
    operation = forms.ChoiceField(
        label=_("Change"),
        choices=[("add", _("Add units")), ("remove", _("Remove units")), ("define", _("Set the stock to"))],
    )
    units = forms.IntegerField(label=_("Units"), min_value=0, max_value=1_000_000)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class FulfilmentForm(forms.Form):
    state = forms.ChoiceField(label=_("Fulfilment"), choices=FulfilmentState.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    restock = forms.BooleanField(label=_("Return the units to stock (refunds)"), required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("QRCodeImportTemplate file (CSV)"))
