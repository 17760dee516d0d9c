"""Settlement files, their lines, the exceptions matching raises, and how people resolved them.

A ``SettlementFile`` is imported whole or not at all. Its ``SettlementLine`` rows keep what the
file said; ``line_key`` identifies the settled movement across files, and exactly one line per
key is *current* (a partial unique index), so a re-sent file or a corrected one never counts
money twice: an identical line is a duplicate, a different one supersedes the old.

Each current line is matched to one transaction and gets a status; anything not matched opens a
``ReconciliationException``. What people do with an exception is appended to its
``ExceptionAction`` history (and the audit log), never edited.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.crypto import EncryptedTextField
from backoffice.models import Merchant, Store
from payments.models import MONEY, Transaction
from reconciliation.layouts import DEFAULT_LAYOUT


class LayoutChoice(models.TextChoices):
    V1 = "v1", _("v1 — 12 columns (docs/settlement-format.md)")
    CUSTOM = "custom", _("Columns mapped by position")


class ReconciliationSettings(models.Model):
    """Per merchant: how its files are read, matched and fetched. Also the row every import of
    the merchant locks, so two imports of one merchant never interleave."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="reconciliation_settings")
    layout = models.CharField(_("layout"), max_length=12, choices=LayoutChoice.choices, default=DEFAULT_LAYOUT)
    # For the custom layout: {"column_count": 14, "positions": {"transaction_id": 3, …}} (1-based).
    column_map = models.JSONField(default=dict, blank=True)
    tolerance = models.DecimalField(_("amount tolerance"), **MONEY, default=Decimal("0"))
    expected_business_days = models.PositiveSmallIntegerField(_("business days before a missing settlement"), default=2)
    # Transactions before this day are not expected in any file (set by the first import).
    expected_from = models.DateField(_("expect settlements for transactions from"), null=True, blank=True)

    sftp_enabled = models.BooleanField(_("fetch files from SFTP"), default=False)
    sftp_host = models.CharField(_("SFTP host"), max_length=255, blank=True)
    sftp_port = models.PositiveIntegerField(_("SFTP port"), default=22)
    sftp_username = models.CharField(_("SFTP user"), max_length=100, blank=True)
    sftp_password = EncryptedTextField(_("SFTP password"), blank=True)
    sftp_private_key = EncryptedTextField(_("SFTP private key"), blank=True)
    sftp_remote_dir = models.CharField(_("remote folder"), max_length=255, default="/", blank=True)
    sftp_pattern = models.CharField(_("file pattern"), max_length=100, default="SIBS_Reconciliation_*.csv*")
    # Pinned on first use: "<key type> <base64>", and its SHA-256 fingerprint to show.
    sftp_host_key = models.TextField(blank=True)
    sftp_host_key_fingerprint = models.CharField(max_length=100, blank=True)
    sftp_last_run_at = models.DateTimeField(null=True, blank=True)
    sftp_last_error = models.TextField(blank=True)

    pgp_private_key = EncryptedTextField(_("PGP private key"), blank=True)
    pgp_passphrase = EncryptedTextField(_("PGP passphrase"), blank=True)

    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reconciliation settings")
        verbose_name_plural = _("reconciliation settings")

    def __str__(self) -> str:
        return f"{self.merchant} · {self.layout}"


class FileSource(models.TextChoices):
    UPLOAD = "upload", _("Uploaded")
    API = "api", _("API")
    SFTP = "sftp", _("SFTP")
    SANDBOX = "sandbox", _("Sandbox")


class SettlementFile(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="settlement_files")
    name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    source = models.CharField(_("source"), max_length=10, choices=FileSource.choices)
    layout = models.CharField(max_length=12)
    was_encrypted = models.BooleanField(default=False)
    generated_at = models.DateTimeField(_("generated"), null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    gross_total = models.DecimalField(**MONEY, default=Decimal("0"))
    fee_total = models.DecimalField(**MONEY, default=Decimal("0"))
    net_total = models.DecimalField(**MONEY, default=Decimal("0"))
    duplicate_count = models.PositiveIntegerField(default=0)
    superseding_count = models.PositiveIntegerField(default=0)
    exception_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_by_label = models.CharField(max_length=255, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = _("settlement file")
        verbose_name_plural = _("settlement files")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name", "sha256"], name="settlement_file_once"),
        ]

    def __str__(self) -> str:
        return self.name


class LineStatus(models.TextChoices):
    MATCHED = "matched", _("Matched")
    AMOUNT = "amount_difference", _("Amount difference")
    CURRENCY = "currency_difference", _("Currency difference")
    STATUS = "status_difference", _("Status difference")
    TERMINAL = "terminal_difference", _("Terminal difference")
    MISSING_HERE = "missing_here", _("Missing here")
    DUPLICATE = "duplicate", _("Duplicate line")
    # The same line again in a later file (a re-sent file): already counted, adds nothing.
    RESENT = "resent", _("Already in an earlier file")
    # A current line that a later file corrected.
    SUPERSEDED = "superseded", _("Corrected by a later file")
    PENDING = "pending", _("Not matched yet")


class MatchMethod(models.TextChoices):
    AUTO = "auto", _("Automatically")
    TOLERANCE = "tolerance", _("Within tolerance")
    MANUAL = "manual", _("Manually")


class SettlementLine(models.Model):
    # Indexes are few on purpose: each costs a write per line, a million lines per file. The
    # merchant and the file are the first column of composite indexes below.
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", db_index=False)
    file = models.ForeignKey(SettlementFile, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveIntegerField()
    line_key = models.CharField(max_length=320)
    is_current = models.BooleanField(default=True)
    settlement_date = models.DateField(_("settlement date"))
    payout_reference = models.CharField(_("payout"), max_length=255)
    sibs_transaction_id = models.CharField(_("SIBS transaction id"), max_length=255)
    merchant_transaction_id = models.CharField(_("merchant transaction id"), max_length=255, blank=True)
    terminal_number = models.PositiveBigIntegerField(_("terminal"), null=True, blank=True)
    transaction_datetime = models.DateTimeField(_("transaction date"))
    payment_method = models.CharField(_("method"), max_length=40, blank=True)
    payment_type = models.CharField(_("type"), max_length=40, blank=True)
    gross_amount = models.DecimalField(_("gross"), **MONEY)
    fee_amount = models.DecimalField(_("fee"), **MONEY)
    net_amount = models.DecimalField(_("net"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)

    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="settlement_lines"
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(_("status"), max_length=24, choices=LineStatus.choices, default=LineStatus.PENDING)
    match_method = models.CharField(max_length=10, choices=MatchMethod.choices, blank=True)
    # File amount minus the backoffice's (signed), when the amounts differ.
    amount_delta = models.DecimalField(**MONEY, null=True, blank=True)
    # Matched, or its exception resolved: what a payout's "reconciled" counts.
    reconciled = models.BooleanField(default=False)
    # For a duplicate: the line it repeats; for a superseded line: the line that corrected it.
    related_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["file", "line_number"]
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "line_key"], condition=Q(is_current=True), name="settlement_line_current_once"
            ),
        ]
        indexes = [
            models.Index(fields=["file", "line_number"], name="settle_line_file"),
            models.Index(fields=["merchant", "settlement_date", "payout_reference"], name="settle_line_payout"),
            models.Index(fields=["merchant", "status"], condition=~Q(status="matched"), name="settle_line_unmatched"),
        ]

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line_number}"


