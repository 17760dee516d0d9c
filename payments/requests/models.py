"""A payment request: one server-to-server checkout asked for by a person or an API key.

The request records how the checkout was asked for and what SIBS answered until SIBS has the
payment; from then on the payment is an ordinary :class:`payments.models.Transaction` (the same
list, timeline, refund and cancellation), updated by notifications and status inquiries. The
request's ``state`` says only how far the asking went:

``reserved`` → ``in_flight`` (a call to SIBS is under way) → ``sent`` (SIBS has the payment; its
life is the transaction's) | ``failed`` (refused or never sent: nothing to pay) | ``unknown``
(an answer was lost: the status inquiry settles it to ``sent`` or ``failed``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.crypto import EncryptedTextField
from backoffice.models import Merchant, Store, Terminal

# The amount columns of payments.models (MONEY): imported from there, this module would close an
# import circle (payments.models loads this module to register the model).
MONEY = {"max_digits": 16, "decimal_places": 3}


class RequestMethod(models.TextChoices):
    MBWAY = "MBWAY", _("MB WAY")
    REFERENCE = "REFERENCE", _("MULTIBANCO reference")


class RequestState(models.TextChoices):
    RESERVED = "reserved", _("Being prepared")
    IN_FLIGHT = "in_flight", _("Sent to SIBS")
    SENT = "sent", _("With SIBS")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")


class RequestLanguage(models.TextChoices):
    PORTUGUESE = "pt", _("Portuguese")
    ENGLISH = "en", _("English")


class PaymentRequest(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_requests")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="+")
    terminal_number = models.PositiveBigIntegerField()

    method = models.CharField(_("method"), max_length=12, choices=RequestMethod.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    order_reference = models.CharField(_("order reference"), max_length=64)
    description = models.CharField(_("description"), max_length=70, blank=True)
    # MB WAY: the alias sent to SIBS (encrypted at rest) and its masked form for the screens.
    customer_phone = EncryptedTextField(blank=True)
    phone_masked = models.CharField(max_length=32, blank=True)
    # MULTIBANCO: the entity asked for, and until when the reference may be paid.
    reference_entity = models.CharField(_("entity"), max_length=5, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    customer_email = models.EmailField(_("customer's e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=2, choices=RequestLanguage.choices, default="pt")

    state = models.CharField(_("state"), max_length=12, choices=RequestState.choices)
    # Client key (form token or Idempotency-Key header) and a hash of what it asked.
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    # merchant.merchantTransactionId: how the status inquiry finds a checkout whose answer was lost.
    gateway_reference = models.CharField(max_length=32, unique=True)

    # What SIBS answered to the checkout: the transaction and the signature of its execution call.
    sibs_transaction_id = models.CharField(max_length=255, blank=True)
    transaction_signature = EncryptedTextField(blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    # True once the MB WAY purchase or the reference generation was sent (answer or not).
    execution_sent = models.BooleanField(default=False)
    transaction = models.ForeignKey(
        "payments.Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_requests"
    )
    reference_number = models.CharField(max_length=20, blank=True)
    reference_expiry = models.DateTimeField(null=True, blank=True)

    checkout_request = models.JSONField(null=True, blank=True)
    checkout_response = models.JSONField(null=True, blank=True)
    execution_response = models.JSONField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    return_code = models.CharField(max_length=64, blank=True)
    # What happened, in words (catalogue text or transport error), for the people reading the page.
    outcome_detail = models.TextField(blank=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "backoffice.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_label = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    next_inquiry_at = models.DateTimeField(null=True, blank=True)
    inquiry_count = models.PositiveIntegerField(default=0)
    # Last time a page or the board asked SIBS for this request's status (throttles the asking).
    last_checked_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "payments"
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment request")
        verbose_name_plural = _("payment requests")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="payment_request_idempotency_per_merchant"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_request_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="payreq_merchant_created"),
            models.Index(fields=["merchant", "sibs_transaction_id"], name="payreq_merchant_sibs_tx"),
            models.Index(
                fields=["next_inquiry_at"], condition=Q(next_inquiry_at__isnull=False), name="payreq_inquiry_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} ({self.order_reference})"
