"""Django admin for platform staff: merchants, their first Owner, stores and terminals."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from backoffice import services
from backoffice.audit import actor_from_request
from backoffice.models import ApiKey, AuditEvent, Membership, Merchant, Store, Terminal, User


class StoreInline(admin.TabularInline):
    model = Store
    extra = 0


class MerchantAddForm(forms.ModelForm):
    owner_email = forms.EmailField(
        label=_("First Owner's e-mail"),
        help_text=_("They receive an activation code, valid for 4 days, to choose their password."),
    )

    class Meta:
        model = Merchant
        fields = ["name", "slug", "legal_name", "nif", "language"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "legal_name", "nif", "is_active", "created_at"]
    search_fields = ["name", "legal_name", "nif", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StoreInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MerchantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        merchant, invite = services.merchant_create_with_owner(
            actor=actor_from_request(request),
            name=obj.name,
            slug=obj.slug,
            legal_name=obj.legal_name,
            nif=obj.nif,
            owner_email=form.cleaned_data["owner_email"],
            language=obj.language,
        )
        obj.pk = merchant.pk
        obj._state.adding = False
        messages.info(request, _("Activation code sent to %(email)s.") % {"email": invite.membership.user.email})


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ["terminal_id", "name", "store", "merchant", "is_active"]
    list_filter = ["merchant"]
    search_fields = ["terminal_id", "name"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "merchant"]
    list_filter = ["merchant"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "is_active", "created_at"]
    list_filter = ["role", "merchant", "is_active"]
    search_fields = ["user__email"]
    filter_horizontal = ["stores"]
    actions = ["resend_activation_code"]

    @admin.action(description=_("Send a new activation code"))
    def resend_activation_code(self, request, queryset):
        for membership in queryset.select_related("user", "merchant"):
            if membership.user.has_usable_password():
                continue
            from backoffice.access import Access
            from backoffice.roles import Role

            access = Access(merchant=membership.merchant, role=Role.OWNER, user=request.user)
            services.activation_code_resend(access=access, actor=actor_from_request(request), membership=membership)
        messages.info(request, _("New activation codes sent to the members who had not activated yet."))


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "activated_at", "locked_until"]
    search_fields = ["email", "full_name"]
    exclude = ["password", "user_permissions", "groups"]
    readonly_fields = ["last_login", "date_joined", "activated_at", "failed_login_count"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "merchant", "object_repr", "ip_address"]
    list_filter = ["action", "merchant"]
    search_fields = ["actor_label", "action", "object_repr"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "role", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "public_id", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are created by the merchant's Owners, and shown once
