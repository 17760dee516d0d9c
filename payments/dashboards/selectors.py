"""What the dashboards show, read from the rollups and always scoped to what the person may see
(their merchant; their stores when they are limited to some: in every figure).

Definitions (shown on the page too):

- **Gross volume**: the amount of successful payments (purchases, MULTIBANCO references paid,
  merchant-initiated charges, and authorisations granted), by the hour they started.
- **Success rate** = successful ÷ (successful + declined). Technical errors (SIBS ``Error`` or
  ``Timeout``), requests never answered (an MB WAY request that expired), cancellations and
  payments still pending are counted beside it, not in it. MULTIBANCO references count only once
  paid (a reference not paid yet is not a decline).
- **Refunds** and **captures**: the amount of those that went through, by the hour they were
  asked; **net volume** = gross volume - refunds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Min, Q, Sum, Value, When
from django.utils import timezone

from backoffice.access import Access
from payments.dashboards import services
from payments.dashboards.models import Grain, Kind, Outcome, Rollup
from payments.dashboards.periods import Query, Window
from payments.sibs.enums import PaymentMethod

ZERO = Decimal(0)
PAYMENT_KINDS = (Kind.PURCHASE, Kind.AUTHORISATION)
SUCCESSFUL = (Outcome.SUCCESS, Outcome.AUTHORISED)
COCKPIT_HOURS = 24
# How many marked hours a page sweeps itself before reading (beat sweeps the rest in seconds).
READ_SWEEP_BATCH = 200


def rollups(access: Access, *, currency: str | None = None) -> object:
    qs = Rollup.objects.filter(merchant_id=access.merchant.pk)
    if access.is_store_limited:
        qs = qs.filter(store_id__in=access.store_ids)
    if currency:
        qs = qs.filter(currency=currency)
    return qs


def _filtered(qs, query: Query):
    if query.store_ids:
        qs = qs.filter(store_id__in=query.store_ids)
    if query.terminal_pks:
        qs = qs.filter(terminal_id__in=query.terminal_pks)
    if query.methods:
        qs = qs.filter(method__in=query.methods)
    return qs


def _in(qs, window: Window):
    return qs.filter(grain=window.grain, bucket__gte=window.since, bucket__lt=window.until)


def refresh(access: Access) -> None:
    """Bring this merchant's rollups up to date before reading them (when anything is marked)."""
    if services.rollups_pending(merchant_id=access.merchant.pk):
        services.rollups_sweep(merchant_id=access.merchant.pk, batch=READ_SWEEP_BATCH)


# --------------------------------------------------------------------------- totals


@dataclass
class Totals:
    """Counts and amounts of one period (or one bucket), by what they were and how they ended."""

    count: dict = field(default_factory=lambda: defaultdict(int))
    amount: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))

    def add(self, kind: str, outcome: str, method: str, count: int, amount: Decimal) -> None:
        amount = amount or ZERO
        self.count[(kind, outcome)] += count
        self.amount[(kind, outcome)] += amount
        if method:  # kept for successful payments only (see ``_method_if_successful``)
            self.count[(kind, outcome, method)] += count
            self.amount[(kind, outcome, method)] += amount

    def _sum(self, table: dict, kinds, outcomes, method: str | None = None):
        total = 0 if table is self.count else ZERO
        for kind in kinds:
            for outcome in outcomes:
                total += table.get((kind, outcome) if method is None else (kind, outcome, method), 0)
        return total

    def gross(self, method: str | None = None) -> Decimal:
        return self._sum(self.amount, PAYMENT_KINDS, SUCCESSFUL, method)

    def successes(self, method: str | None = None) -> int:
        return self._sum(self.count, PAYMENT_KINDS, SUCCESSFUL, method)

    def declines(self) -> int:
        return self._sum(self.count, PAYMENT_KINDS, (Outcome.DECLINED,))

    def errors(self) -> int:
        return self._sum(self.count, PAYMENT_KINDS, (Outcome.ERROR,))

    def unanswered(self) -> int:
        return self._sum(self.count, PAYMENT_KINDS, (Outcome.EXPIRED,))

    def success_rate(self) -> float | None:
        base = self.successes() + self.declines()
        return self.successes() / base if base else None

    def average_ticket(self) -> Decimal | None:
        n = self.successes()
        return (self.gross() / n).quantize(Decimal("0.01")) if n else None

    def refunds(self) -> tuple[Decimal, int]:
        return self._sum(self.amount, (Kind.REFUND,), (Outcome.SUCCESS,)), self._sum(
            self.count, (Kind.REFUND,), (Outcome.SUCCESS,)
        )

    def captures(self) -> tuple[Decimal, int]:
        return self._sum(self.amount, (Kind.CAPTURE,), (Outcome.SUCCESS,)), self._sum(
            self.count, (Kind.CAPTURE,), (Outcome.SUCCESS,)
        )

    def net(self) -> Decimal:
        return self.gross() - self.refunds()[0]


