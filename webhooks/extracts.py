"""Webhook deliveries as a dataset of the export engine (people who manage webhooks)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backoffice.roles import Capability
from extracts.forms import parse_days
from extracts.registry import Column, Dataset, Kind, register
from webhooks.models import DeliveryState, WebhookDelivery


def _labels(choices):
    def make():
        return {value: str(label) for value, label in choices}

    return make


COLUMNS = (
    Column("created_at", _("Created"), Kind.DATETIME, ("created_at",)),
    Column("webhook", _("Webhook"), Kind.TEXT, ("webhook__url",)),
    Column("notification_id", _("Notification id"), Kind.TEXT, ("notification_id",)),
    Column("notification_type", _("Notification type"), Kind.TEXT, ("notification_type",)),
    Column("transaction_id", _("SIBS transaction id"), Kind.TEXT, ("transaction__transaction_id",)),
    Column("state", _("State"), Kind.TEXT, ("state",), make_value=_labels(DeliveryState.choices)),
    Column("attempts", _("Attempts"), Kind.INTEGER, ("attempts",)),
    Column("last_attempt_at", _("Last attempt"), Kind.DATETIME, ("last_attempt_at",)),
    Column("delivered_at", _("Delivered"), Kind.DATETIME, ("delivered_at",)),
    Column("failed_at", _("Given up"), Kind.DATETIME, ("failed_at",)),
    Column("last_http_status", _("Last HTTP status"), Kind.INTEGER, ("last_http_status",)),
    Column("last_error", _("Last error"), Kind.TEXT, ("last_error",)),
)


def parse(params, *, access, now=None, choices=True):
    return parse_days(params, states=DeliveryState.choices)


def queryset(*, access, filters, since, until):
    access.require(Capability.MANAGE_WEBHOOKS)
    qs = WebhookDelivery.objects.filter(merchant=access.merchant, created_at__lt=until)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if filters.state:
        qs = qs.filter(state=filters.state)
    return qs.order_by("-created_at", "-id")


def register_dataset() -> Dataset:
    return register(
        Dataset(
            key="webhook_deliveries",
            label=_("Webhook deliveries"),
            capability=Capability.MANAGE_WEBHOOKS,
            # Deliveries are per merchant, not per store: merchant-wide managers only.
            allowed=lambda access: not access.is_store_limited,
            columns=COLUMNS,
            presets={"everything": (_("Everything"), tuple(c.key for c in COLUMNS))},
            parse=parse,
            queryset=queryset,
            bounds=lambda filters: (filters.since, filters.until),
            describe=lambda filters: filters.query,
        )
    )
