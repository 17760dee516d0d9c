"""Reads of payment requests, always scoped by an Access, and what a request's status means."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.models import Terminal
from backoffice.roles import Capability
from common.dates import LISBON
from common.money import format_money
from payments.models import ReferenceState, Transaction, TransactionState
from payments.requests.models import PaymentRequest, RequestMethod, RequestState
from payments.selectors.timeline import TimelineEntry
from payments.sibs.enums import PaymentStatus


def payment_request_list(*, access: Access) -> QuerySet[PaymentRequest]:
    access.require(Capability.REQUEST_PAYMENTS)
    return access.scope(PaymentRequest.objects.all()).select_related("transaction", "terminal", "store")


def payment_request_get(*, access: Access, pk: int) -> PaymentRequest:
    """Another merchant's (or another store's) request is a 404."""
    return get_object_or_404(payment_request_list(access=access), pk=pk)


def request_terminals(*, access: Access) -> QuerySet[Terminal]:
    """The terminals the caller may ask for payments on."""
    access.require(Capability.REQUEST_PAYMENTS)
    qs = (
        Terminal.objects.filter(merchant=access.merchant).select_related("store").order_by("store__name", "terminal_id")
    )
    if access.is_store_limited:
        qs = qs.filter(store_id__in=access.store_ids)
    return qs


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class RequestStatus:
    code: str  # sending | unknown | failed | waiting_customer | awaiting_payment | paid | declined | expired | …
    label: str
    outcome: str  # ok | warn | error | info (the colour)
    final: bool
    detail: str = ""


def request_status(request: PaymentRequest, *, now: datetime | None = None) -> RequestStatus:
    """What the request means now for the person who sent it: before SIBS has the payment, the
    request's own state; after, the transaction's (updated by notifications and inquiries)."""
    from payments.requests.services import describe_code

    now = now or timezone.now()
    if request.state in (RequestState.RESERVED, RequestState.IN_FLIGHT):
        return RequestStatus("sending", _("Sending to SIBS…"), "info", False)
    if request.state == RequestState.FAILED:
        return RequestStatus("failed", _("Not sent"), "error", True, request.outcome_detail)
    if request.state == RequestState.UNKNOWN:
        return RequestStatus("unknown", _("Waiting for SIBS to confirm"), "warn", False, request.outcome_detail)
    txn = request.transaction
    if txn is None:
        return RequestStatus("unknown", _("Waiting for SIBS to confirm"), "warn", False)
    # "000" only says the call (or the inquiry) was processed: no reason for a decline in it.
    coded = txn.return_code and txn.return_code != "000"
    reason = describe_code(txn.return_code, txn.return_description or txn.return_message) if coded else ""
    if txn.state in (TransactionState.REFUNDED, TransactionState.PARTIALLY_REFUNDED):
        return RequestStatus("refunded", str(txn.get_state_display()), "info", True)
    if txn.state == TransactionState.CANCELLED or txn.reference_status == ReferenceState.CANCELLED:
        return RequestStatus("cancelled", _("Cancelled"), "info", True)
    if request.method == RequestMethod.REFERENCE:
        if txn.reference_status == ReferenceState.PAID or txn.state == TransactionState.PAID:
            late = bool(
                request.reference_expiry and txn.reference_paid_at and txn.reference_paid_at > request.reference_expiry
            )
            return RequestStatus("paid", _("Paid after expiry") if late else _("Paid"), "ok", True)
        if txn.reference_status == ReferenceState.EXPIRED or txn.payment_status == PaymentStatus.EXPIRED:
            return RequestStatus("expired", _("Expired unpaid"), "warn", True)
        if txn.payment_status in (PaymentStatus.DECLINED, PaymentStatus.ERROR):
            return RequestStatus("declined", _("Declined"), "error", True, reason)
        if request.reference_expiry and request.reference_expiry <= now:
            return RequestStatus("overdue", _("Past its expiry, unpaid (waiting for SIBS to confirm)"), "warn", False)
        return RequestStatus("awaiting_payment", _("Waiting for payment"), "info", False)
    status = txn.payment_status
    if status == PaymentStatus.SUCCESS:
        return RequestStatus("paid", _("Paid"), "ok", True)
    if status == PaymentStatus.DECLINED:
        return RequestStatus("declined", _("Declined"), "error", True, reason or _("The customer declined in MB WAY."))
    if status in (PaymentStatus.TIMEOUT, PaymentStatus.EXPIRED):
        return RequestStatus(
            "expired", _("Expired"), "warn", True, _("The customer did not accept in the MB WAY app in time.")
        )
    if status == PaymentStatus.ERROR:
        return RequestStatus("failed", _("Failed"), "error", True, reason)
    return RequestStatus("waiting_customer", _("Waiting for the customer to accept in the MB WAY app"), "info", False)


# --------------------------------------------------------------------------- the waiting board


@dataclass
class Board:
    expired: list[PaymentRequest]
    today: list[PaymentRequest]
    this_week: list[PaymentRequest]
    later: list[PaymentRequest]
    paid_late: list[PaymentRequest]
    mbway_waiting: list[PaymentRequest]
    unknown: list[PaymentRequest]

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.expired, self.today, self.this_week, self.later, self.paid_late, self.mbway_waiting, self.unknown)
        )


BOARD_LIMIT = 200


def waiting_board(*, access: Access, now: datetime | None = None) -> Board:
    """Unpaid references by expiry (expired, today, within 7 days, later, in Lisbon days),
    references paid after their expiry (last 30 days), MB WAY requests still waiting, and
    requests whose outcome SIBS has yet to confirm."""
    now = now or timezone.now()
    base = payment_request_list(access=access)
    unpaid = list(
        base.filter(
            state=RequestState.SENT,
            method=RequestMethod.REFERENCE,
            transaction__reference_status=ReferenceState.UNPAID,
        )
        .exclude(transaction__payment_status__in=[PaymentStatus.DECLINED, PaymentStatus.ERROR, PaymentStatus.EXPIRED])
        .order_by(F("reference_expiry").asc(nulls_last=True), "pk")[:BOARD_LIMIT]
    )
    today = now.astimezone(LISBON).date()
    board = Board([], [], [], [], [], [], [])
    for request in unpaid:
        expiry = request.reference_expiry
        if expiry is None:
            board.later.append(request)
            continue
        day = expiry.astimezone(LISBON).date()
        if expiry <= now:
            board.expired.append(request)
        elif day == today:
            board.today.append(request)
        elif day <= today + timedelta(days=7):
            board.this_week.append(request)
        else:
            board.later.append(request)
    board.paid_late = list(
        base.filter(
            state=RequestState.SENT,
            method=RequestMethod.REFERENCE,
            transaction__reference_status=ReferenceState.PAID,
            reference_expiry__isnull=False,
            transaction__reference_paid_at__gt=F("reference_expiry"),
            transaction__reference_paid_at__gte=now - timedelta(days=30),
        ).order_by("-transaction__reference_paid_at")[:BOARD_LIMIT]
    )
    board.mbway_waiting = list(
        base.filter(
            state=RequestState.SENT,
            method=RequestMethod.MBWAY,
            transaction__payment_status__in=[PaymentStatus.PENDING, PaymentStatus.IN_PROCESSING],
        ).order_by("created_at")[:BOARD_LIMIT]
    )
    board.unknown = list(
        base.filter(Q(state=RequestState.UNKNOWN) | Q(state=RequestState.IN_FLIGHT)).order_by("created_at")[
            :BOARD_LIMIT
        ]
    )
    return board


# --------------------------------------------------------------------------- the transaction's timeline


def timeline_entries(access: Access, txn: Transaction) -> Iterable[TimelineEntry]:
    """Who asked for this payment, how, and the e-mails sent to the customer (a source for
    :mod:`payments.selectors.timeline`)."""
    if txn.merchant_id != access.merchant.pk:
        return []
    entries = []
    for request in PaymentRequest.objects.filter(merchant_id=access.merchant.pk, transaction=txn).order_by("pk"):
        amount = format_money(request.amount, request.currency)
        if request.method == RequestMethod.MBWAY:
            title = _("Payment request of %(amount)s sent by MB WAY to %(phone)s") % {
                "amount": amount,
                "phone": request.phone_masked,
            }
        else:
            title = _("Payment request of %(amount)s as a MULTIBANCO reference") % {"amount": amount}
        detail = _("order %(order)s") % {"order": request.order_reference}
        if request.description:
            detail += f" · {request.description}"
        entries.append(
            TimelineEntry(
                at=request.created_at,
                kind="payment_request",
                title=title,
                detail=detail,
                outcome="info",
                actor=request.requested_by_label,
            )
        )
        if request.email_sent_at:
            entries.append(
                TimelineEntry(
                    at=request.email_sent_at,
                    kind="payment_request_email",
                    title=_("Payment details e-mailed to the customer (%(email)s)") % {"email": request.customer_email},
                    outcome="info",
                    actor=_("Backoffice"),
                )
            )
        if request.last_reminder_at:
            entries.append(
                TimelineEntry(
                    at=request.last_reminder_at,
                    kind="payment_request_email",
                    title=_("Reminder e-mailed to the customer (%(n)s so far)") % {"n": request.reminder_count},
                    outcome="info",
                    actor=_("Backoffice"),
                )
            )
    return entries


def register_timeline() -> None:
    from payments.selectors import timeline

    timeline.register(timeline_entries)
