"""Reads, always scoped to what the caller may see (merchant, and stores for store-limited access).

A line or an exception belongs to the store of its transaction, or of its terminal when it
matched none; store-limited people see those of their stores only (a line with no known store
is seen by people with the whole merchant).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from backoffice.access import Access
from payments.models import Transaction
from reconciliation.models import (
    ExceptionState,
    ImportAttempt,
    ReconciliationException,
    ReconciliationSettings,
    SettlementFile,
    SettlementLine,
)
from reconciliation.services.matching import SETTLING_OPERATION_TYPES, SETTLING_PAYMENT_STATES

ZERO = Decimal("0")


def _lines(access: Access) -> QuerySet[SettlementLine]:
    return access.scope(SettlementLine.objects.all())


def settings_get(*, access: Access) -> ReconciliationSettings:
    obj, _ = ReconciliationSettings.objects.get_or_create(merchant=access.merchant)
    return obj


@dataclass(frozen=True)
class Payout:
    settlement_date: date
    payout_reference: str
    lines: int
    gross: Decimal
    fees: Decimal
    net: Decimal
    reconciled_lines: int
    open_exceptions: int
    currency: str

    @property
    def matched_percent(self) -> int:
        return int(self.reconciled_lines * 100 / self.lines) if self.lines else 100

    @property
    def is_reconciled(self) -> bool:
        return self.lines > 0 and self.reconciled_lines == self.lines


def payout_list(
    *, access: Access, since: date | None = None, until: date | None = None, limit: int = 200
) -> list[Payout]:
    """One row per settlement date and payout reference, newest first, counting current lines."""
    qs = _lines(access).filter(is_current=True)
    if since:
        qs = qs.filter(settlement_date__gte=since)
    if until:
        qs = qs.filter(settlement_date__lte=until)
    open_exception = ReconciliationException.objects.filter(line=OuterRef("pk"), state=ExceptionState.OPEN)
    rows = (
        qs.annotate(has_open=Exists(open_exception))
        .values("settlement_date", "payout_reference")
        .annotate(
            n=Count("id"),
            gross=Coalesce(Sum("gross_amount"), ZERO),
            fees=Coalesce(Sum("fee_amount"), ZERO),
            net=Coalesce(Sum("net_amount"), ZERO),
            ok=Count("id", filter=Q(reconciled=True)),
            open=Count("id", filter=Q(has_open=True)),
            currencies=Count("currency", distinct=True),
        )
        .order_by("-settlement_date", "payout_reference")[:limit]
    )
    result = []
    for row in rows:
        currency = "EUR"
        if row["currencies"] == 1:
            currency = (
                qs.filter(settlement_date=row["settlement_date"], payout_reference=row["payout_reference"])
                .values_list("currency", flat=True)
                .first()
            )
        result.append(
            Payout(
                settlement_date=row["settlement_date"],
                payout_reference=row["payout_reference"],
                lines=row["n"],
                gross=row["gross"],
                fees=row["fees"],
                net=row["net"],
                reconciled_lines=row["ok"],
                open_exceptions=row["open"],
                currency=currency if row["currencies"] == 1 else "",
            )
        )
    return result


def payout_get(*, access: Access, settlement_date: date, reference: str) -> Payout:
    for payout in payout_list(access=access, since=settlement_date, until=settlement_date, limit=10_000):
        if payout.payout_reference == reference:
            return payout
    from django.http import Http404

    raise Http404("No such payout")


def payout_lines(*, access: Access, settlement_date: date, reference: str) -> QuerySet[SettlementLine]:
    return (
        _lines(access)
        .filter(settlement_date=settlement_date, payout_reference=reference, is_current=True)
        .select_related("transaction", "file")
        .order_by("transaction_datetime", "id")
    )


def exception_list(
    *,
    access: Access,
    state: str = ExceptionState.OPEN,
    kinds: tuple[str, ...] = (),
    store_ids: tuple[int, ...] = (),
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[ReconciliationException]:
    qs = access.scope(ReconciliationException.objects.all())
    if state:
        qs = qs.filter(state=state)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if store_ids:
        qs = qs.filter(store_id__in=store_ids)
    if since:
        qs = qs.filter(value_date__gte=since)
    if until:
        qs = qs.filter(value_date__lte=until)
    return qs.select_related("line", "line__file", "transaction", "store").order_by("value_date", "id")


def exception_get(*, access: Access, pk: int) -> ReconciliationException:
    return get_object_or_404(
        access.scope(ReconciliationException.objects.select_related("line", "line__file", "transaction", "store")),
        pk=pk,
    )


def exceptions_for_update(*, access: Access, pks: list[int]) -> QuerySet[ReconciliationException]:
    return access.scope(ReconciliationException.objects.filter(pk__in=pks))


def transaction_candidates(*, access: Access, text: str, limit: int = 10) -> QuerySet[Transaction]:
    """Transactions a person may match a line to by hand: found by SIBS id or order id."""
    text = text.strip()
    if not text:
        return Transaction.objects.none()
    qs = access.scope(Transaction.objects.all())
    return qs.filter(
        Q(transaction_id=text) | Q(merchant_transaction_id=text) | Q(internal_transaction_id=text)
    ).order_by("-created_at")[:limit]


def transaction_get(*, access: Access, transaction_id: str) -> Transaction | None:
    return access.scope(Transaction.objects.all()).filter(transaction_id=transaction_id).first()


def file_list(*, access: Access, limit: int = 50) -> QuerySet[SettlementFile]:
    # Files are the merchant's: a store-limited person sees them (their lines stay scoped).
    return SettlementFile.objects.filter(merchant=access.merchant).order_by("-imported_at", "-id")[:limit]


def attempt_list(*, access: Access, limit: int = 20) -> QuerySet[ImportAttempt]:
    return ImportAttempt.objects.filter(merchant=access.merchant).order_by("-created_at", "-id")[:limit]


# --------------------------------------------------------------------------- a transaction's side


class SettlementState:
    SETTLED = "settled"
    EXPECTED = "expected"
    EXCEPTION = "exception"


def _open_line_problem() -> Exists:
    return Exists(SettlementLine.objects.filter(transaction=OuterRef("pk"), is_current=True, reconciled=False))


def _settled() -> Exists:
    return Exists(SettlementLine.objects.filter(transaction=OuterRef("pk"), is_current=True, reconciled=True))


def _missing() -> Exists:
    return Exists(
        ReconciliationException.objects.filter(
            transaction=OuterRef("pk"), kind="missing_in_settlement", state=ExceptionState.OPEN
        )
    )


def _settling() -> Q:
    return Q(state__in=SETTLING_PAYMENT_STATES) | Q(state="succeeded", payment_type__in=SETTLING_OPERATION_TYPES)


def transactions_by_settlement(qs: QuerySet[Transaction], value: str) -> QuerySet[Transaction]:
    """The transaction list's "settlement" filter: settled, expected (should settle, not yet,
    not overdue) or exception (a line that differs, or missing in settlement)."""
    if value == SettlementState.SETTLED:
        return qs.filter(_settled())
    if value == SettlementState.EXCEPTION:
        return qs.filter(_open_line_problem() | _missing())
    if value == SettlementState.EXPECTED:
        return (
            qs.filter(_settling())
            .exclude(Exists(SettlementLine.objects.filter(transaction=OuterRef("pk"), is_current=True)))
            .exclude(_missing())
        )
    return qs


@dataclass(frozen=True)
class TransactionSettlement:
    state: str
    lines: list[SettlementLine]
    exceptions: list[ReconciliationException]


def settlement_for_transaction(*, access: Access, transaction: Transaction) -> TransactionSettlement | None:
    """What the settlement files say about one transaction, for its page. None for a caller who
    may not reconcile or a transaction that is not to settle and has no line."""
    from backoffice.roles import Capability

    if not access.can(Capability.RECONCILE) or not access.allows_store(transaction.store_id):
        return None
    lines = list(
        SettlementLine.objects.filter(merchant=access.merchant, transaction=transaction, is_current=True)
        .select_related("file")
        .order_by("settlement_date", "id")
    )
    exceptions = list(
        ReconciliationException.objects.filter(
            Q(transaction=transaction) | Q(line__in=[x.pk for x in lines]), merchant=access.merchant
        ).order_by("-opened_at")
    )
    open_exceptions = [e for e in exceptions if e.state == ExceptionState.OPEN]
    if open_exceptions or any(not x.reconciled for x in lines):
        state = SettlementState.EXCEPTION
    elif lines:
        state = SettlementState.SETTLED
    elif Transaction.objects.filter(pk=transaction.pk).filter(_settling()).exists():
        state = SettlementState.EXPECTED
    else:
        return None
    return TransactionSettlement(state=state, lines=lines, exceptions=exceptions)


# --------------------------------------------------------------------------- extracts seam

EXPORT_COLUMNS = (
    "settlement_date",
    "payout_reference",
    "transaction_id",
    "merchant_transaction_id",
    "terminal_id",
    "transaction_datetime",
    "payment_method",
    "payment_type",
    "gross_amount",
    "fee_amount",
    "net_amount",
    "currency",
    "status",
    "match_method",
    "reconciled",
    "amount_difference",
    "store",
    "file",
    "line",
)


def export_rows(
    *, access: Access, since: date | None = None, until: date | None = None, statuses: tuple[str, ...] = ()
) -> Iterator[dict]:
    """Current settlement lines as flat rows (``EXPORT_COLUMNS``), for the extracts engine to
    write as CSV or XLSX. Streams (``iterator``) so a year of lines does not sit in memory."""
    qs = _lines(access).filter(is_current=True)
    if since:
        qs = qs.filter(settlement_date__gte=since)
    if until:
        qs = qs.filter(settlement_date__lte=until)
    if statuses:
        qs = qs.filter(status__in=statuses)
    qs = qs.select_related("file", "store").order_by("settlement_date", "payout_reference", "id")
    for line in qs.iterator(chunk_size=2000):
        yield {
            "settlement_date": line.settlement_date,
            "payout_reference": line.payout_reference,
            "transaction_id": line.sibs_transaction_id,
            "merchant_transaction_id": line.merchant_transaction_id,
            "terminal_id": line.terminal_number,
            "transaction_datetime": line.transaction_datetime,
            "payment_method": line.payment_method,
            "payment_type": line.payment_type,
            "gross_amount": line.gross_amount,
            "fee_amount": line.fee_amount,
            "net_amount": line.net_amount,
            "currency": line.currency,
            "status": line.status,
            "match_method": line.match_method,
            "reconciled": line.reconciled,
            "amount_difference": line.amount_delta,
            "store": line.store.name if line.store_id else "",
            "file": line.file.name,
            "line": line.line_number,
        }
