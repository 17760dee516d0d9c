"""A transaction's timeline: every event in the order it happened, from every part of the backoffice.

The payments app's own ``TransactionEvent`` rows (notifications, status inquiries, operations
reported by SIBS) are merged with entries from *sources* other parts register at start-up
(``register(source)`` from an ``AppConfig.ready()``): staff-initiated operation requests,
outbound webhook deliveries… A source is ``source(access, txn) -> Iterable[TimelineEntry]``; it
must scope what it reads by ``access`` like any selector.

``build`` never hands out a raw payload to an access without ``VIEW_RAW_PAYLOADS``, whatever a
source returns, and a failing source costs its own entries only (logged), not the page.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.roles import Capability
from common.money import format_money
from payments.models import EventKind, EventOutcome, Transaction, TransactionEvent
from payments.sibs.enums import PaymentStatus, PaymentType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    outcome: str = ""  # "ok" | "warn" | "error" | "info" (drives the colour)
    actor: str = ""
    badges: tuple[str, ...] = ()
    link: str = ""
    raw: dict | None = None


Source = Callable[[Access, Transaction], Iterable[TimelineEntry]]
_sources: list[Source] = []


def register(source: Source) -> Source:
    """Add a source of timeline entries (idempotent: ``ready()`` may run more than once)."""
    if source not in _sources:
        _sources.append(source)
    return source


def unregister(source: Source) -> None:
    if source in _sources:
        _sources.remove(source)


def registered_sources() -> tuple[Source, ...]:
    return tuple(_sources)


def build(access: Access, txn: Transaction) -> list[TimelineEntry]:
    """TransactionEvents plus every registered source, sorted by (at, kind)."""
    from payments.selectors.records import transaction_timeline

    show_raw = access.can(Capability.VIEW_RAW_PAYLOADS)
    events = transaction_timeline(access=access, transaction=txn).select_related("related_transaction")
    entries = [entry_for_event(event, access=access, show_raw=show_raw) for event in events]
    for source in _sources:
        try:
            produced = list(source(access, txn) or ())
        except Exception:
            logger.exception("timeline source %r failed for transaction %s", source, txn.pk)
            entries.append(
                TimelineEntry(
                    at=txn.updated_at,
                    kind="timeline_error",
                    title=_("Part of this timeline could not be loaded"),
                    outcome="error",
                )
            )
            continue
        for entry in produced:
            if not isinstance(entry, TimelineEntry) or not isinstance(entry.at, datetime):
                logger.error("timeline source %r returned %r, not a dated TimelineEntry", source, entry)
                continue
            if timezone.is_naive(entry.at):
                entry = dataclasses.replace(entry, at=timezone.make_aware(entry.at, UTC))
            if entry.raw is not None and not show_raw:
                entry = dataclasses.replace(entry, raw=None)
            entries.append(entry)
    # Stable sort: equal (at, kind) keep their source order, and events their (occurred_at, id) order.
    entries.sort(key=lambda e: (e.at, e.kind))
    return entries


# --------------------------------------------------------------------------- TransactionEvent → entry


def _status_label(status: str) -> str:
    try:
        return str(PaymentStatus(status).label)
    except ValueError:
        return status


def _type_label(payment_type: str) -> str:
    try:
        return str(PaymentType(payment_type).label)
    except ValueError:
        return payment_type


_BAD_STATUSES = {PaymentStatus.DECLINED, PaymentStatus.ERROR, PaymentStatus.TIMEOUT, PaymentStatus.EXPIRED}


def _outcome(event: TransactionEvent) -> str:
    if event.outcome == EventOutcome.ERROR:
        return "error"
    if event.outcome == EventOutcome.IGNORED or event.out_of_order:
        return "warn"
    if event.outcome == EventOutcome.DUPLICATE:
        return "info"
    if event.payment_status in _BAD_STATUSES:
        return "error"
    if event.payment_status == PaymentStatus.SUCCESS:
        return "ok"
    return "info"


def _title(event: TransactionEvent) -> str:
    status = _status_label(event.payment_status) if event.payment_status else ""
    if event.kind == EventKind.NOTIFICATION:
        return _("Notification received: %(status)s") % {"status": status} if status else _("Notification received")
    if event.kind == EventKind.STATUS_INQUIRY:
        if event.outcome == EventOutcome.ERROR:
            if event.http_status:
                return _("Status inquiry failed (HTTP %(code)s)") % {"code": event.http_status}
            return _("Status inquiry failed")
        return _("Status inquiry: %(status)s") % {"status": status} if status else _("Status inquiry")
    if event.kind == EventKind.OPERATION:
        operation = _type_label(event.payment_type) if event.payment_type else _("Operation")
        return _("%(operation)s: %(status)s") % {"operation": operation, "status": status} if status else operation
    return str(event.get_kind_display() or event.kind)


def _badges(event: TransactionEvent) -> tuple[str, ...]:
    badges = []
    if event.outcome == EventOutcome.DUPLICATE:
        badges.append(_("Duplicate"))
    if event.out_of_order:
        badges.append(_("Out of order"))
    if event.outcome == EventOutcome.IGNORED:
        badges.append(_("Ignored by precedence"))
    return tuple(badges)


def _detail(event: TransactionEvent) -> str:
    parts = []
    if event.amount is not None:
        parts.append(format_money(event.amount, event.currency))
    if event.return_code:
        parts.append(f"{event.return_code} {event.return_message}".strip())
    if event.notification_id:
        parts.append(_("notification %(id)s") % {"id": event.notification_id})
    if event.kind == EventKind.STATUS_INQUIRY and event.http_status and event.outcome != EventOutcome.ERROR:
        parts.append(f"HTTP {event.http_status}")
    if event.detail and event.kind != EventKind.OPERATION:
        parts.append(event.detail)
    return " · ".join(parts)


def _actor(event: TransactionEvent) -> str:
    if event.kind == EventKind.NOTIFICATION:
        return "SIBS"
    if event.kind == EventKind.STATUS_INQUIRY:
        return _("Status check")
    return "SIBS"


def transaction_url(access: Access, txn: Transaction) -> str:
    """The detail page of ``txn`` for ``access``, or "" when that access may not open it."""
    if txn.merchant_id != access.merchant.pk or not (txn.store_id is None or access.allows_store(txn.store_id)):
        return ""
    try:
        return reverse(
            "payments:transaction", kwargs={"merchant": access.merchant.slug, "transaction_id": txn.transaction_id}
        )
    except NoReverseMatch:  # an id no URL can carry ("a/b", ""): shown, not linked
        return ""


def entry_for_event(event: TransactionEvent, *, access: Access, show_raw: bool) -> TimelineEntry:
    related = event.related_transaction
    link = transaction_url(access, related) if related is not None else ""
    return TimelineEntry(
        at=event.occurred_at,
        kind=event.kind,
        title=_title(event),
        detail=_detail(event),
        outcome=_outcome(event),
        actor=_actor(event),
        badges=_badges(event),
        link=link,
        raw=event.payload if show_raw and event.payload is not None else None,
    )
