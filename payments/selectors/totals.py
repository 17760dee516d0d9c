"""Totals of a filtered transaction list, for finance: how many, and the sum per currency with
money going back to customers (refunds) counted as negative."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Sum, When

from backoffice.access import Access
from payments import selectors
from payments.selectors import listing
from payments.sibs.enums import PaymentType

# Money returned to the customer: negative in the list and in its totals.
MONEY_OUT = (PaymentType.REFUND, PaymentType.MBWAY_CASH_OUT)


@dataclass(frozen=True)
class Totals:
    count: int
    by_currency: tuple[tuple[str, Decimal], ...]


def list_totals(*, access: Access, filters: listing.ListFilters, cap: int = listing.COUNT_CAP) -> Totals | None:
    """The filtered list's count and net sum per currency (search and tab included); None when it
    holds more than ``cap`` rows (the tab counts then say "10000+", and a sum is not attempted)."""
    qs = listing.matching(selectors.transaction_list(access=access), filters).order_by()
    if qs.values("pk")[: cap + 1].count() > cap:
        return None
    signed = Case(
        When(payment_type__in=MONEY_OUT, then=-F("amount")),
        default=F("amount"),
        output_field=DecimalField(max_digits=18, decimal_places=3),
    )
    rows = list(qs.values("currency").annotate(n=Count("pk"), net=Sum(signed)).order_by("currency"))
    return Totals(
        count=sum(r["n"] for r in rows),
        by_currency=tuple((r["currency"] or "EUR", r["net"] or Decimal(0)) for r in rows),
    )
