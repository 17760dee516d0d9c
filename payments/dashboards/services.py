"""Keeping the dashboard rollups equal to the transactions they count.

**Marking.** Whatever changes a transaction calls :func:`transaction_changed` in the same
database transaction; it appends one ``RollupDirty`` row (merchant, hour of ``created_at``).
The row commits with the change or not at all, so a change is never left uncounted. Appending
takes no lock that another writer waits for (no unique key, no shared counter row): notification
processing stays as concurrent as it was.

**Sweeping.** :func:`rollups_sweep` (beat, every few seconds, and before a dashboard is read)
claims the marks, recomputes each marked hour from the transactions (``DELETE`` + ``INSERT …
SELECT … GROUP BY``, so the result is the aggregate itself, not an increment that could drift),
then the Lisbon days, weeks and months around those hours from the hour rows, and deletes the
marks it claimed. One sweep at a time (a PostgreSQL advisory lock); a mark added while a sweep
runs stays for the next one. Recomputing is idempotent: a bucket swept twice is the same.

**Rebuilding.** :func:`rollups_rebuild` recomputes everything (or a merchant, or from a date)
from scratch, the same way, in chunks of a month.

Outcome of a transaction for the figures (``outcome_expression``): ``success`` (paid, partly or
wholly refunded since, or an operation that went through), ``authorised`` (waiting for capture),
``awaiting`` (a MULTIBANCO reference not paid yet), ``pending``, ``declined``, ``error`` (SIBS
``Error``/``Timeout``), ``expired`` (an MB WAY request never answered, a reference not paid in
time), ``cancelled``, ``unknown``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, DecimalField, F, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Trunc

from common.dates import LISBON
from payments.dashboards.models import MONEY, DelayBand, Grain, Kind, Outcome, Rollup, RollupDirty
from payments.models import Transaction, TransactionState
from payments.sibs.enums import PaymentMethod, PaymentType

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
SWEEP_BATCH = 2000
_LOCK_KEY = 7_236_011  # pg advisory lock: one sweep or rebuild at a time

S = TransactionState
SUCCESS_STATES = (S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED, S.SUCCEEDED)
CANCELLATION_TYPES = tuple(t.value for t in PaymentType if t.is_cancellation)
PURCHASE_TYPES = tuple(t.value for t in PaymentType if t.is_payment and t != PaymentType.AUTHORISATION)
DIMENSIONS = ("store_id", "terminal_id", "method", "kind", "outcome", "currency", "return_code", "delay_band")
_ZERO = Value(0, output_field=DecimalField(**MONEY))


# --------------------------------------------------------------------------- classification


def kind_expression() -> Case:
    return Case(
        When(payment_type=PaymentType.AUTHORISATION, then=Value(Kind.AUTHORISATION.value)),
        When(payment_type=PaymentType.REFUND, then=Value(Kind.REFUND.value)),
        When(payment_type=PaymentType.CAPTURE, then=Value(Kind.CAPTURE.value)),
        When(payment_type__in=CANCELLATION_TYPES, then=Value(Kind.CANCELLATION.value)),
        When(payment_type__in=PURCHASE_TYPES, then=Value(Kind.PURCHASE.value)),
        default=Value(Kind.OTHER.value),
        output_field=CharField(),
    )


def outcome_expression() -> Case:
    return Case(
        When(state__in=SUCCESS_STATES, then=Value(Outcome.SUCCESS.value)),
        When(state=S.AUTHORISED, then=Value(Outcome.AUTHORISED.value)),
        When(state=S.AWAITING_PAYMENT, then=Value(Outcome.AWAITING.value)),
        When(state=S.PENDING, then=Value(Outcome.PENDING.value)),
        When(state=S.DECLINED, then=Value(Outcome.DECLINED.value)),
        When(state=S.FAILED, then=Value(Outcome.ERROR.value)),
        When(state=S.EXPIRED, then=Value(Outcome.EXPIRED.value)),
        When(state=S.CANCELLED, then=Value(Outcome.CANCELLED.value)),
        default=Value(Outcome.UNKNOWN.value),
        output_field=CharField(),
    )


def return_code_expression() -> Case:
    return Case(
        When(state__in=(S.DECLINED, S.FAILED), then=F("return_code")),
        default=Value(""),
        output_field=CharField(),
    )


_BANDS = (
    (timedelta(hours=1), DelayBand.HOUR),
    (timedelta(hours=6), DelayBand.SIX_HOURS),
    (timedelta(hours=24), DelayBand.DAY),
    (timedelta(days=3), DelayBand.THREE_DAYS),
    (timedelta(days=7), DelayBand.WEEK),
)


def delay_band_expression() -> Case:
    """Paid MULTIBANCO references: how long after issue they were paid."""
    paid = Q(payment_method=PaymentMethod.REFERENCE, reference_status="PAID", reference_paid_at__isnull=False)
    return Case(
        *(When(paid & Q(r_delay__lt=limit), then=Value(band.value)) for limit, band in _BANDS),
        When(paid, then=Value(DelayBand.LONGER.value)),
        default=Value(DelayBand.NONE.value),
    )


def delay_band_of(delay: timedelta) -> int:
    for limit, band in _BANDS:
        if delay < limit:
            return band.value
    return DelayBand.LONGER.value


def _transaction_aggregate(qs):
    """Transactions grouped by UTC hour and every dimension, as columns ``r_*``."""
    return (
        qs.annotate(
            r_delay=F("reference_paid_at") - F("created_at"),
        )
        .annotate(
            r_merchant=F("merchant_id"),
            r_bucket=Trunc("created_at", "hour", tzinfo=UTC),
            r_store=F("store_id"),
            r_terminal=F("terminal_id"),
            r_method=F("payment_method"),
            r_kind=kind_expression(),
            r_outcome=outcome_expression(),
            r_currency=F("currency"),
            r_code=return_code_expression(),
            r_band=delay_band_expression(),
        )
        .values(
            "r_merchant",
            "r_bucket",
            "r_store",
            "r_terminal",
            "r_method",
            "r_kind",
            "r_outcome",
            "r_currency",
            "r_code",
            "r_band",
        )
        .annotate(
            r_count=Count("pk"),
            r_amount=Coalesce(Sum("amount"), _ZERO),
            r_open=Coalesce(
                Sum(
                    Case(
                        When(
                            state=S.AUTHORISED,
                            then=F("authorised_amount") - F("captured_amount") - F("cancelled_amount"),
                        ),
                        default=_ZERO,
                    )
                ),
                _ZERO,
            ),
            r_first=Min("created_at"),
        )
        .order_by()
    )


_INSERT_COLUMNS = (
    "merchant_id",
    "grain",
    "bucket",
    "store_id",
    "terminal_id",
    "method",
    "kind",
    "outcome",
    "currency",
    "return_code",
    "delay_band",
    "count",
    "amount",
    "open_amount",
    "first_at",
)
_SELECT_COLUMNS = (
    "r_merchant",
    None,
    "r_bucket",
    "r_store",
    "r_terminal",
    "r_method",
    "r_kind",
    "r_outcome",
    "r_currency",
    "r_code",
    "r_band",
    "r_count",
    "r_amount",
    "r_open",
    "r_first",
)


def _insert_hours(qs) -> int:
    """INSERT … SELECT of the hour rows of these transactions (the hour is a UTC hour, which
    both backends write back unchanged)."""
    sql, params = _transaction_aggregate(qs).query.sql_with_params()
    q = connection.ops.quote_name
    select = ", ".join("%s" if c is None else f"sub.{q(c)}" for c in _SELECT_COLUMNS)
    # Table, column names and the compiled query are ours; the values travel as parameters.
    table, columns = q(Rollup._meta.db_table), ", ".join(q(c) for c in _INSERT_COLUMNS)
    statement = f"INSERT INTO {table} ({columns}) SELECT {select} FROM ({sql}) sub"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, (Grain.HOUR.value, *params))
        return cursor.rowcount


def _sum_rows(merchant_id: int, source: str, target: str, start: datetime, end: datetime) -> int:
    """Rows of grain ``target`` from those of grain ``source`` in ``[start, end)``: Lisbon days
    from hours, weeks and months from days."""
    trunc = {Grain.DAY: "day", Grain.WEEK: "week", Grain.MONTH: "month"}[target]
    rows = (
        Rollup.objects.filter(merchant_id=merchant_id, grain=source, bucket__gte=start, bucket__lt=end)
        .annotate(r_bucket=Trunc("bucket", trunc, tzinfo=LISBON))
        .values("r_bucket", *DIMENSIONS)
        .annotate(r_count=Sum("count"), r_amount=Sum("amount"), r_open=Sum("open_amount"), r_first=Min("first_at"))
        .order_by()
    )
    batch = [
        Rollup(
            merchant_id=merchant_id,
            grain=target,
            bucket=row["r_bucket"],
            **{d: row[d] for d in DIMENSIONS},
            count=row["r_count"],
            amount=row["r_amount"],
            open_amount=row["r_open"],
            first_at=row["r_first"],
        )
        for row in rows.iterator(chunk_size=5000)
    ]
    Rollup.objects.bulk_create(batch, batch_size=2000)
    return len(batch)


# --------------------------------------------------------------------------- buckets


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def lisbon_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LISBON)


def day_start(moment: datetime) -> datetime:
    return lisbon_midnight(moment.astimezone(LISBON).date())


def week_start(moment: datetime) -> datetime:
    day = moment.astimezone(LISBON).date()
    return lisbon_midnight(day - timedelta(days=day.weekday()))


def month_start(moment: datetime) -> datetime:
    return lisbon_midnight(moment.astimezone(LISBON).date().replace(day=1))


def next_day(start: datetime) -> datetime:
    return lisbon_midnight(start.astimezone(LISBON).date() + timedelta(days=1))


def next_week(start: datetime) -> datetime:
    return lisbon_midnight(start.astimezone(LISBON).date() + timedelta(days=7))


def next_month(start: datetime) -> datetime:
    day = start.astimezone(LISBON).date()
    return lisbon_midnight(date(day.year + day.month // 12, day.month % 12 + 1, 1))


def _runs(starts: Iterable[datetime], following) -> list[tuple[datetime, datetime]]:
    """Consecutive buckets merged into ``[start, end)`` ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        end = following(start)
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


