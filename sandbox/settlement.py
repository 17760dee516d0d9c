"""The sandbox's daily settlement file, as SIBS would send it after payout.

One file per sandbox client and day, in layout ``v1`` (docs/settlement-format.md): every
payment that succeeded (purchases; authorisations settle through their captures) and every
successful capture and refund, between the previous day's 00:10 UTC cut-off and the day's,
with a fee per method. On request it carries deliberate differences, to see reconciliation
catch them:

- ``missing``: the first payment line left out (it becomes *missing in settlement* here);
- ``cent``: the second payment one cent more than was paid (an *amount difference*);
- ``unknown``: a line for a transaction the gateway never had (*missing here*);
- ``duplicate``: the last payment line twice (a *duplicate line*);
- ``currency``: the third payment settled in USD (a *currency difference*).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .models import SandboxMerchant, SandboxOperation, SandboxPayment

DIFFERENCES = ("missing", "cent", "unknown", "duplicate", "currency")
CUTOFF = time(0, 10, tzinfo=UTC)
CENT = Decimal("0.01")
# (rate, fixed) per method: illustrative acquiring fees, not SIBS's price list.
FEES = {
    "CARD": (Decimal("0.0140"), Decimal("0.05")),
    "MBWAY": (Decimal("0.0070"), Decimal("0.00")),
    "REFERENCE": (Decimal("0.0000"), Decimal("0.35")),
    "TOKEN": (Decimal("0.0140"), Decimal("0.05")),
}
DEFAULT_FEE = (Decimal("0.0100"), Decimal("0.00"))


def fee_for(method: str, gross: Decimal) -> Decimal:
    if gross <= 0:
        return Decimal("0.00")  # refunds: no fee back, none charged
    rate, fixed = FEES.get((method or "").upper(), DEFAULT_FEE)
    return (gross * rate + fixed).quantize(CENT, rounding=ROUND_HALF_UP)


def file_name(day: date) -> str:
    return f"SIBS_Reconciliation_{day:%Y%m%d}001500.csv"


def _window(day: date) -> tuple[datetime, datetime]:
    end = datetime.combine(day, CUTOFF)
    return end - timedelta(days=1), end


def _row(
    day: date,
    payout: str,
    tid: str,
    mtid: str,
    terminal: int,
    when: datetime,
    method: str,
    ptype: str,
    gross: Decimal,
    currency: str,
) -> list[str]:
    gross = gross.quantize(CENT)
    fee = fee_for(method, gross)
    return [
        day.isoformat(),
        payout,
        tid,
        mtid or "",
        str(terminal),
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        method,
        ptype,
        f"{gross}",
        f"{fee}",
        f"{gross - fee}",
        currency,
    ]


def settlement_rows(merchant: SandboxMerchant, day: date, differences: tuple[str, ...] = ()) -> list[list[str]]:
    since, until = _window(day)
    payout = f"SBX-{day:%Y%m%d}-{merchant.pk}"
    rows: list[list[str]] = []
    payments = SandboxPayment.objects.filter(
        merchant=merchant,
        status="Success",
        payment_type__in=["PURS", "MITR"],
        executed_at__gte=since,
        executed_at__lt=until,
    ).order_by("executed_at", "id")
    for p in payments:
        rows.append(
            _row(
                day,
                payout,
                p.transaction_id,
                p.merchant_transaction_id,
                p.terminal_id,
                p.executed_at,
                p.payment_method,
                p.payment_type,
                p.amount,
                p.currency,
            )
        )
    operations = (
        SandboxOperation.objects.filter(
            payment__merchant=merchant,
            status="Success",
            kind__in=["capture", "refund"],
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("payment")
        .order_by("created_at", "id")
    )
    for op in operations:
        sign = Decimal("-1") if op.kind == "refund" else Decimal("1")
        rows.append(
            _row(
                day,
                payout,
                op.transaction_id,
                op.merchant_transaction_id,
                op.payment.terminal_id,
                op.created_at,
                op.payment.payment_method,
                op.payment_type,
                sign * op.amount,
                op.currency,
            )
        )
    payment_rows = [r for r in rows if not r[8].startswith("-")]
    if "cent" in differences and len(payment_rows) > 1:
        r = payment_rows[1]
        r[8] = f"{Decimal(r[8]) + CENT}"
        r[10] = f"{Decimal(r[8]) - Decimal(r[9])}"
    if "currency" in differences and len(payment_rows) > 2:
        payment_rows[2][11] = "USD"
    if "duplicate" in differences and rows:
        rows.append(list(payment_rows[-1] if payment_rows else rows[-1]))
    if "unknown" in differences:
        terminal = merchant.terminal_ids[0] if merchant.terminal_ids else 0
        rows.append(
            _row(
                day,
                payout,
                f"SBXUNKNOWN{day:%Y%m%d}",
                "",
                terminal,
                until - timedelta(hours=1),
                "CARD",
                "PURS",
                Decimal("12.34"),
                "EUR",
            )
        )
    if "missing" in differences and payment_rows:
        rows.remove(payment_rows[0])
    return rows


def settlement_file(merchant: SandboxMerchant, day: date, differences: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """The file's name and content (``;``-separated, no header, UTF-8, CRLF like SIBS's files)."""
    unknown = set(differences) - set(DIFFERENCES)
    if unknown:
        raise ValueError(f"unknown differences: {', '.join(sorted(unknown))}")
    rows = settlement_rows(merchant, day, tuple(differences))
    text = "".join(";".join(row) + "\r\n" for row in rows)
    return file_name(day), text.encode()


def outbox_dir():
    """Where the daily file is written: the sandbox's SFTP "output folder" (``VAR_DIR/sandbox/sftp``)."""
    from pathlib import Path

    from django.conf import settings

    return Path(settings.VAR_DIR) / "sandbox" / "sftp"


def write_daily_files(day: date) -> list[str]:
    """Write the day's file of every client with settled transactions; returns the paths."""
    folder = outbox_dir()
    written = []
    for merchant in SandboxMerchant.objects.order_by("pk"):
        name, content = settlement_file(merchant, day)
        if not content:
            continue
        target = folder / str(merchant.pk) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        partial.rename(target)  # appears whole: a pickup never sees half a file
        written.append(str(target))
    return written
