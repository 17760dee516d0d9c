"""Django admin for platform staff: payment requests, read-only (the phone and the transaction
signature stay encrypted and are never shown)."""

from __future__ import annotations

from django.contrib import admin

from payments.requests.models import PaymentRequest


@admin.register(PaymentRequest)
class PaymentRequestAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "merchant",
        "method",
        "amount",
        "currency",
        "order_reference",
        "state",
        "requested_by_label",
    ]
    list_filter = ["state", "method", "merchant"]
    search_fields = ["order_reference", "gateway_reference", "sibs_transaction_id", "reference_number"]
    exclude = ["customer_phone", "transaction_signature"]
    readonly_fields = [
        f.name
        for f in PaymentRequest._meta.get_fields()
        if f.concrete and f.name not in ("customer_phone", "transaction_signature")
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
