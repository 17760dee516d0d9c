"""An independent reading of the transactions, to compare the rollups with."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from payments.dashboards.models import Rollup
from payments.dashboards.services import delay_band_of
from payments.models import Transaction

LISBON = ZoneInfo("Europe/Lisbon")

KINDS = {"AUTH": "authorisation", "RFND": "refund", "CAPT": "capture"}
CANCELLATIONS = {"CAUT", "CMBW", "CPRF", "RVSL"}
PURCHASES = {"PURS", "PREF", "MITR"}
OUTCOMES = {
    "paid": "success",
    "partially_refunded": "success",
    "refunded": "success",
    "succeeded": "success",
    "authorised": "authorised",
    "awaiting_payment": "awaiting",
    "pending": "pending",
    "declined": "declined",
    "failed": "error",
    "expired": "expired",
    "cancelled": "cancelled",
}


def classify(t: Transaction) -> tuple:
    kind = KINDS.get(t.payment_type) or (
        "cancellation" if t.payment_type in CANCELLATIONS else "purchase" if t.payment_type in PURCHASES else "other"
    )
    outcome = OUTCOMES.get(t.state, "unknown")
    code = t.return_code if t.state in ("declined", "failed") else ""
    band = 0
    if t.payment_method == "REFERENCE" and t.reference_status == "PAID" and t.reference_paid_at:
        band = delay_band_of(t.reference_paid_at - t.created_at)
    return (t.store_id, t.terminal_id, t.payment_method, kind, outcome, t.currency, code, band)


def bucket_of(moment, grain: str):
    if grain == "hour":
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    day = moment.astimezone(LISBON).date()
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    return day


def expected(merchant_id: int, grain: str) -> dict:
    totals: dict = defaultdict(lambda: [0, Decimal(0), Decimal(0), None])
    for t in Transaction.objects.filter(merchant_id=merchant_id):
        row = totals[(bucket_of(t.created_at, grain), *classify(t))]
        row[0] += 1
        row[1] += t.amount or 0
        if t.state == "authorised":
            row[2] += t.authorised_amount - t.captured_amount - t.cancelled_amount
        row[3] = t.created_at if row[3] is None else min(row[3], t.created_at)
    return {key: tuple(value) for key, value in totals.items()}


def stored(merchant_id: int, grain: str) -> dict:
    rows = {}
    for r in Rollup.objects.filter(merchant_id=merchant_id, grain=grain):
        bucket = r.bucket.astimezone(UTC) if grain == "hour" else r.bucket.astimezone(LISBON).date()
        if grain != "hour":
            # A day, week or month starts at a Lisbon midnight.
            assert r.bucket.astimezone(LISBON).time().isoformat() == "00:00:00", r.bucket
        key = (bucket, r.store_id, r.terminal_id, r.method, r.kind, r.outcome, r.currency, r.return_code, r.delay_band)
        assert key not in rows, f"two rollup rows for {key}"
        rows[key] = (r.count, r.amount, r.open_amount, r.first_at)
    return rows
