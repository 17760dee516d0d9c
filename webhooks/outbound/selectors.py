"""Reads of the outbound relay (webhooks, deliveries, health, which webhook applies), always
scoped by an Access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.roles import Capability
from webhooks.models import (
    DeliveryAttempt,
    DeliveryState,
    NotificationType,
    OutboundWebhook,
    WebhookDelivery,
)


def _webhook_visibility(access: Access) -> Q:
    if not access.is_store_limited:
        return Q()
    return Q(store_id__in=access.store_ids) | Q(terminal__store_id__in=access.store_ids)


def webhook_list(*, access: Access) -> QuerySet[OutboundWebhook]:
    """The webhooks this access may see and configure; the key itself is never loaded."""
    access.require(Capability.MANAGE_WEBHOOKS)
    return (
        OutboundWebhook.objects.filter(merchant=access.merchant)
        .filter(_webhook_visibility(access))
        .select_related("store", "terminal", "terminal__store", "created_by")
        .defer("encryption_key")
        .order_by("-is_active", "name", "id")
    )


def webhook_get(*, access: Access, pk: int) -> OutboundWebhook:
    """One visible webhook, or 404 (another merchant's, or merchant-wide for a store-limited admin)."""
    return get_object_or_404(webhook_list(access=access), pk=pk)


def webhook_with_key(*, access: Access, pk: int) -> OutboundWebhook:
    """The webhook with its key loaded, for sending a test. Still scoped, still 404 otherwise."""
    access.require(Capability.MANAGE_WEBHOOKS)
    qs = OutboundWebhook.objects.filter(merchant=access.merchant).filter(_webhook_visibility(access))
    return get_object_or_404(qs.select_related("merchant", "store", "terminal"), pk=pk)


def scope_label(webhook: OutboundWebhook) -> str:
    if webhook.terminal_id:
        return _("Terminal %(id)s · %(name)s") % {"id": webhook.terminal.terminal_id, "name": webhook.terminal.name}
    if webhook.store_id:
        return _("Store %(name)s") % {"name": webhook.store.name}
    return _("Whole merchant")


def type_labels(webhook: OutboundWebhook) -> list[str]:
    labels = dict(NotificationType.choices)
    return [str(labels.get(value, value)) for value in webhook.notification_types or []]


# --------------------------------------------------------------------------- deliveries


@dataclass(frozen=True)
class DeliveryPage:
    items: list[WebhookDelivery]
    next_cursor: str
    has_newer: bool


def _visible_deliveries(access: Access) -> QuerySet[WebhookDelivery]:
    access.require(Capability.MANAGE_WEBHOOKS)
    qs = WebhookDelivery.objects.filter(merchant=access.merchant)
    if access.is_store_limited:
        qs = qs.filter(Q(webhook__store_id__in=access.store_ids) | Q(webhook__terminal__store_id__in=access.store_ids))
    return qs


# Webhook configurations and their deliveries take ``MANAGE_WEBHOOKS``. A store-limited
# administrator sees the webhooks of their stores and of those stores' terminals, never a
# merchant-wide one (it also carries the other stores' notifications), and the deliveries of the
# webhooks they see. Every query below is bounded: by the merchant's webhooks (a handful), by a
# page size on an index, or by a 24-hour window on an index.
DELIVERY_PAGE_SIZE = 50
ATTEMPTS_SHOWN = 100
HEALTH_WINDOW = timedelta(hours=24)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(delivery: WebhookDelivery) -> str:
    # Whole microseconds, not a float: the cursor must name the exact row it stopped at.
    micros = (delivery.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}_{delivery.pk}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor from the page's own links; anything else (tampered, malformed) starts at the top."""
    if not cursor or len(cursor) > 40:
        return None
    stamp, _sep, pk = cursor.partition("_")
    try:
        moment = _EPOCH + timedelta(microseconds=int(stamp))
        number = int(pk)
    except (ValueError, OverflowError):
        return None
    if number <= 0:
        return None
    return moment, number


def delivery_page(
    *,
    access: Access,
    webhook: OutboundWebhook | None = None,
    state: str | None = None,
    transaction_ref: str | None = None,
    cursor: str | None = None,
    limit: int = DELIVERY_PAGE_SIZE,
) -> DeliveryPage:
    """Newest first, keyset-paginated on (created_at, id): page 1000 costs what page 1 costs."""
    qs = _visible_deliveries(access)
    if webhook is not None:
        qs = qs.filter(webhook=webhook)
    if state in DeliveryState.values:
        qs = qs.filter(state=state)
    if transaction_ref:
        qs = qs.filter(transaction__transaction_id=transaction_ref[:255])
    position = decode_cursor(cursor)
    if position is not None:
        moment, pk = position
        qs = qs.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(
        qs.select_related("webhook", "transaction")
        .defer("payload", "webhook__encryption_key")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(items=rows, next_cursor=encode_cursor(rows[-1]) if more else "", has_newer=position is not None)


def delivery_get(*, access: Access, pk: int) -> WebhookDelivery:
    qs = _visible_deliveries(access).select_related("webhook", "webhook__store", "webhook__terminal", "transaction")
    return get_object_or_404(qs.defer("payload", "webhook__encryption_key"), pk=pk)


def delivery_attempts(*, delivery: WebhookDelivery) -> list[DeliveryAttempt]:
    """The latest attempts, oldest first (a delivery resent many times keeps them all; the page shows 100)."""
    latest = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("-number")[:ATTEMPTS_SHOWN])
    return latest[::-1]


def deliveries_failed_since_count(*, access: Access, since: datetime, webhook: OutboundWebhook | None = None) -> int:
    """How many given-up deliveries a recovery from ``since`` would resend (tests excluded)."""
    # The same rows deliveries_recover restarts: a disabled webhook's are left alone.
    qs = _visible_deliveries(access).filter(
        state=DeliveryState.FAILED, failed_at__gte=since, is_test=False, webhook__is_active=True
    )
    if webhook is not None:
        qs = qs.filter(webhook=webhook)
    return qs.count()


def deliveries_paused_count(*, access: Access, webhook: OutboundWebhook) -> int:
    """Pending deliveries of a disabled webhook: they wait, and resume when it is enabled again."""
    if webhook.is_active:
        return 0
    return _visible_deliveries(access).filter(webhook=webhook, state=DeliveryState.PENDING, is_test=False).count()


def last_test(*, access: Access, webhook) -> WebhookDelivery | None:
    """The webhook's latest test delivery (tests stay out of the health figures, not out of sight)."""
    return _visible_deliveries(access).filter(webhook=webhook, is_test=True).order_by("-created_at", "-id").first()


# --------------------------------------------------------------------------- health


@dataclass
class WebhookHealth:
    webhook_id: int
    total: int = 0
    delivered: int = 0
    failed: int = 0
    attempted: int = 0
    retrying: int = 0
    last_error: str = ""

    @property
    def success_rate(self) -> float | None:
        """Delivered over tried, in percent, for deliveries created in the last 24 hours."""
        return None if not self.attempted else round(100 * self.delivered / self.attempted, 1)

    @property
    def is_failing(self) -> bool:
        return self.retrying > 0 or self.failed > 0


@dataclass
class HealthSummary:
    by_webhook: dict[int, WebhookHealth]
    total: int
    delivered: int
    attempted: int

    @property
    def success_rate(self) -> float | None:
        return None if not self.attempted else round(100 * self.delivered / self.attempted, 1)

    @property
    def failing(self) -> list[WebhookHealth]:
        return [h for h in self.by_webhook.values() if h.is_failing]


def webhook_health(*, access: Access, now: datetime | None = None) -> HealthSummary:
    """Per visible webhook: the last 24 hours' deliveries (index merchant, created_at), those
    still being retried (the pending partial index), and the latest error of a failing one."""
    now = now or timezone.now()
    webhook_ids = list(webhook_list(access=access).values_list("pk", flat=True))
    by_webhook = {pk: WebhookHealth(webhook_id=pk) for pk in webhook_ids}
    if not webhook_ids:
        return HealthSummary(by_webhook=by_webhook, total=0, delivered=0, attempted=0)
    recent = (
        WebhookDelivery.objects.filter(
            merchant=access.merchant, created_at__gte=now - HEALTH_WINDOW, is_test=False, webhook_id__in=webhook_ids
        )
        .values("webhook_id")
        .annotate(
            total=Count("id"),
            delivered=Count("id", filter=Q(state=DeliveryState.DELIVERED)),
            failed=Count("id", filter=Q(state=DeliveryState.FAILED)),
            attempted=Count("id", filter=Q(attempts__gt=0)),
        )
        .order_by()
    )
    for row in recent:
        health = by_webhook[row["webhook_id"]]
        health.total, health.delivered = row["total"], row["delivered"]
        health.failed, health.attempted = row["failed"], row["attempted"]
    retrying = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, attempts__gt=0, merchant=access.merchant, webhook_id__in=webhook_ids
        )
        .values("webhook_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in retrying:
        by_webhook[row["webhook_id"]].retrying = row["n"]
    failing = [pk for pk, health in by_webhook.items() if health.is_failing]
    if failing:
        # The latest unsuccessful try of each failing webhook, all in one query.
        latest = (
            WebhookDelivery.objects.filter(webhook_id=OuterRef("pk"), attempts__gt=0)
            .exclude(state=DeliveryState.DELIVERED)
            .order_by("-created_at", "-id")
            .values("pk")[:1]
        )
        last_ids = OutboundWebhook.objects.filter(pk__in=failing).annotate(last=Subquery(latest)).values("last")
        for delivery in WebhookDelivery.objects.filter(pk__in=last_ids).only(
            "webhook_id", "last_error", "last_http_status"
        ):
            by_webhook[delivery.webhook_id].last_error = delivery.last_answer[:300]
    return HealthSummary(
        by_webhook=by_webhook,
        total=sum(h.total for h in by_webhook.values()),
        delivered=sum(h.delivered for h in by_webhook.values()),
        attempted=sum(h.attempted for h in by_webhook.values()),
    )


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class ResolutionRow:
    """One webhook at one level of the chain, and what it does for this terminal and type."""

    level: str  # "terminal" | "store" | "merchant"
    webhook: OutboundWebhook | None  # None: a merchant-wide webhook a store-limited admin does not see
    verdict: str  # "applies" | "shadowed" | "other_types" | "disabled"
    note: str
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolutionExplanation:
    terminal: object
    notification_type: str
    type_label: str
    level: str | None
    winners: list[OutboundWebhook]
    hidden_winner: bool
    reason: str
    rows: list[ResolutionRow]


def resolution_explain(*, access: Access, terminal, notification_type: str) -> ResolutionExplanation:
    """Which webhook applies to ``notification_type`` from ``terminal``, and why, level by level.

    The decision is the delivery side's own (``effective_webhooks``), so this page cannot
    disagree with what is actually sent. For a store-limited administrator a merchant-wide
    webhook is named as such, without its name or address.
    """
    from webhooks.outbound.resolution import effective_webhooks

    access.require(Capability.MANAGE_WEBHOOKS)
    if terminal.merchant_id != access.merchant.pk or not access.allows_store(terminal.store_id):
        raise PermissionDenied(_("You do not manage this terminal."))
    result = effective_webhooks(access.merchant, terminal=terminal, notification_type=notification_type)
    winners = {w.pk for w in result.webhooks}
    shadowed = {w.pk for w in result.shadowed}
    type_label = str(dict(NotificationType.choices).get(notification_type, notification_type))
    configured = (
        OutboundWebhook.objects.filter(merchant=access.merchant)
        .filter(Q(terminal=terminal) | Q(store_id=terminal.store_id) | Q(store__isnull=True, terminal__isnull=True))
        .select_related("store", "terminal")
        .defer("encryption_key")
        .order_by("name", "id")
    )
    order = {"terminal": 0, "store": 1, "merchant": 2}
    rows: list[ResolutionRow] = []
    for webhook in sorted(configured, key=lambda w: (order[w.scope], w.name, w.pk)):
        if webhook.pk in winners:
            verdict, note = "applies", _("Applies.")
        elif webhook.pk in shadowed:
            verdict, note = "shadowed", _("Covers this type, but a more specific webhook wins.")
        elif not webhook.is_active:
            verdict, note = "disabled", _("Disabled.")
        else:
            verdict, note = "other_types", _("Does not cover %(type)s.") % {"type": type_label}
        hidden = access.is_store_limited and webhook.scope == "merchant"
        rows.append(
            ResolutionRow(
                level=webhook.scope,
                webhook=None if hidden else webhook,
                verdict=verdict,
                note=note,
                types=() if hidden else tuple(type_labels(webhook)),
            )
        )
    hidden_winner = access.is_store_limited and result.level == "merchant"
    reason = result.reason
    if hidden_winner:
        reason = _(
            "A webhook configured for the whole merchant applies to %(type)s here: no webhook of this "
            "store or terminal covers it. Merchant-wide webhooks are managed by administrators of the "
            "whole merchant."
        ) % {"type": type_label}
    elif access.is_store_limited and result.level in ("terminal", "store"):
        # The delivery side's reason would also name shadowed merchant-wide webhooks.
        names = ", ".join(f"“{w.name}”" for w in result.webhooks)
        if result.level == "terminal":
            reason = _(
                "%(names)s: configured for this terminal and %(type)s; a terminal webhook wins over store "
                "and merchant ones."
            )
        else:
            reason = _(
                "%(names)s: configured for this terminal's store and %(type)s, and no active webhook is "
                "configured for the terminal itself."
            )
        reason = reason % {"names": names, "type": type_label}
    return ResolutionExplanation(
        terminal=terminal,
        notification_type=notification_type,
        type_label=type_label,
        level=result.level,
        winners=[] if hidden_winner else list(result.webhooks),
        hidden_winner=hidden_winner,
        reason=reason,
        rows=rows,
    )
