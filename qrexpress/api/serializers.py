"""Serializers of the QR Code Express API: input types (the rules are the services') and outputs."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from qrexpress.models import (
    DESCRIPTION_MAX,
    PRODUCT_NAME_MAX,
    QR_CODE_ID_MAX,
    FulfilmentState,
    ProductStatus,
    StockSource,
)


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    qr_code_id = serializers.CharField()
    terminal_id = serializers.IntegerField()
    store = serializers.IntegerField()
    product_name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.CharField(help_text='Two decimals, e.g. "12.50".')
    expedition_amount = serializers.CharField()
    currency = serializers.CharField()
    two_step_purchase = serializers.BooleanField()
    status = serializers.ChoiceField(choices=ProductStatus.choices)
    stock_managed = serializers.BooleanField()
    stock_units = serializers.IntegerField(allow_null=True)
    low_stock_threshold = serializers.IntegerField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    sibs_units = serializers.IntegerField(allow_null=True, help_text="SIBS's units at the last stock call or sync.")
    stock_drift = serializers.IntegerField(allow_null=True, help_text="SIBS's units minus ours; 0 when they agree.")
    sibs_checked_at = serializers.DateTimeField(allow_null=True)
    sold_total = serializers.IntegerField(allow_null=True)
    sold_today = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "QrProduct"


class EntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField()
    source = serializers.ChoiceField(choices=StockSource.choices)
    delta = serializers.IntegerField()
    units_after = serializers.IntegerField()
    reason = serializers.CharField()
    actor = serializers.CharField()
    purchase = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "QrStockEntry"


class PurchaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(allow_null=True)
    qr_code_id = serializers.CharField()
    transaction_id = serializers.CharField()
    purchased_at = serializers.DateTimeField()
    quantity = serializers.IntegerField()
    oversold_units = serializers.IntegerField(help_text="Units sold without stock: to ship anyway or refund.")
    unit_amount = serializers.CharField(allow_null=True)
    expedition_amount = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    fulfilment = serializers.ChoiceField(choices=FulfilmentState.choices)
    billing_tin = serializers.CharField(required=False, help_text="Only for roles that fulfil orders.")
    billing_address = serializers.DictField(required=False)
    shipping_name = serializers.CharField(required=False)
    shipping_address = serializers.DictField(required=False)
    phone = serializers.CharField(required=False)
    email = serializers.CharField(required=False)

    class Meta:
        ref_name = "QrPurchase"


def _page_of(name: str, item) -> serializers.Serializer:
    return inline_serializer(
        name, {"results": item(many=True), "limit": serializers.IntegerField(), "offset": serializers.IntegerField()}
    )


_STOCK_CHANGE = inline_serializer("QrStockChange", {"product": ProductOutput(), "entry": EntryOutput(allow_null=True)})


class _ProductFields(serializers.Serializer):
    """Types only: the rules (lengths, expiry in the future, amounts) are the service's."""

    product_name = serializers.CharField(max_length=PRODUCT_NAME_MAX)
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    expedition_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    two_step_purchase = serializers.BooleanField(required=False, default=False)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    collect_tax_number = serializers.BooleanField(required=False, default=False)
    collect_billing_address = serializers.BooleanField(required=False, default=False)
    collect_shipping_address = serializers.BooleanField(required=False, default=True)
    collect_phone = serializers.BooleanField(required=False, default=True)
    collect_email = serializers.BooleanField(required=False, default=False)
    support_contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    terms_url = serializers.URLField(max_length=300, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False, default=ProductStatus.ACTIVE)
    qr_content = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    low_stock_threshold = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    auto_suspend = serializers.BooleanField(required=False, default=False)
    auto_reactivate = serializers.BooleanField(required=False, default=False)


class ProductCreateInput(_ProductFields):
    terminal_id = serializers.IntegerField(min_value=1, help_text="The SIBS terminal id.")
    qr_code_id = serializers.CharField(
        max_length=QR_CODE_ID_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty: the sandbox makes one.",
    )
    stock_managed = serializers.BooleanField(required=False, default=True)
    initial_units = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)


class ProductUpdateInput(_ProductFields):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
