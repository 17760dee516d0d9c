"""Platform staff move requests for new methods through their states (each step e-mailed to the
requester and audited) and can look at entities, settings and checks."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from backoffice.audit import actor_from_request
from payments.methods.models import MethodCheck, MethodRequest, MethodRequestEvent, PaymentEntity, RequestState
from payments.methods.services.requests import request_move


class MethodRequestEventInline(admin.TabularInline):
    model = MethodRequestEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_state", "to_state", "actor_label", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _mover(state: str, description):
    @admin.action(description=description)
    def move(modeladmin, request, queryset):
        moved = 0
        for obj in queryset:
            try:
                request_move(request_pk=obj.pk, to_state=state, actor=actor_from_request(request))
                moved += 1
            except (ValidationError, PermissionDenied) as exc:
                modeladmin.message_user(request, f"#{obj.pk}: {' '.join(exc.messages)}", messages.ERROR)
        if moved:
            modeladmin.message_user(request, _("%(n)s request(s) moved.") % {"n": moved}, messages.SUCCESS)

    move.__name__ = f"move_to_{state}"
    return move


@admin.register(MethodRequest)
class MethodRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "method", "state", "contact_email", "created_at", "updated_at")
    list_filter = ("state", "method")
    search_fields = ("merchant__name", "contact_email", "contact_name")
    readonly_fields = (
        "merchant",
        "method",
        "stores",
        "terminals",
        "expected_volume",
        "contact_name",
        "contact_email",
        "contact_phone",
        "notes",
        "state",
        "requested_by",
        "created_at",
        "updated_at",
    )
    inlines = [MethodRequestEventInline]
    actions = [
        _mover(RequestState.SENT, _("Mark as sent to SIBS")),
        _mover(RequestState.ACTIVE, _("Mark as active (enables the method)")),
        _mover(RequestState.REFUSED, _("Mark as refused")),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentEntity)
class PaymentEntityAdmin(admin.ModelAdmin):
    list_display = ("entity", "description", "merchant", "is_active", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("merchant", "entity", "created_by", "created_at", "disabled_at", "is_active")


@admin.register(MethodCheck)
class MethodCheckAdmin(admin.ModelAdmin):
    list_display = ("terminal", "merchant", "checked_at", "outcome", "http_status", "return_code")
    list_filter = ("outcome",)
    readonly_fields = [f.name for f in MethodCheck._meta.fields]

    def has_add_permission(self, request):
        return False
