"""Extracts (one file each, or one attempt at one) and the schedules that request them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.models import ApiKey, Merchant


class ExtractFormat(models.TextChoices):
    CSV = "csv", _("CSV (systems: comma, decimal point, UTF-8)")
    CSV_PT = "csv_pt", _("CSV for Excel in Portuguese (semicolon, decimal comma)")
    XLSX = "xlsx", _("Excel workbook (XLSX)")


class ExtractState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class Frequency(models.TextChoices):
    DAILY = "daily", _("Every day (the previous day)")
    WEEKLY = "weekly", _("Every Monday (the previous week)")
    MONTHLY = "monthly", _("Every 1st (the previous month)")


class ExtractSchedule(models.Model):
    """A recurring extract: the same dataset, filters, columns and format for each period.

    Runs under its owner's access, re-checked at every run: a schedule whose owner has lost
    the right to export stops, with a note to the merchant's Owners.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="extract_schedules")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    dataset = models.CharField(max_length=40)
    # The dataset's filters, as a normalised query string (without a period: each run has its own).
    query = models.TextField(blank=True)
    columns = models.JSONField(default=list)
    format = models.CharField(_("format"), max_length=10, choices=ExtractFormat.choices)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Lisbon")
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    # Hour of the day, in Europe/Lisbon, at which a period's extract is produced.
    hour = models.PositiveSmallIntegerField(_("hour (Lisbon)"), default=6)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    stopped_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["merchant", "name", "pk"]
        verbose_name = _("scheduled extract")
        verbose_name_plural = _("scheduled extracts")
        constraints = [models.CheckConstraint(condition=Q(hour__lte=23), name="extract_schedule_hour")]

    def __str__(self) -> str:
        return self.name


class Extract(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="extracts")
    dataset = models.CharField(max_length=40)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    schedule = models.ForeignKey(
        ExtractSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="extracts"
    )
    # The dataset's filters as a normalised query string, and in words.
    query = models.TextField(blank=True)
    description = models.TextField(blank=True)
    columns = models.JSONField(default=list)
    format = models.CharField(max_length=10, choices=ExtractFormat.choices)
    time_zone = models.CharField(max_length=64)
    # Language of the column headers and labels in the file (the requester's).
    language = models.CharField(max_length=8, default="en")
    # The rows' exact bounds, [start, end): the filters' period, closed at the moment of the
    # request when it was open-ended, so the file never depends on when the worker ran.
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField()
    state = models.CharField(max_length=10, choices=ExtractState.choices, default=ExtractState.QUEUED)
    rows_estimated = models.BigIntegerField(null=True, blank=True)
    estimate_exact = models.BooleanField(default=False)
    rows_written = models.BigIntegerField(default=0)
    # Name in the extracts storage (empty until the file is complete, and again once deleted).
    file_name = models.CharField(max_length=300, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    download_name = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("extract")
        verbose_name_plural = _("extracts")
        constraints = [
            # One file per schedule and period, whatever number of beats or retries ask for it.
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=Q(schedule__isnull=False),
                name="extract_once_per_schedule_period",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="extract_merchant_created"),
            models.Index(fields=["expires_at"], condition=Q(state="done"), name="extract_expiry_due"),
        ]

    def __str__(self) -> str:
        return self.download_name or f"extract {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.state not in (ExtractState.QUEUED, ExtractState.RUNNING)

    @property
    def percent(self) -> int:
        if self.state in (ExtractState.DONE, ExtractState.EXPIRED):
            return 100
        if not self.rows_estimated:
            return 0
        return max(0, min(99, int(self.rows_written * 100 / self.rows_estimated)))