def _method_if_successful() -> Case:
    """The method, for successful payments only (the only figures split by method): fewer rows
    to add up."""
    return Case(
        When(kind__in=PAYMENT_KINDS, outcome__in=SUCCESSFUL, then="method"),
        default=Value(""),
        output_field=CharField(),
    )


def _totals_by(rows, key) -> dict:
    out: dict = defaultdict(Totals)
    for row in rows:
        out[key(row)].add(row["kind"], row["outcome"], row["m"], row["n"], row["total"])
    return out


# --------------------------------------------------------------------------- cockpit


@dataclass
class Cockpit:
    now: datetime
    hours: list[datetime]
    current: Totals
    previous: Totals
    week_ago: Totals
    by_hour: dict  # hour -> Totals
    mbway_waiting: int
    mbway_waiting_amount: Decimal
    references_unpaid: int
    references_unpaid_amount: Decimal
    to_capture: int
    to_capture_amount: Decimal
    to_capture_oldest: datetime | None
    methods: list[str]


def cockpit(access: Access, *, currency: str = "EUR", now: datetime | None = None) -> Cockpit:
    """The last 24 hours (this hour and the 23 before it), the 24 before them, and the same 24
    hours a week earlier; then what is still open, of any age."""
    now = now or timezone.now()
    first = services.hour_of(now) - timedelta(hours=COCKPIT_HOURS - 1)
    end = services.hour_of(now) + services.HOUR
    previous = first - timedelta(hours=COCKPIT_HOURS)
    week = first - timedelta(days=7)
    base = rollups(access, currency=currency).filter(grain=Grain.HOUR)
    period = Case(
        When(bucket__gte=first, then=Value("current")),
        When(bucket__gte=previous, bucket__lt=first, then=Value("previous")),
        default=Value("week"),
        output_field=CharField(),
    )
    rows = list(
        base.filter(
            Q(bucket__gte=previous, bucket__lt=end) | Q(bucket__gte=week, bucket__lt=week + timedelta(hours=24))
        )
        .annotate(period=period, m=_method_if_successful())
        .values("period", "bucket", "kind", "outcome", "m")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by()
    )
    by_period = _totals_by(rows, lambda r: r["period"])
    by_hour = _totals_by([r for r in rows if r["period"] == "current"], lambda r: r["bucket"])
    open_rows = list(
        rollups(access, currency=currency)
        .filter(grain=Grain.MONTH)
        .filter(
            Q(outcome=Outcome.PENDING, method=PaymentMethod.MBWAY, kind=Kind.PURCHASE)
            | Q(outcome=Outcome.AWAITING, method=PaymentMethod.REFERENCE)
            | Q(outcome=Outcome.AUTHORISED, kind=Kind.AUTHORISATION)
        )
        .values("outcome")
        .annotate(n=Sum("count"), total=Sum("amount"), open=Sum("open_amount"), oldest=Min("first_at"))
        .order_by()
    )
    open_ = {r["outcome"]: r for r in open_rows}

    def pick(outcome: str, name: str, default):
        row = open_.get(outcome)
        return row[name] if row and row[name] is not None else default

    methods = sorted({r["m"] for r in rows if r["period"] == "current" and r["m"]}, key=method_order)
    return Cockpit(
        now=now,
        hours=[first + timedelta(hours=i) for i in range(COCKPIT_HOURS)],
        current=by_period["current"],
        previous=by_period["previous"],
        week_ago=by_period["week"],
        by_hour=by_hour,
        mbway_waiting=pick(Outcome.PENDING, "n", 0),
        mbway_waiting_amount=pick(Outcome.PENDING, "total", ZERO),
        references_unpaid=pick(Outcome.AWAITING, "n", 0),
        references_unpaid_amount=pick(Outcome.AWAITING, "total", ZERO),
        to_capture=pick(Outcome.AUTHORISED, "n", 0),
        to_capture_amount=pick(Outcome.AUTHORISED, "open", ZERO),
        to_capture_oldest=pick(Outcome.AUTHORISED, "oldest", None),
        methods=methods,
    )


