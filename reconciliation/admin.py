"""Platform staff see settlement files, imports and exceptions; money records are not edited
or deleted here (a file is corrected by a later file, an exception by its own history)."""

from django.contrib import admin

from reconciliation.models import (
    ExceptionAction,
    ImportAttempt,
    ReconciliationException,
    ReconciliationSettings,
    SettlementFile,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SettlementFile)
class SettlementFileAdmin(ReadOnly):
    list_display = ("name", "merchant", "source", "line_count", "net_total", "exception_count", "imported_at")
    list_filter = ("source",)
    search_fields = ("name", "sha256")


@admin.register(ImportAttempt)
class ImportAttemptAdmin(ReadOnly):
    list_display = ("file_name", "merchant", "source", "outcome", "error_count", "created_at")
    list_filter = ("outcome", "source")


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(ReadOnly):
    list_display = ("id", "merchant", "kind", "state", "value_date", "amount", "currency", "resolution")
    list_filter = ("kind", "state")


@admin.register(ExceptionAction)
class ExceptionActionAdmin(ReadOnly):
    list_display = ("exception", "action", "resolution", "reason", "actor_label", "created_at")


@admin.register(ReconciliationSettings)
class ReconciliationSettingsAdmin(ReadOnly):
    list_display = ("merchant", "layout", "tolerance", "expected_business_days", "sftp_enabled", "updated_at")
    exclude = ("sftp_password", "sftp_private_key", "pgp_private_key", "pgp_passphrase")
