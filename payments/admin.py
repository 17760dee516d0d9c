"""Django admin for platform staff: transactions and their timelines (read-only), credentials."""

from __future__ import annotations

from django.contrib import admin

from payments.models import GatewayCredential, Transaction, TransactionEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """What SIBS reported is a record, not something to edit by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = TransactionEvent
    fk_name = "transaction"
    extra = 0
    can_delete = False
    fields = ["occurred_at", "kind", "outcome", "out_of_order", "payment_status", "payment_type", "amount", "detail"]
    readonly_fields = fields
    ordering = ["occurred_at", "id"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "transaction_id",
        "merchant",
        "terminal_number",
        "payment_method",
        "payment_type",
        "payment_status",
        "state",
        "amount",
        "currency",
        "created_at",
    ]
    list_filter = ["state", "payment_method", "payment_type", "payment_status", "merchant"]
    search_fields = ["transaction_id", "secondary_transaction_id", "merchant_transaction_id", "reference_number"]
    date_hierarchy = "created_at"
    inlines = [EventInline]
    raw_id_fields = ["original"]


@admin.register(TransactionEvent)
class TransactionEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "transaction", "kind", "outcome", "out_of_order", "payment_status", "payment_type"]
    list_filter = ["kind", "outcome", "out_of_order"]
    search_fields = ["transaction__transaction_id", "notification_id"]
    list_select_related = ["transaction"]


@admin.register(GatewayCredential)
class GatewayCredentialAdmin(admin.ModelAdmin):
    list_display = ["__str__", "merchant", "scope", "terminal_number", "client_id", "api_root_preset", "is_active"]
    list_filter = ["is_active", "api_root_preset", "merchant"]
    # The token is never shown, nor edited here: merchants add credentials on their own page.
    exclude = ["bearer_token"]
    readonly_fields = ["token_hint", "created_by", "created_at", "deactivated_at"]

    def has_add_permission(self, request):
        return False


# Payment methods per terminal: requests for new methods, entities, checks.
from payments.methods import admin as _methods_admin  # noqa: E402, F401