METHOD_ORDER = [m.value for m in PaymentMethod]


def method_order(method: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


# --------------------------------------------------------------------------- history


@dataclass
class History:
    query: Query
    buckets: list[datetime]
    compare_buckets: list[datetime]
    series: dict  # bucket -> Totals
    compare_series: dict
    total: Totals
    compare_total: Totals
    methods: list[str]
    stores: list[dict]
    terminals: list[dict]
    declines: list[dict]
    references: dict
    reference_delays: dict


def history(access: Access, query: Query) -> History:
    base = _filtered(rollups(access, currency=query.currency), query)
    window, other = query.window, query.compare_window
    current = _in(base, window)
    periods = Q(bucket__gte=window.since, bucket__lt=window.until)
    if other is not None:
        periods |= Q(bucket__gte=other.since, bucket__lt=other.until)
    rows = list(
        base.filter(grain=window.grain)
        .filter(periods)
        .annotate(m=_method_if_successful())
        .values("bucket", "kind", "outcome", "m")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by()
    )
    in_window = [r for r in rows if window.since <= r["bucket"] < window.until]
    series = _totals_by(in_window, lambda r: r["bucket"])
    total = _totals_by(in_window, lambda r: "all")["all"]
    compare_rows = [r for r in rows if other is not None and other.since <= r["bucket"] < other.until]
    compare_series = _totals_by(compare_rows, lambda r: r["bucket"])
    compare_total = _totals_by(compare_rows, lambda r: "all")["all"]

    places = list(
        current.filter(kind__in=PAYMENT_KINDS)
        .values("store_id", "terminal_id", "kind", "outcome")
        .annotate(m=Value(""))
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by()
    )
    by_store = _totals_by(places, lambda r: r["store_id"])
    by_terminal = _totals_by(places, lambda r: (r["store_id"], r["terminal_id"]))
    declines = list(
        current.filter(kind__in=PAYMENT_KINDS, outcome__in=(Outcome.DECLINED, Outcome.ERROR))
        .values("return_code", "outcome")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by("-n", "return_code")
    )
    reference_rows = list(
        current.filter(method=PaymentMethod.REFERENCE, kind=Kind.PURCHASE)
        .values("outcome", "delay_band")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by()
    )
    references: dict = defaultdict(int)
    delays: dict = defaultdict(int)
    for row in reference_rows:
        references[row["outcome"]] += row["n"]
        references["issued"] += row["n"]
        if row["delay_band"]:
            delays[row["delay_band"]] += row["n"]
    return History(
        query=query,
        buckets=window.buckets,
        compare_buckets=other.buckets if other is not None else [],
        series=series,
        compare_series=compare_series,
        total=total,
        compare_total=compare_total,
        methods=sorted({r["m"] for r in in_window if r["m"]}, key=method_order),
        stores=[{"store_id": k, "totals": v} for k, v in by_store.items()],
        terminals=[{"store_id": k[0], "terminal_id": k[1], "totals": v} for k, v in by_terminal.items()],
        declines=declines,
        references=dict(references),
        reference_delays=dict(delays),
    )


def currencies(access: Access) -> list[str]:
    """Currencies this merchant has figures in (from the month rows: a handful)."""
    found = set(rollups(access).filter(grain=Grain.MONTH).values_list("currency", flat=True).distinct().order_by())
    return sorted(found | {"EUR"})


def latest_change(access: Access) -> datetime | None:
    """When the last transaction this person may see was written: one index read."""
    from payments.models import Transaction

    return access.scope(Transaction.objects.all()).order_by("-changed_at").values_list("changed_at", flat=True).first()
