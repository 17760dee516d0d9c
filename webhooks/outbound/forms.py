"""Forms of the outbound webhooks pages. Validation of substance lives in the services."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from backoffice.forms import ScopeChoiceMixin
from webhooks.models import (
    DeliveryState,
    NotificationType,
    WebhookKind,
    WebhookLanguage,
)

# How far back "recover since" reaches: a delivery is given up on after two months at most.
RECOVER_WINDOW = timedelta(days=62)


class KeyChoice(models.TextChoices):
    SUGGEST = "suggest", _("Let the backoffice suggest one (32 random bytes, Base64)")
    ENTER = "enter", _("Enter my own")


_SCOPE_ERRORS = {
    "invalid_choice": _(
        "Choose the whole merchant, one of its stores or one of its terminals you manage: "
        "“%(value)s” is not one of them."
    )
}


class OutboundWebhookForm(ScopeChoiceMixin, forms.Form):
    """Create (``instance=None``) or edit a webhook. The type and, after creation, the key are not
    edited here: the key has its own “rotate” action, and a webhook changes type by being replaced."""

    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("For example “ERP production”."))
    kind = forms.ChoiceField(label=_("Type"), choices=WebhookKind.choices, widget=forms.RadioSelect)
    scope = forms.ChoiceField(label=_("Applies to"), error_messages=_SCOPE_ERRORS)
    notification_types = forms.MultipleChoiceField(
        label=_("Notification types"),
        choices=NotificationType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one notification type.")},
    )
    url = forms.CharField(
        label=_("URL"),
        max_length=2048,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off", "placeholder": "https://"}),
        help_text=_("https:// on port 443 (or http:// on port 80 where allowed). Private addresses are refused."),
    )
    key_choice = forms.ChoiceField(
        label=_("Encryption key"), choices=KeyChoice.choices, widget=forms.RadioSelect, initial=KeyChoice.SUGGEST
    )
    encryption_key = forms.CharField(
        label=_("Your key"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Base64 of 32 bytes: 44 characters ending in “=”. Only with “Enter my own”."),
    )
    failure_email = forms.EmailField(
        label=_("Failure e-mail"),
        required=False,
        max_length=254,
        help_text=_("Told when a notification is given up on, and sent a daily digest of failures."),
    )
    email_to = forms.EmailField(
        label=_("Send to"),
        required=False,
        max_length=254,
        help_text=_("For the e-mail type: one message per notification, readable by a person."),
    )
    language = forms.ChoiceField(label=_("Language of e-mails"), choices=WebhookLanguage.choices)
    # One per rendered form: a second POST of the same form creates nothing (see views_outbound).
    submission = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, access: Access, instance=None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "scope": self.scope_key(instance),
                "notification_types": list(instance.notification_types or []),
                "url": instance.url,
                "failure_email": instance.failure_email,
                "email_to": instance.email_to,
                "language": instance.language,
            }
        super().__init__(*args, **kwargs)
        self.access = access
        self._init_scope(access)
        if instance is None:
            self.fields["language"].initial = (
                access.merchant.language if access.merchant.language in WebhookLanguage.values else WebhookLanguage.PT
            )
            self.fields["kind"].initial = WebhookKind.URL
        else:
            for name in ("kind", "key_choice", "encryption_key"):
                del self.fields[name]

    @property
    def kind_value(self) -> str:
        if self.instance is not None:
            return self.instance.kind
        return self.cleaned_data.get("kind", "") if hasattr(self, "cleaned_data") else ""

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        data["store"] = self._stores.get(scope)
        data["terminal"] = self._terminals.get(scope)
        kind = self.kind_value
        if kind == WebhookKind.URL:
            if not data.get("url") and "url" not in self.errors:
                self.add_error("url", _("Enter the URL of your endpoint."))
            if not data.get("failure_email") and "failure_email" not in self.errors:
                self.add_error("failure_email", _("Enter an address to tell when deliveries fail."))
            if (
                self.instance is None
                and data.get("key_choice") == KeyChoice.ENTER
                and not data.get("encryption_key")
                and "encryption_key" not in self.errors
            ):
                self.add_error("encryption_key", _("Enter your key, or let the backoffice suggest one."))
        elif kind == WebhookKind.EMAIL and not data.get("email_to") and "email_to" not in self.errors:
            self.add_error("email_to", _("Enter the address the notifications go to."))
        return data


class RotateKeyForm(forms.Form):
    key_choice = forms.ChoiceField(
        label=_("New key"), choices=KeyChoice.choices, widget=forms.RadioSelect, initial=KeyChoice.SUGGEST
    )
    encryption_key = forms.CharField(
        label=_("Your key"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Base64 of 32 bytes: 44 characters ending in “=”. Only with “Enter my own”."),
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("key_choice") == KeyChoice.ENTER
            and not data.get("encryption_key")
            and "encryption_key" not in self.errors
        ):
            self.add_error("encryption_key", _("Enter your key, or let the backoffice suggest one."))
        return data


class ResolutionForm(ScopeChoiceMixin, forms.Form):
    """Which webhook applies to a terminal and a notification type."""

    terminal = forms.ChoiceField(label=_("Terminal"), error_messages=_SCOPE_ERRORS)
    notification_type = forms.ChoiceField(label=_("Notification type"), choices=NotificationType.choices)

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_scope(access, field="terminal", allow_merchant=False)
        self.fields["terminal"].choices = [
            (key, label) for key, label in self.fields["terminal"].choices if key.startswith("terminal:")
        ]

    def clean(self):
        data = super().clean()
        data["terminal_obj"] = self._terminals.get(data.get("terminal"))
        return data


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any state")), *DeliveryState.choices])
    transaction = forms.CharField(label=_("SIBS transaction id"), required=False, max_length=255, strip=True)


class RecoverForm(forms.Form):
    """Resend every delivery given up on since a moment, read in Europe/Lisbon."""

    since = forms.DateTimeField(
        label=_("Failed since (Lisbon time)"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    expected = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean_since(self):
        since = self.cleaned_data["since"]
        lisbon = ZoneInfo("Europe/Lisbon")
        if timezone.is_naive(since):
            since = timezone.make_aware(since, lisbon)
        else:
            # The browser sends wall-clock time; Django made it aware in the active zone.
            since = timezone.make_aware(timezone.make_naive(since), lisbon)
        now = timezone.now()
        if since > now:
            raise forms.ValidationError(_("Choose a moment in the past."))
        if since < now - RECOVER_WINDOW:
            raise forms.ValidationError(
                _("Deliveries can be recovered for the last %(days)d days at most.") % {"days": RECOVER_WINDOW.days}
            )
        return since
