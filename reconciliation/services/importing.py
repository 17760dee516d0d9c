"""Import a settlement file: whole or not at all, once, and never counting money twice.

1. The file's SHA-256 is taken as received (encrypted or not). The same name and content
   again is the same import: nothing happens, the earlier import is returned.
2. A PGP-encrypted file is decrypted with the merchant's private key (``services.pgp``);
   without a key it is refused.
3. In one database transaction, with the merchant's settings row locked (two imports of one
   merchant never interleave): the lines are streamed into the table (``COPY`` on PostgreSQL),
   every bad line is collected with its number and reason, and a file with any bad line is
   rolled back whole. An ``ImportAttempt`` row (written outside that transaction) keeps what
   was offered and why it was refused.
4. Each line's identity (``line_key``: SIBS transaction id, type, direction) is compared with
   the lines already current for the merchant: the same line again is *resent* (adds nothing);
   the same key in the same payout with other values *supersedes* the old line (a correction);
   the same key in another payout, or twice in one file, is a *duplicate* (an exception).
5. Set-based matching (``services.matching``), exceptions opened and closed, the transactions
   now overdue marked missing in settlement. The finance people hear about exceptions by
   e-mail once the transaction has committed (one message per file).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import BinaryIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.audit import Actor
from backoffice.audit import record as audit
from backoffice.models import Merchant
from reconciliation import layouts
from reconciliation.calendar import overdue_until
from reconciliation.models import (
    FileSource,
    ImportAttempt,
    ImportOutcome,
    LayoutChoice,
    LineStatus,
    ReconciliationSettings,
    SettlementFile,
    SettlementLine,
)
from reconciliation.parser import MAX_LINE_BYTES, LineError, ParsedLine, ParseReport, parse_lines
from reconciliation.services import matching, pgp

MAX_FILE_BYTES = 1024 * 1024 * 1024
_CHUNK = 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^\w.\-+@ ]")


class ImportRefused(Exception):
    def __init__(self, errors: list[LineError], error_count: int | None = None):
        super().__init__("; ".join(str(e) for e in errors[:3]))
        self.errors = errors
        self.error_count = error_count if error_count is not None else len(errors)


@dataclass
class ImportResult:
    outcome: str
    file: SettlementFile | None = None
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    attempt: ImportAttempt | None = None

    @property
    def imported(self) -> bool:
        return self.outcome == ImportOutcome.IMPORTED


def settings_for(merchant: Merchant) -> ReconciliationSettings:
    obj, _ = ReconciliationSettings.objects.get_or_create(merchant=merchant)
    return obj


def layout_for(settings: ReconciliationSettings) -> layouts.Layout:
    if settings.layout == LayoutChoice.CUSTOM:
        column_map = settings.column_map or {}
        return layouts.custom_layout(
            column_count=int(column_map.get("column_count", 0)),
            positions={k: int(v) for k, v in (column_map.get("positions") or {}).items()},
        )
    return layouts.LAYOUTS[settings.layout]


def clean_file_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = _UNSAFE_NAME.sub("_", base)[:255]
    return base or "settlement.csv"


def _digest(stream: BinaryIO) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            break
    stream.seek(0)
    return digest.hexdigest(), size


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    # Split on \n only (a stray \r in a field must not end a line); \r\n is stripped by the parser.
    while line := stream.readline(MAX_LINE_BYTES + 1):
        yield line


def settlement_file_import(
    *,
    merchant: Merchant,
    name: str,
    stream: BinaryIO,
    source: str = FileSource.UPLOAD,
    actor: Actor,
    now: datetime | None = None,
) -> ImportResult:
    """Import one settlement file. Never raises for a bad file: a refused import is a result
    with its errors (and an ``ImportAttempt``)."""
    now = now or timezone.now()
    name = clean_file_name(name)
    sha256, size = _digest(stream)
    settings = settings_for(merchant)

    def refused(errors: list[LineError], count: int | None = None) -> ImportResult:
        attempt = ImportAttempt.objects.create(
            merchant=merchant,
            file_name=name,
            sha256=sha256,
            source=source,
            outcome=ImportOutcome.REFUSED,
            errors=[e.as_dict() for e in errors],
            error_count=count if count is not None else len(errors),
            actor_label=actor.label,
            created_at=now,
        )
        return ImportResult(ImportOutcome.REFUSED, errors=errors, error_count=attempt.error_count, attempt=attempt)

    if size > MAX_FILE_BYTES:
        return refused([LineError(0, f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")])
    if size == 0:
        return refused([LineError(0, "the file is empty")])
    earlier = SettlementFile.objects.filter(merchant=merchant, name=name, sha256=sha256).first()
    if earlier is not None:
        return _already(merchant, name, sha256, source, actor, now, earlier)
    try:
        layout = layout_for(settings)
    except layouts.LayoutError as exc:
        return refused([LineError(0, f"the column map in the settings is not usable: {exc}")])

    with ExitStack() as stack:
        encrypted = pgp.looks_encrypted(stream)
        if encrypted:
            if not settings.pgp_private_key:
                return refused([LineError(0, "the file is PGP-encrypted and no PGP private key is configured")])
            try:
                stream = stack.enter_context(
                    pgp.decrypted(stream, private_key=settings.pgp_private_key, passphrase=settings.pgp_passphrase)
                )
            except pgp.DecryptionError as exc:
                return refused([LineError(0, f"the file could not be decrypted: {exc}")])
        try:
            with transaction.atomic():
                ReconciliationSettings.objects.select_for_update().filter(pk=settings.pk).first()
                earlier = SettlementFile.objects.filter(merchant=merchant, name=name, sha256=sha256).first()
                if earlier is not None:
                    already = earlier
                else:
                    already = None
                    settlement_file = _load(
                        merchant=merchant,
                        settings=settings,
                        layout=layout,
                        name=name,
                        sha256=sha256,
                        size=size,
                        source=source,
                        encrypted=encrypted,
                        stream=stream,
                        actor=actor,
                        now=now,
                    )
        except ImportRefused as exc:
            return refused(exc.errors, exc.error_count)
        except IntegrityError:
            # Another import of the same file committed between the check and the insert.
            already = SettlementFile.objects.filter(merchant=merchant, name=name, sha256=sha256).first()
            if already is None:
                raise
    if already is not None:
        return _already(merchant, name, sha256, source, actor, now, already)
    attempt = ImportAttempt.objects.create(
        merchant=merchant,
        file_name=name,
        sha256=sha256,
        source=source,
        outcome=ImportOutcome.IMPORTED,
        settlement_file=settlement_file,
        actor_label=actor.label,
        created_at=now,
    )
    return ImportResult(ImportOutcome.IMPORTED, file=settlement_file, attempt=attempt)


def _already(merchant, name, sha256, source, actor, now, earlier) -> ImportResult:
    attempt = ImportAttempt.objects.create(
        merchant=merchant,
        file_name=name,
        sha256=sha256,
        source=source,
        outcome=ImportOutcome.ALREADY_IMPORTED,
        settlement_file=earlier,
        actor_label=actor.label,
        created_at=now,
    )
    return ImportResult(ImportOutcome.ALREADY_IMPORTED, file=earlier, attempt=attempt)


@dataclass
class _Totals:
    gross: Decimal = Decimal("0")
    fee: Decimal = Decimal("0")
    net: Decimal = Decimal("0")
    first_day: date | None = None

    def add(self, line: ParsedLine) -> ParsedLine:
        self.gross += line.gross_amount
        self.fee += line.fee_amount
        self.net += line.net_amount
        day = line.transaction_datetime.date()
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        return line


_COLUMNS = (
    "merchant_id",
    "file_id",
    "line_number",
    "line_key",
    "is_current",
    "settlement_date",
    "payout_reference",
    "sibs_transaction_id",
    "merchant_transaction_id",
    "terminal_number",
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
)


STAGE = "recon_stage"
LINES = SettlementLine._meta.db_table


def _create_stage() -> None:
    """A temporary table shaped like the lines table, without its indexes: the file's lines
    are identified and matched there, then written once into the real table."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS SELECT * FROM {LINES} WITH NO DATA")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} AS SELECT * FROM {LINES} WHERE 0")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES) if value else ""


