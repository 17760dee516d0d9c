"""Django admin for platform staff: inbound endpoints, secrets (never shown), notifications."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from backoffice.audit import actor_from_request
from webhooks.inbound import services
from webhooks.models import InboundEndpoint, InboundNotification, RejectedNotification, WebhookSecret


@admin.register(InboundEndpoint)
class InboundEndpointAdmin(admin.ModelAdmin):
    list_display = ["merchant", "url", "ack_status_code", "is_active", "created_at"]
    readonly_fields = ["merchant", "token", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookSecret)
class WebhookSecretAdmin(admin.ModelAdmin):
    list_display = ["__str__", "merchant", "origin", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["merchant", "origin"]
    exclude = ["secret"]
    readonly_fields = [
        "merchant",
        "label",
        "secret_hash",
        "origin",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InboundNotification)
class InboundNotificationAdmin(admin.ModelAdmin):
    list_display = ["notification_id", "merchant", "transaction_ref", "received_at", "state", "attempts"]
    list_filter = ["state", "merchant"]
    search_fields = ["notification_id", "transaction_ref"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Process the failed ones again"))
    def reprocess(self, request, queryset):
        count = services.inbound_reprocess(
            inbound_ids=list(queryset.values_list("pk", flat=True)), actor=actor_from_request(request)
        )
        messages.info(request, _("%(n)d notification(s) put back in line; the sweep processes them.") % {"n": count})


@admin.register(RejectedNotification)
class RejectedNotificationAdmin(admin.ModelAdmin):
    list_display = ["received_at", "merchant", "reason", "http_status", "remote_addr", "body_size"]
    list_filter = ["reason", "merchant"]
    date_hierarchy = "received_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
