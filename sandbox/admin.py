"""The sandbox in Django admin: configuration, payments, operations, the notification outbox."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from .gateway import KNOWN_METHODS
from .models import (
    SandboxDeliveryAttempt,
    SandboxMerchant,
    SandboxNotification,
    SandboxOperation,
    SandboxPayment,
    SandboxTerminalMethods,
)
from .notifications import notification_resend


class TerminalMethodsForm(forms.ModelForm):
    methods = forms.MultipleChoiceField(
        choices=[(m, m) for m in KNOWN_METHODS], widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = SandboxTerminalMethods
        fields = ("terminal_id", "methods")

    def clean(self):
        data = super().clean()
        merchant = getattr(self.instance, "merchant", None) if self.instance.merchant_id else None
        if merchant is not None and data.get("terminal_id") not in merchant.terminal_ids:
            self.add_error("terminal_id", "Not a terminal of this client.")
        return data


class TerminalMethodsInline(admin.TabularInline):
    """Which payment methods the gateway has active per terminal (paymentMethodList)."""

    model = SandboxTerminalMethods
    form = TerminalMethodsForm
    extra = 0


@admin.register(SandboxMerchant)
class SandboxMerchantAdmin(admin.ModelAdmin):
    inlines = [TerminalMethodsInline]
    list_display = ("merchant_name", "client_id", "terminal_ids", "notification_url", "notification_style")
    # The bearer token and the webhook secret are set with sandbox_configure, never shown here.
    exclude = ("bearer_token", "notification_secret")
    search_fields = ("merchant_name", "client_id")


class SandboxOperationInline(admin.TabularInline):
    model = SandboxOperation
    extra = 0
    can_delete = False
    fields = ("kind", "transaction_id", "amount", "status", "return_code", "created_at")
    readonly_fields = fields


@admin.register(SandboxPayment)
class SandboxPaymentAdmin(admin.ModelAdmin):
    list_display = ("transaction_id", "merchant", "payment_type", "payment_method", "amount", "status", "created_at")
    list_filter = ("status", "payment_method", "payment_type", "kind")
    search_fields = ("transaction_id", "merchant_transaction_id", "reference")
    readonly_fields = ("signature_hash",)
    inlines = [SandboxOperationInline]


class SandboxDeliveryAttemptInline(admin.TabularInline):
    model = SandboxDeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "http_status", "acknowledged", "reason")
    readonly_fields = fields


@admin.register(SandboxNotification)
class SandboxNotificationAdmin(admin.ModelAdmin):
    list_display = ("notification_id", "event", "merchant", "attempts", "state", "next_attempt_at", "created_at")
    list_filter = ("event", "style")
    search_fields = ("notification_id", "payment__transaction_id")
    readonly_fields = ("payload",)
    inlines = [SandboxDeliveryAttemptInline]
    actions = ["resend"]

    @admin.action(description="Send again (same notificationID)")
    def resend(self, request, queryset):
        for notification in queryset:
            notification_resend(notification)
        self.message_user(request, f"{queryset.count()} notification(s) queued again.", messages.SUCCESS)