class ExceptionKind(models.TextChoices):
    AMOUNT = "amount_difference", _("Amount difference")
    CURRENCY = "currency_difference", _("Currency difference")
    STATUS = "status_difference", _("Status difference")
    TERMINAL = "terminal_difference", _("Terminal difference")
    MISSING_HERE = "missing_here", _("Missing here")
    MISSING_IN_SETTLEMENT = "missing_in_settlement", _("Missing in settlement")
    DUPLICATE = "duplicate", _("Duplicate line")


class ExceptionState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    MATCHED_MANUALLY = "matched_manually", _("Matched manually to a transaction")
    ACCEPTED = "accepted", _("Difference accepted")
    WRITTEN_OFF = "written_off", _("Written off")
    # Set by the system, never chosen: a later file or notification made the line match.
    AUTO = "auto", _("Resolved by a later file or notification")


class ResolutionReason(models.TextChoices):
    FEE_ADJUSTMENT = "fee_adjustment", _("Fee adjustment by SIBS")
    ROUNDING = "rounding", _("Rounding")
    LATE_NOTIFICATION = "late_notification", _("Notification arrived late or never")
    SETTLED_ELSEWHERE = "settled_elsewhere", _("Settled in another payout")
    CHARGEBACK = "chargeback", _("Chargeback")
    CONFIRMED_WITH_SIBS = "confirmed_with_sibs", _("Confirmed with SIBS")
    OTHER = "other", _("Other")


class ReconciliationException(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=24, choices=ExceptionKind.choices)
    line = models.ForeignKey(SettlementLine, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions")
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.CASCADE, related_name="reconciliation_exceptions"
    )
    state = models.CharField(_("state"), max_length=10, choices=ExceptionState.choices, default=ExceptionState.OPEN)
    # The business day the transaction or line belongs to: the queue's age and period filter.
    value_date = models.DateField(_("date"))
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolution_reason = models.CharField(max_length=24, choices=ResolutionReason.choices, blank=True)

    class Meta:
        ordering = ["value_date", "id"]
        verbose_name = _("reconciliation exception")
        verbose_name_plural = _("reconciliation exceptions")
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(line__isnull=False), name="recon_exception_one_per_line"
            ),
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(kind="missing_in_settlement"),
                name="recon_exception_one_missing_per_transaction",
            ),
            models.CheckConstraint(
                condition=Q(line__isnull=False) | Q(transaction__isnull=False), name="recon_exception_has_subject"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "state", "value_date"], name="recon_exception_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ActionKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    AUTO_RESOLVED = "auto_resolved", _("Resolved automatically")
    AUTO_REOPENED = "auto_reopened", _("Reopened automatically")


class ExceptionAction(models.Model):
    """Append-only history of an exception."""

    exception = models.ForeignKey(ReconciliationException, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=16, choices=ActionKind.choices)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    reason = models.CharField(max_length=24, choices=ResolutionReason.choices, blank=True)
    comment = models.TextField(blank=True)
    matched_transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("exception action")
        verbose_name_plural = _("exception actions")

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_label}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Exception history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Exception history is append-only.")


class ImportOutcome(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    ALREADY_IMPORTED = "already_imported", _("Already imported")
    REFUSED = "refused", _("Refused")


class ImportAttempt(models.Model):
    """Every file offered, including refused ones (kept outside the refused import's database
    transaction, so a bad file leaves no lines behind but a visible record of why)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=FileSource.choices)
    outcome = models.CharField(max_length=20, choices=ImportOutcome.choices)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    settlement_file = models.ForeignKey(
        SettlementFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import attempt")
        verbose_name_plural = _("import attempts")
        indexes = [models.Index(fields=["merchant", "-created_at"], name="recon_attempt_recent")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.outcome})"
