"""Inbound SIBS notifications: where they arrive, the keys that open them, what was stored or refused.

The outbound relay (webhook configurations, deliveries, attempts) of a later issue lives here too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.crypto import EncryptedTextField
from backoffice.models import Merchant


class AckStatusCode(models.TextChoices):
    # PROTOCOL.md §1.3: the production docs say "200", the 2026 QLY docs "000".
    DOC_PT = "200", _('"200" (SIBS production documentation)')
    DOC_QLY = "000", _('"000" (SIBS QLY documentation, 2026)')


class InboundEndpoint(models.Model):
    """The merchant's inbound URL, ``/hooks/sibs/<token>/``: what is configured in SIBS Backoffice.

    The token only routes the request to a merchant; what authenticates a notification is the
    AES-GCM tag under one of the merchant's webhook secrets.
    """

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="inbound_endpoint")
    token = models.CharField(max_length=64, unique=True)
    ack_status_code = models.CharField(
        _("acknowledgement statusCode"), max_length=3, choices=AckStatusCode.choices, default=AckStatusCode.DOC_PT
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inbound endpoint")
        verbose_name_plural = _("inbound endpoints")

    def __str__(self) -> str:
        return f"{self.merchant} inbound"

    @property
    def url(self) -> str:
        return settings.SITE_URL + reverse("inbound:sibs", kwargs={"token": self.token})


class SecretOrigin(models.TextChoices):
    GENERATED = "generated", _("Suggested by the backoffice")
    ENTERED = "entered", _("Entered")


class WebhookSecret(models.Model):
    """A SIBS webhook secret (Base64 of 32 bytes), encrypted at rest and shown once.

    Several may be active at a time: SIBS sends no key id, so each is tried in turn, and a
    secret is rotated by adding the new one, switching SIBS over, then revoking the old one.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_secrets")
    label = models.CharField(_("label"), max_length=100, blank=True)
    secret = EncryptedTextField()
    # Keyed hash of the secret: finds a duplicate without decrypting, and the first characters
    # identify it on screen without revealing it.
    secret_hash = models.CharField(max_length=64)
    origin = models.CharField(max_length=12, choices=SecretOrigin.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["merchant", "-created_at", "-id"]
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "secret_hash"],
                condition=Q(revoked_at__isnull=True),
                name="webhook_secret_active_once_per_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label or _('webhook secret')} ({self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        return self.secret_hash[:8]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InboundState(models.TextChoices):
    RECEIVED = "received", _("Received, waiting to be processed")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed; needs a look")


class InboundNotification(models.Model):
    """An authenticated notification, stored before it is acknowledged.

    ``notification_id`` is unique per merchant rather than globally: SIBS's ids are UUIDs, but a
    global constraint would let one tenant, posting with their own secret to their own URL,
    claim an id first and have another tenant's genuine notification dropped as a duplicate.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="inbound_notifications")
    # notificationID stripped of surrounding whitespace (the acknowledgement echoes it as sent).
    notification_id = models.CharField(max_length=255)
    transaction_ref = models.CharField(_("SIBS transaction id"), max_length=255)
    received_at = models.DateTimeField(default=timezone.now)
    body = models.TextField(help_text=_("The Base64 ciphertext as received."))
    headers = models.JSONField(default=dict)
    # Decrypted, and encrypted again at rest: it holds card tokens and phone numbers.
    plaintext = EncryptedTextField()
    secret = models.ForeignKey(WebhookSecret, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=12, choices=InboundState.choices, default=InboundState.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound notification")
        verbose_name_plural = _("inbound notifications")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "notification_id"], name="inbound_notification_once"),
        ]
        indexes = [
            # What the sweep reads: stored and not processed, oldest first. Small by design.
            models.Index(fields=["received_at"], condition=Q(state="received"), name="inbound_waiting"),
        ]

    def __str__(self) -> str:
        return self.notification_id


class RejectedNotification(models.Model):
    """A request to a merchant's inbound URL that was refused, for administrators to look at.

    Bounded: a size-capped excerpt of the body, at most ``INBOUND_REJECTED_PER_MINUTE`` rows per
    merchant and minute (the rest are counted into ``suppressed_before`` of the next stored row),
    and at most ``INBOUND_REJECTED_KEEP`` rows per merchant (older ones are pruned).
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="rejected_notifications")
    received_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=40)
    http_status = models.PositiveSmallIntegerField()
    message = models.TextField(blank=True)
    body_size = models.PositiveIntegerField(default=0)
    body_excerpt = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    # When the envelope opened but the content was refused (not JSON, no notificationID…): the
    # start of the plaintext, encrypted at rest, to see what SIBS actually sent.
    plaintext_excerpt = EncryptedTextField(null=True, blank=True)
    # Rejections not stored (rate limit) between the previous stored row and this one.
    suppressed_before = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("rejected notification")
        verbose_name_plural = _("rejected notifications")
        indexes = [models.Index(fields=["merchant", "-received_at"], name="rejected_merchant_recent")]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.reason}"


