"""Rollups behind the dashboards: counts and sums of transactions per bucket of time and per
dimension, so a chart over two years reads a few thousand rows instead of millions.

One table, four grains: ``hour`` (UTC hour; Lisbon is always a whole number of hours away, so
a UTC hour is exactly one Lisbon hour), and Lisbon calendar ``day``, ``week`` (Monday to Sunday)
and ``month``, whose ``bucket`` is the Lisbon midnight that starts them, stored as an instant.
A Lisbon day is the set of UTC hours between two Lisbon midnights (23 or 25 of them across a
daylight-saving change), so days are summed from hours, and weeks and months from days.

A transaction contributes to the bucket of its ``created_at`` (set once, like the transaction
list's date filter, so a drill-down from a bar lists exactly the rows the bar counts), under
its dimensions as they are now. Which buckets must be recomputed is recorded in
``RollupDirty`` in the same database transaction that changes a transaction; see
``payments.dashboards.services``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from backoffice.models import Merchant, Store, Terminal

MONEY = {"max_digits": 18, "decimal_places": 3}


class Grain(models.TextChoices):
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class Kind(models.TextChoices):
    """What a transaction is, for the figures."""

    PURCHASE = "purchase", _("Payment")
    AUTHORISATION = "authorisation", _("Authorisation")
    REFUND = "refund", _("Refund")
    CAPTURE = "capture", _("Capture")
    CANCELLATION = "cancellation", _("Cancellation")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    """How it ended (so far), for the figures. See ``services.outcome_expression``."""

    SUCCESS = "success", _("Successful")
    AUTHORISED = "authorised", _("Authorised, waiting for capture")
    AWAITING = "awaiting", _("Awaiting payment")
    PENDING = "pending", _("Pending")
    DECLINED = "declined", _("Declined")
    ERROR = "error", _("Technical error")
    EXPIRED = "expired", _("Expired or never answered")
    CANCELLED = "cancelled", _("Cancelled before payment")
    UNKNOWN = "unknown", _("Unknown")


class DelayBand(models.IntegerChoices):
    """Time from a MULTIBANCO reference's issue to its payment."""

    NONE = 0, "—"
    HOUR = 1, _("Under 1 hour")
    SIX_HOURS = 2, _("1 to 6 hours")
    DAY = 3, _("6 to 24 hours")
    THREE_DAYS = 4, _("1 to 3 days")
    WEEK = 5, _("3 to 7 days")
    LONGER = 6, _("Over 7 days")


class Rollup(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    grain = models.CharField(max_length=5, choices=Grain.choices)
    bucket = models.DateTimeField()
    # No database constraint on these two: a rollup row is derived data, rebuilt at will.
    store = models.ForeignKey(
        Store, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    terminal = models.ForeignKey(
        Terminal, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    method = models.CharField(max_length=40)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    currency = models.CharField(max_length=3)
    # Declines and errors only: SIBS's return code.
    return_code = models.CharField(max_length=64)
    # Paid MULTIBANCO references only.
    delay_band = models.PositiveSmallIntegerField(choices=DelayBand.choices)

    count = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    # Authorisations waiting for capture: what is still capturable.
    open_amount = models.DecimalField(**MONEY)
    first_at = models.DateTimeField()

    class Meta:
        verbose_name = _("dashboard rollup")
        verbose_name_plural = _("dashboard rollups")
        indexes = [
            # Covering: a chart's rows are read from the index alone (no visit to the table).
            models.Index(
                fields=["merchant", "grain", "bucket"],
                include=[
                    "currency",
                    "store",
                    "terminal",
                    "method",
                    "kind",
                    "outcome",
                    "return_code",
                    "delay_band",
                    "count",
                    "amount",
                ],
                name="rollup_merchant_bucket",
            ),
            # Open items of all time (MB WAY waiting, references unpaid, authorisations to capture).
            models.Index(fields=["merchant", "grain", "outcome"], name="rollup_merchant_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.bucket:%Y-%m-%d %H:%M} {self.method} {self.kind} {self.outcome}: {self.count}"


class RollupDirty(models.Model):
    """An hour of a merchant whose rollups must be recomputed. Append-only (no unique key, so
    concurrent writers never wait on each other); the sweep claims and deletes the rows."""

    id = models.BigAutoField(primary_key=True)
    merchant_id = models.IntegerField()
    hour = models.DateTimeField()

    class Meta:
        verbose_name = _("dirty rollup hour")
        verbose_name_plural = _("dirty rollup hours")
        # A page sweeps its merchant's marks before reading: found without a scan.
        indexes = [models.Index(fields=["merchant_id", "id"], name="rollup_dirty_merchant")]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.hour:%Y-%m-%d %H:00}"