def _stage_lines(*, merchant_id: int, file_id: int, lines: Iterator[ParsedLine]) -> None:
    def row(p: ParsedLine) -> tuple:
        return (
            merchant_id,
            file_id,
            p.line_number,
            p.line_key,
            False,
            p.settlement_date,
            p.payout_reference,
            p.transaction_id,
            p.merchant_transaction_id,
            p.terminal_id,
            p.transaction_datetime,
            p.payment_method,
            p.payment_type,
            p.gross_amount,
            p.fee_amount,
            p.net_amount,
            p.currency,
            LineStatus.PENDING.value,
            "",
            False,
        )

    columns = ", ".join(_COLUMNS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                # COPY's text format written directly, a thousand lines at a time: the values
                # are already checked, so adapting each one through the driver is wasted work.
                prefix = f"{merchant_id}\t{file_id}\t"
                null = "\\N"  # how COPY spells NULL
                chunk: list[str] = []
                for p in lines:
                    chunk.append(
                        f"{prefix}{p.line_number}\t{_copy_text(p.line_key)}\tf\t{p.settlement_date.isoformat()}\t"
                        f"{_copy_text(p.payout_reference)}\t{_copy_text(p.transaction_id)}\t"
                        f"{_copy_text(p.merchant_transaction_id)}\t"
                        f"{null if p.terminal_id is None else p.terminal_id}\t{p.transaction_datetime.isoformat()}\t"
                        f"{_copy_text(p.payment_method)}\t{_copy_text(p.payment_type)}\t"
                        f"{p.gross_amount}\t{p.fee_amount}\t{p.net_amount}\t{p.currency}\tpending\t\tf\n"
                    )
                    if len(chunk) >= 1000:
                        copy.write("".join(chunk))
                        chunk = []
                if chunk:
                    copy.write("".join(chunk))
            # Temporary tables are never analysed by autovacuum: without this the planner
            # would guess at the joins below.
            cursor.execute(f"ANALYZE {STAGE}")
        return
    ops = connection.ops
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    sql = f"INSERT INTO {STAGE} ({columns}) VALUES ({placeholders})"

    def adapted(p: ParsedLine) -> tuple:
        values = list(row(p))
        values[5] = ops.adapt_datefield_value(values[5])
        values[10] = ops.adapt_datetimefield_value(values[10])
        for i in (13, 14, 15):
            values[i] = str(values[i])
        return tuple(values)

    with connection.cursor() as cursor:
        batch: list[tuple] = []
        for parsed in lines:
            batch.append(adapted(parsed))
            if len(batch) >= 2000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _load(
    *, merchant, settings, layout, name, sha256, size, source, encrypted, stream, actor: Actor, now
) -> SettlementFile:
    settlement_file = SettlementFile.objects.create(
        merchant=merchant,
        name=name,
        sha256=sha256,
        size=size,
        source=source,
        layout=layout.version,
        was_encrypted=encrypted,
        generated_at=layouts.generated_at_from_name(name),
        imported_by=actor.user,
        imported_by_label=actor.label,
        imported_at=now,
    )
    report = ParseReport()
    totals = _Totals()
    parsed = (totals.add(p) for p in parse_lines(_lines(stream), layout, report))
    _create_stage()
    _stage_lines(merchant_id=merchant.pk, file_id=settlement_file.pk, lines=parsed)
    if not report.ok:
        raise ImportRefused(report.errors, report.error_count)

    counts = _identify(merchant_id=merchant.pk, file_id=settlement_file.pk)
    if settings.expected_from is None and totals.first_day is not None:
        settings.expected_from = totals.first_day
        ReconciliationSettings.objects.filter(pk=settings.pk).update(expected_from=totals.first_day)
    matching.match(merchant_id=merchant.pk, tolerance=settings.tolerance, file_id=settlement_file.pk, table=STAGE)
    _write_lines(file_id=settlement_file.pk)
    matching.sync_exceptions(merchant_id=merchant.pk, now=now)
    sweep_missing(settings=settings, now=now)
    exceptions = settlement_file.lines.filter(exceptions__state="open").count()
    SettlementFile.objects.filter(pk=settlement_file.pk).update(
        line_count=report.line_count,
        gross_total=totals.gross,
        fee_total=totals.fee,
        net_total=totals.net,
        duplicate_count=counts["duplicate"],
        superseding_count=counts["superseding"],
        exception_count=exceptions,
    )
    settlement_file.refresh_from_db()
    audit(
        actor=actor,
        action="reconciliation.file_imported",
        merchant=merchant,
        obj=settlement_file,
        after={
            "name": name,
            "sha256": sha256,
            "source": source,
            "lines": report.line_count,
            "net": str(totals.net),
            "exceptions": exceptions,
        },
    )
    if exceptions:
        from reconciliation import tasks

        file_id = settlement_file.pk
        transaction.on_commit(lambda: tasks.notify_exceptions.delay(file_id))
    return settlement_file


def _identify(*, merchant_id: int, file_id: int) -> dict[str, int]:
    """Decide which of the staged lines become current (see the module docstring). The lines
    they supersede stop being current here, before the new ones are written."""
    params = {"merchant": merchant_id, "file": file_id, "false": False, "true": True}
    same_payout = "o.settlement_date = n.settlement_date AND o.payout_reference = n.payout_reference"
    identical = f"""{same_payout} AND o.gross_amount = n.gross_amount AND o.fee_amount = n.fee_amount
        AND o.net_amount = n.net_amount AND o.currency = n.currency
        AND o.merchant_transaction_id = n.merchant_transaction_id
        AND COALESCE(o.terminal_number, -1) = COALESCE(n.terminal_number, -1)"""
    earlier = f"FROM {LINES} AS o WHERE n.status = 'pending' AND o.merchant_id = %(merchant)s AND o.is_current"
    with connection.cursor() as cursor:
        # The same key twice in this file: every repeat after the first is a duplicate.
        cursor.execute(
            f"""UPDATE {STAGE} AS n SET status = 'duplicate'
                FROM (SELECT line_key, MIN(line_number) AS first FROM {STAGE}
                      GROUP BY line_key HAVING COUNT(*) > 1) AS f
                WHERE n.line_key = f.line_key AND n.line_number <> f.first""",
            params,
        )
        in_file = cursor.rowcount
        # Already current, word for word: a re-sent line.
        cursor.execute(
            f"""UPDATE {STAGE} AS n SET status = 'resent', related_line_id = o.id
                {earlier} AND o.line_key = n.line_key AND {identical}""",
            params,
        )
        # Already current in another payout: settled twice.
        cursor.execute(
            f"""UPDATE {STAGE} AS n SET status = 'duplicate', related_line_id = o.id
                {earlier} AND o.line_key = n.line_key AND NOT ({same_payout})""",
            params,
        )
        across = cursor.rowcount
        # Same payout, other values: the new line corrects the old one (and points at it).
        cursor.execute(
            f"UPDATE {STAGE} AS n SET related_line_id = o.id {earlier} AND o.line_key = n.line_key",
            params,
        )
        cursor.execute(
            f"""UPDATE {LINES} AS o SET is_current = %(false)s, status = 'superseded', reconciled = %(false)s
                FROM {STAGE} AS n
                WHERE n.status = 'pending' AND n.related_line_id = o.id AND o.merchant_id = %(merchant)s""",
            params,
        )
        superseding = cursor.rowcount
        cursor.execute(f"UPDATE {STAGE} SET is_current = %(true)s WHERE status = 'pending'", params)
    return {"duplicate": in_file + across, "superseding": superseding}


_WRITTEN = (*_COLUMNS, "transaction_id", "store_id", "amount_delta", "related_line_id")


def _write_lines(*, file_id: int) -> None:
    """The staged lines into the lines table, once each; then the links that needed their ids."""
    columns = ", ".join(_WRITTEN)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {LINES} ({columns}) SELECT {columns} FROM {STAGE}")
        cursor.execute(f"DROP TABLE {STAGE}")
        # A duplicate within the file points at the first line with its key.
        cursor.execute(
            f"""UPDATE {LINES} AS d SET related_line_id = f.id
                FROM (SELECT line_key, MIN(line_number) AS first FROM {LINES}
                      WHERE file_id = %(file)s AND line_key IN (
                        SELECT line_key FROM {LINES} WHERE file_id = %(file)s AND status = 'duplicate'
                          AND related_line_id IS NULL)
                      GROUP BY line_key) AS k, {LINES} AS f
                WHERE d.file_id = %(file)s AND d.status = 'duplicate' AND d.related_line_id IS NULL
                  AND d.line_key = k.line_key AND d.line_number <> k.first
                  AND f.file_id = %(file)s AND f.line_number = k.first""",
            {"file": file_id},
        )
        # A corrected line points at the line that corrected it.
        cursor.execute(
            f"""UPDATE {LINES} AS o SET related_line_id = n.id FROM {LINES} AS n
                WHERE n.file_id = %(file)s AND n.is_current AND n.related_line_id = o.id
                  AND o.status = 'superseded'""",
            {"file": file_id},
        )


def sweep_missing(*, settings: ReconciliationSettings, now: datetime) -> int:
    """Mark missing in settlement what should have settled by now; close what settled."""
    if settings.expected_from is None:
        return 0
    today = now.astimezone(UTC).date()
    return matching.open_missing_in_settlement(
        merchant_id=settings.merchant_id,
        expected_from=settings.expected_from,
        overdue_until=overdue_until(today, settings.expected_business_days),
        now=now,
    )


def rematch(*, merchant: Merchant, now: datetime | None = None) -> int:
    """Match again every current line not matched yet (late notifications), sweep the missing
    ones; returns the exceptions opened."""
    now = now or timezone.now()
    settings = settings_for(merchant)
    with transaction.atomic():
        ReconciliationSettings.objects.select_for_update().filter(pk=settings.pk).first()
        matching.match(merchant_id=merchant.pk, tolerance=settings.tolerance)
        opened = matching.sync_exceptions(merchant_id=merchant.pk, now=now)
        opened += sweep_missing(settings=settings, now=now)
    return opened


def temporary_copy(data: bytes) -> BinaryIO:
    """A seekable file holding ``data`` (for callers that have bytes, such as the sandbox)."""
    handle = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - the caller closes it
    handle.write(data)
    handle.seek(0)
    return handle