# =========================================================================== outbound relay
#
# Every processed notification is relayed, in the SIBS format itself, to the merchant's own
# systems: one WebhookDelivery per matching OutboundWebhook, written in the same transaction
# that marks the notification processed. The delivery rows are the outbox: a worker, the
# periodic sweep or a person (resend) sends what is due; every try is a DeliveryAttempt.


class NotificationType(models.TextChoices):
    MBWAY = "mbway", _("MB WAY")
    REFERENCE = "reference", _("MULTIBANCO reference")
    CARD = "card", _("Card")
    TOKEN = "token", _("Token")
    AUTHORISED_PAYMENTS = "authorised_payments", _("Authorised payments")
    QR_EXPRESS = "qr_express", _("QR Code Express")
    XPAY = "xpay", _("XPAY")


class WebhookKind(models.TextChoices):
    URL = "url", _("URL (SIBS format, encrypted)")
    EMAIL = "email", _("E-mail")


class WebhookLanguage(models.TextChoices):
    PT = "pt", _("Portuguese")
    EN = "en", _("English")


class OutboundWebhook(models.Model):
    """Where a merchant wants its notifications relayed: for the whole merchant, one store or
    one terminal, and for chosen notification types. The most specific active one wins."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="outbound_webhooks")
    store = models.ForeignKey(
        "backoffice.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_webhooks"
    )
    terminal = models.ForeignKey(
        "backoffice.Terminal", null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_webhooks"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=8, choices=WebhookKind.choices, default=WebhookKind.URL)
    url = models.CharField(_("URL"), max_length=2048, blank=True)
    # Base64 of 32 bytes (AES-256-GCM), like a SIBS webhook secret; empty for e-mail webhooks.
    encryption_key = EncryptedTextField(_("encryption key"), blank=True, default="")
    # A few characters of a keyed hash of the key: tells keys apart on screen without revealing them.
    key_hint = models.CharField(max_length=16, blank=True)
    email_to = models.EmailField(_("send to"), blank=True)
    failure_email = models.EmailField(_("failure e-mail"), blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=WebhookLanguage.choices, default=WebhookLanguage.PT
    )
    notification_types = models.JSONField(_("notification types"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant", "name", "id"]
        verbose_name = _("outbound webhook")
        verbose_name_plural = _("outbound webhooks")
        constraints = [
            models.CheckConstraint(
                condition=Q(store__isnull=True) | Q(terminal__isnull=True), name="outbound_webhook_one_scope"
            ),
            models.CheckConstraint(condition=Q(kind__in=["url", "email"]), name="outbound_webhook_kind"),
        ]
        indexes = [models.Index(fields=["merchant", "is_active"], name="outbound_webhook_merchant")]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        """ "terminal", "store" or "merchant": how specific this webhook is."""
        if self.terminal_id:
            return "terminal"
        if self.store_id:
            return "store"
        return "merchant"

    @property
    def destination(self) -> str:
        return self.email_to if self.kind == WebhookKind.EMAIL else self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (given up)")


class WebhookDelivery(models.Model):
    """One notification to relay to one webhook; the outbox row.

    Due when ``state`` is pending and ``next_attempt_at`` has passed. A worker claims it by
    pushing ``next_attempt_at`` forward by a lease and setting ``lease_token``; a worker killed
    mid-send leaves it due again when the lease ends. Only an acknowledged answer, recorded
    under the current lease, marks it delivered.
    """

    webhook = models.ForeignKey(OutboundWebhook, on_delete=models.CASCADE, related_name="deliveries")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="webhook_deliveries")
    inbound = models.ForeignKey(
        InboundNotification, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    transaction = models.ForeignKey(
        "payments.Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries"
    )
    notification_id = models.CharField(max_length=255)
    notification_type = models.CharField(max_length=24, choices=NotificationType.choices, blank=True)
    # The JSON to relay when there is no inbound notification (test notifications); encrypted at rest.
    payload = EncryptedTextField(blank=True, default="")
    is_test = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    # Every try ever made (numbers the DeliveryAttempt rows).
    attempts = models.PositiveSmallIntegerField(default=0)
    # Tries since the delivery was created or last resent/recovered: the retry schedule and the
    # give-up limits (WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_AGE_DAYS) count from here.
    cycle_attempts = models.PositiveSmallIntegerField(default=0)
    cycle_started_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set while a worker holds the delivery; the result is only recorded under the same token.
    lease_token = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    # When the give-up message went to the failure e-mail (once per giving up).
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "inbound"], condition=Q(inbound__isnull=False), name="webhook_delivery_once"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "delivered", "failed"]), name="webhook_delivery_state"
            ),
        ]
        indexes = [
            # What the sweep and the workers read: pending, soonest first.
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="webhook_delivery_due"),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_webhook"),
            models.Index(fields=["merchant", "-created_at"], name="webhook_delivery_merchant"),
            models.Index(fields=["merchant", "state", "-failed_at"], name="webhook_delivery_failed"),
            models.Index(fields=["transaction", "-created_at"], name="webhook_delivery_txn"),
            # The claim's per-endpoint in-flight count, and the sweep's give-up e-mails to send.
            models.Index(
                fields=["webhook", "leased_until"], condition=Q(state="pending"), name="webhook_delivery_leased"
            ),
            models.Index(
                fields=["failed_at"],
                condition=Q(state="failed", failure_notified_at__isnull=True),
                name="webhook_delivery_untold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.webhook_id}"

    @property
    def error_names_status(self) -> bool:
        """Whether ``last_error`` already says the HTTP status (lists then show it once)."""
        return bool(self.last_http_status) and f"HTTP status {self.last_http_status}" in (self.last_error or "")

    @property
    def last_answer(self) -> str:
        """The last try in one line: the HTTP status (unless the error names it) and the error."""
        status = "" if self.error_names_status or not self.last_http_status else f"HTTP {self.last_http_status}"
        return " · ".join(part for part in (status, self.last_error) if part)


class DeliveryAttempt(models.Model):
    """One try at a delivery: when, how long, what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    acknowledged = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_once")]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number}"


class FailureDigest(models.Model):
    """The daily summary of failed deliveries for one failure e-mail address.

    The unique (address, day) row is taken before sending, so two beats or a restarted beat
    cannot send the same day's digest twice; ``sent_at`` stays empty until the mail went out.
    """

    address = models.EmailField()
    day = models.DateField()
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "address"]
        verbose_name = _("failure digest")
        verbose_name_plural = _("failure digests")
        constraints = [models.UniqueConstraint(fields=["address", "day"], name="failure_digest_once")]

    def __str__(self) -> str:
        return f"{self.address} {self.day}"
