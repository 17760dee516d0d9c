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