# --------------------------------------------------------------------------- marking


def transaction_changed(txn: Transaction) -> None:
    """Record that ``txn``'s hour must be recomputed. Call inside the transaction that wrote it."""
    if txn.merchant_id is None or txn.created_at is None:
        return
    RollupDirty.objects.create(merchant_id=txn.merchant_id, hour=hour_of(txn.created_at))


# --------------------------------------------------------------------------- recomputing


def _locked(*, wait: bool) -> bool:
    """One sweep or rebuild at a time (PostgreSQL; SQLite runs one writer anyway)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _recompute(merchant_id: int, hour_ranges: list[tuple[datetime, datetime]]) -> None:
    """Recompute these hours from the transactions, then every day, week and month they touch."""
    rows = Rollup.objects.filter(merchant_id=merchant_id)
    for start, end in hour_ranges:
        rows.filter(grain=Grain.HOUR, bucket__gte=start, bucket__lt=end).delete()
        _insert_hours(Transaction.objects.filter(merchant_id=merchant_id, created_at__gte=start, created_at__lt=end))
    days = set()
    for start, end in hour_ranges:
        day = day_start(start)
        while day < end:
            days.add(day)
            day = next_day(day)
    for start, end in _runs(days, next_day):
        rows.filter(grain=Grain.DAY, bucket__gte=start, bucket__lt=end).delete()
        _sum_rows(merchant_id, Grain.HOUR, Grain.DAY, start, end)
    for grain, first, following in ((Grain.WEEK, week_start, next_week), (Grain.MONTH, month_start, next_month)):
        for start, end in _runs({first(day) for day in days}, following):
            rows.filter(grain=grain, bucket__gte=start, bucket__lt=end).delete()
            _sum_rows(merchant_id, Grain.DAY, grain, start, end)


def rollups_sweep(*, merchant_id: int | None = None, batch: int = SWEEP_BATCH) -> int:
    """Recompute the marked hours (of one merchant, or all). Returns how many marks were done;
    0 when another sweep holds the lock (its work covers ours or the next sweep will)."""
    marks = RollupDirty.objects.order_by("id")
    if merchant_id is not None:
        marks = marks.filter(merchant_id=merchant_id)
    with transaction.atomic():
        if not _locked(wait=False):
            return 0
        claimed = list(marks.values_list("id", "merchant_id", "hour")[:batch])
        if not claimed:
            return 0
        hours: dict[int, set[datetime]] = defaultdict(set)
        for _pk, merchant, hour in claimed:
            hours[merchant].add(hour_of(hour))
        for merchant, starts in sorted(hours.items()):
            _recompute(merchant, _runs(starts, lambda h: h + HOUR))
        RollupDirty.objects.filter(id__in=[pk for pk, _m, _h in claimed]).delete()
    return len(claimed)


def rollups_pending(*, merchant_id: int) -> bool:
    return RollupDirty.objects.filter(merchant_id=merchant_id).exists()


def rollups_rebuild(*, merchant_id: int | None = None, since: datetime | None = None) -> dict[str, int]:
    """Recompute the rollups from the transactions, from ``since`` (default: the first one).
    Idempotent; one month per database transaction."""
    from backoffice.models import Merchant

    merchants = Merchant.objects.order_by("pk").values_list("pk", flat=True)
    if merchant_id is not None:
        merchants = merchants.filter(pk=merchant_id)
    done = {"merchants": 0, "months": 0, "rows": 0}
    for merchant in list(merchants):
        txns = Transaction.objects.filter(merchant_id=merchant)
        if since is not None:
            txns = txns.filter(created_at__gte=since)
        first = txns.aggregate(first=Min("created_at"))["first"]
        if first is None and since is None:
            Rollup.objects.filter(merchant_id=merchant).delete()
            continue
        start = month_start(since or first)
        end = next_month(month_start(datetime.now(UTC) + timedelta(days=1)))
        with transaction.atomic():
            _locked(wait=True)
            rows = Rollup.objects.filter(merchant_id=merchant)
            rows.exclude(grain=Grain.WEEK).filter(bucket__gte=start).delete()
            rows.filter(grain=Grain.WEEK, bucket__gte=week_start(start)).delete()
        month = start
        while month < end:
            following = next_month(month)
            with transaction.atomic():
                _locked(wait=True)
                # Also recomputes the weeks it touches, the one straddling ``start`` included.
                _recompute(merchant, [(month, following)])
            month = following
            done["months"] += 1
        done["merchants"] += 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics for the planner after a bulk rewrite
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Rollup._meta.db_table)}")
    done["rows"] = Rollup.objects.count()
    return done
