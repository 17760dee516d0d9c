from django.contrib import admin

from qrexpress.models import BulkImport, Purchase, QrProduct, StockApiSettings, StockEntry


@admin.register(QrProduct)
class QrProductAdmin(admin.ModelAdmin):
    list_display = ("product_name", "qr_code_id", "merchant", "terminal", "status", "stock_units", "stock_drift")
    list_filter = ("status", "stock_managed")
    search_fields = ("product_name", "qr_code_id", "description")
    # The units change through the ledger only.
    readonly_fields = ("stock_units", "sibs_units", "stock_drift", "sibs_checked_at")


@admin.register(StockEntry)
class StockEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "product", "source", "delta", "units_after", "actor_label")
    list_filter = ("source",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ("purchased_at", "qr_code_id", "quantity", "amount", "oversold_units", "fulfilment")
    list_filter = ("fulfilment",)
    raw_id_fields = ("transaction", "product")


admin.site.register(StockApiSettings)
admin.site.register(BulkImport)
