"""Per-scope method configuration, payment entities, checks against SIBS and method requests.

Registered under the ``payments`` app (``payments/models.py`` imports them). Nothing here imports
``payments.models``: foreign keys to it are written as strings.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.models import Merchant, Store, Terminal
from payments.methods.catalogue import Method

MONEY = {"max_digits": 12, "decimal_places": 2}


class PaymentEntity(models.Model):
    """A MULTIBANCO payment entity (5 digits) the merchant may issue references with."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_entities")
    entity = models.CharField(_("entity"), max_length=5)
    description = models.CharField(_("description"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "payments"
        ordering = ["entity"]
        verbose_name = _("payment entity")
        verbose_name_plural = _("payment entities")
        constraints = [models.UniqueConstraint(fields=["merchant", "entity"], name="payment_entity_unique")]

    def __str__(self) -> str:
        return f"{self.entity} · {self.description}" if self.description else self.entity


class MethodSetting(models.Model):
    """One method at one level: the merchant (no store, no terminal), a store, or a terminal.

    Every value left empty (``None``, or blank text) is inherited from the level above; the
    merchant level falls back to :data:`payments.methods.catalogue.DEFAULTS`.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    enabled = models.BooleanField(_("enabled"), null=True, blank=True)
    # MULTIBANCO reference
    reference_entity = models.ForeignKey(
        PaymentEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entity")
    )
    reference_validity_hours = models.PositiveIntegerField(_("reference validity (hours)"), null=True, blank=True)
    reference_min_amount = models.DecimalField(_("minimum amount"), **MONEY, null=True, blank=True)
    reference_max_amount = models.DecimalField(_("maximum amount"), **MONEY, null=True, blank=True)
    # Card, and the merchant-initiated payments made with a stored card
    card_tokenisation = models.BooleanField(_("offer tokenisation"), null=True, blank=True)
    mit_recurring_terms_url = models.URLField(_("terms for recurring payments"), max_length=300, blank=True)
    mit_unscheduled_terms_url = models.URLField(
        _("terms for unscheduled card-on-file payments"), max_length=300, blank=True
    )
    # MB WAY authorised payments (mandates)
    mandate_company_name = models.CharField(_("company name"), max_length=100, blank=True)
    mandate_terms_url = models.URLField(_("terms and conditions"), max_length=300, blank=True)

    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "payments"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "method"],
                condition=Q(store__isnull=True, terminal__isnull=True),
                name="method_setting_unique_merchant",
            ),
            models.UniqueConstraint(
                fields=["store", "method"],
                condition=Q(store__isnull=False, terminal__isnull=True),
                name="method_setting_unique_store",
            ),
            models.UniqueConstraint(
                fields=["terminal", "method"],
                condition=Q(terminal__isnull=False),
                name="method_setting_unique_terminal",
            ),
            # A terminal row names no store: its store is the terminal's.
            models.CheckConstraint(
                condition=Q(terminal__isnull=True) | Q(store__isnull=True), name="method_setting_one_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} @ {self.terminal or self.store or self.merchant}"


class CheckOutcome(models.TextChoices):
    AGREES = "agrees", _("SIBS agrees")
    DIFFERS = "differs", _("SIBS differs")
    FAILED = "failed", _("Could not check")


class MethodCheck(models.Model):
    """One "Check with SIBS" of a terminal: a checkout offering every method, and what came back."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="+")
    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=8, choices=CheckOutcome.choices)
    asked = models.JSONField(default=list)
    enabled_here = models.JSONField(default=list)
    # paymentMethodList as SIBS answered it; None when there was no usable answer.
    active_at_sibs = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    return_code = models.CharField(max_length=64, blank=True)
    sibs_transaction_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "payments"
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["terminal", "-checked_at"], name="method_check_terminal")]

    def __str__(self) -> str:
        return f"{self.terminal_id} {self.checked_at:%Y-%m-%d %H:%M} {self.outcome}"

    @property
    def not_active_at_sibs(self) -> list[str]:
        if self.active_at_sibs is None:
            return []
        return [m for m in self.enabled_here if m not in self.active_at_sibs]

    @property
    def not_offered_here(self) -> list[str]:
        if self.active_at_sibs is None:
            return []
        return [m for m in self.active_at_sibs if m not in self.enabled_here]


class RequestState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SENT = "sent", _("Sent to SIBS")
    ACTIVE = "active", _("Active")
    REFUSED = "refused", _("Refused")


class MethodRequest(models.Model):
    """A merchant's request for a new method on some terminals or stores."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    stores = models.ManyToManyField(Store, blank=True, related_name="+", verbose_name=_("stores"))
    terminals = models.ManyToManyField(Terminal, blank=True, related_name="+", verbose_name=_("terminals"))
    expected_volume = models.CharField(_("expected volume"), max_length=200)
    contact_name = models.CharField(_("contact name"), max_length=150)
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=RequestState.choices, default=RequestState.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "payments"
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment method request")
        verbose_name_plural = _("payment method requests")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_method_display()} · {self.merchant}"


class MethodRequestEvent(models.Model):
    """The history of a request: each change of state, who made it and why."""

    request = models.ForeignKey(MethodRequest, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10, choices=RequestState.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=RequestState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "payments"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state}"
