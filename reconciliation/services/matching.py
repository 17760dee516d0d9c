"""Set-based matching: a handful of SQL statements per file, never a query per line.

Works on PostgreSQL and SQLite alike (both have ``UPDATE … FROM``). Every statement is
scoped to one merchant and to a *scope* of lines: one file's lines after an import, or every
current line not matched yet for a re-match (a late notification, a later file).

Order of the passes (the first that finds a transaction wins):

1. SIBS transaction id (and the second id a MULTIBANCO payment may carry);
2. merchant order id within the line's terminal, only when exactly one transaction has it;
3. SIBS's internal id, only when exactly one transaction has it.

Then each matched line is compared with its transaction, in this order: currency, status,
terminal, amount (``|gross|`` against the transaction's amount, within the merchant's
tolerance). The first difference found is the line's status; the explanation of every
differing field is built when a person looks (``reconciliation.explain``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import connection

from backoffice.models import Terminal
from payments.models import Transaction, TransactionState
from payments.sibs.enums import PaymentType
from reconciliation.models import (
    ExceptionAction,
    ExceptionKind,
    ReconciliationException,
    SettlementLine,
)

L = SettlementLine._meta.db_table
T = Transaction._meta.db_table
E = ReconciliationException._meta.db_table
A = ExceptionAction._meta.db_table
TERM = Terminal._meta.db_table

S = TransactionState
# A line bringing money in is consistent with these states of its transaction; a line taking
# money out (refund, chargeback) with the others.
MONEY_IN_STATES = (S.PAID, S.PARTIALLY_REFUNDED, S.SUCCEEDED)
MONEY_OUT_STATES = (S.SUCCEEDED, S.REFUNDED, S.PARTIALLY_REFUNDED)
# Transactions the merchant should see in a settlement file.
SETTLING_PAYMENT_STATES = (S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED)
SETTLING_OPERATION_TYPES = (PaymentType.CAPTURE.value, PaymentType.REFUND.value)
EXCEPTION_STATUSES = tuple(k.value for k in ExceptionKind if k != ExceptionKind.MISSING_IN_SETTLEMENT)


def _in(values) -> str:
    return "(" + ", ".join(f"'{v!s}'" for v in values) + ")"


def _execute(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _moment(value: datetime):
    # As the ORM stores it (SQLite: naive UTC text), so raw and ORM rows compare and sort alike.
    return connection.ops.adapt_datetimefield_value(value)


def _scope(scope: str) -> str:
    if scope == "file":
        return "l.merchant_id = %(merchant)s AND l.file_id = %(file)s AND l.is_current"
    # Re-match: every current line of the merchant still not matched.
    return "l.merchant_id = %(merchant)s AND l.is_current AND l.status <> 'matched'"


def _compare(table: str, scope: str, *, join: str, extra: str = "", set_transaction: bool = False) -> str:
    """One UPDATE that compares each line with its transaction (joined by ``join``) and writes
    its status, store, match method, reconciled flag and amount difference: one write per line."""
    gap = "ROUND(ABS(ABS(l.gross_amount) - t.amount), 3)"
    status = f"""CASE
        WHEN t.currency <> l.currency THEN 'currency_difference'
        WHEN l.gross_amount >= 0 AND t.state NOT IN {_in(MONEY_IN_STATES)} THEN 'status_difference'
        WHEN l.gross_amount < 0 AND t.state NOT IN {_in(MONEY_OUT_STATES)} THEN 'status_difference'
        WHEN l.terminal_number IS NOT NULL AND t.terminal_number IS NOT NULL
             AND l.terminal_number <> t.terminal_number THEN 'terminal_difference'
        WHEN t.amount IS NULL OR {gap} > %(tolerance)s THEN 'amount_difference'
        ELSE 'matched' END"""
    return f"""UPDATE {table} AS l SET
          {"transaction_id = t.id," if set_transaction else ""}
          store_id = COALESCE(t.store_id, l.store_id),
          status = {status},
          match_method = CASE WHEN ({status}) <> 'matched' THEN '' WHEN {gap} = 0 THEN 'auto' ELSE 'tolerance' END,
          reconciled = CASE WHEN ({status}) = 'matched' THEN %(true)s ELSE l.reconciled END,
          amount_delta = CASE WHEN t.amount IS NULL OR {gap} = 0 THEN NULL ELSE ABS(l.gross_amount) - t.amount END
        FROM {T} AS t WHERE {scope} AND {join} {extra}"""


def match(*, merchant_id: int, tolerance: Decimal, file_id: int | None = None, table: str = L) -> None:
    """Find each line's transaction and decide its status, for one file or for a re-match.
    ``table`` is the lines table, or the staging table an import fills before its lines are
    written once into the real one (``services.importing``)."""
    scope = _scope("file" if file_id is not None else "rematch")
    # SQLite compares a number with text as "always smaller": the tolerance goes as a number.
    params = {
        "merchant": merchant_id,
        "file": file_id,
        "tolerance": tolerance if connection.vendor == "postgresql" else float(tolerance),
        "true": True,
    }
    # 1. SIBS transaction id: found and compared in the same statement (nearly every line).
    _execute(
        _compare(
            table,
            scope,
            join="""l.transaction_id IS NULL AND t.merchant_id = %(merchant)s
                AND t.transaction_id = l.sibs_transaction_id""",
            set_transaction=True,
        ),
        params,
    )
    # 2. The second id a MULTIBANCO payment may carry.
    _execute(
        f"""UPDATE {table} AS l SET transaction_id = t.id FROM {T} AS t
            WHERE {scope} AND l.transaction_id IS NULL
              AND t.merchant_id = %(merchant)s AND t.secondary_transaction_id = l.sibs_transaction_id""",
        params,
    )
    # 3. Merchant order id within the terminal, when it names exactly one transaction.
    _execute(
        f"""UPDATE {table} AS l SET transaction_id = u.id FROM (
              SELECT MIN(t.id) AS id, t.merchant_transaction_id AS mtid, t.terminal_number AS term
              FROM {T} AS t WHERE t.merchant_id = %(merchant)s AND t.merchant_transaction_id IN (
                SELECT l.merchant_transaction_id FROM {table} AS l
                WHERE {scope} AND l.transaction_id IS NULL AND l.merchant_transaction_id <> '')
              GROUP BY t.merchant_transaction_id, t.terminal_number HAVING COUNT(*) = 1
            ) AS u
            WHERE {scope} AND l.transaction_id IS NULL AND l.merchant_transaction_id = u.mtid
              AND l.terminal_number = u.term""",
        params,
    )
    # 4. SIBS's internal id, when it names exactly one transaction.
    _execute(
        f"""UPDATE {table} AS l SET transaction_id = u.id FROM (
              SELECT MIN(t.id) AS id, t.internal_transaction_id AS iid
              FROM {T} AS t WHERE t.merchant_id = %(merchant)s AND t.internal_transaction_id IN (
                SELECT l.sibs_transaction_id FROM {table} AS l WHERE {scope} AND l.transaction_id IS NULL)
              GROUP BY t.internal_transaction_id HAVING COUNT(*) = 1
            ) AS u
            WHERE {scope} AND l.transaction_id IS NULL AND l.sibs_transaction_id = u.iid""",
        params,
    )
    # Compare the lines found by 2-4 (an import: still pending), or every line of a re-match.
    _execute(
        _compare(
            table,
            scope,
            join="l.transaction_id = t.id",
            extra="AND l.status = 'pending'" if file_id is not None else "",
        ),
        params,
    )
    # Lines with no transaction: missing here; their store is their terminal's, when known.
    _execute(
        f"""UPDATE {table} AS l SET status = 'missing_here', match_method = '', amount_delta = NULL,
              store_id = (SELECT term.store_id FROM {TERM} AS term
                          WHERE term.merchant_id = %(merchant)s AND term.terminal_id = l.terminal_number)
            WHERE {scope} AND l.transaction_id IS NULL""",
        params,
    )


def sync_exceptions(*, merchant_id: int, now: datetime) -> int:
    """Open an exception for every line with a difference that has none, close (as resolved
    automatically) those whose line now matches or was corrected, reopen those closed
    automatically whose line differs again. Returns the number opened."""
    params = {"merchant": merchant_id, "now": _moment(now), "system": "system"}
    statuses = _in(EXCEPTION_STATUSES)
    # Lines a duplicate or a difference: open one exception each (a duplicate line is not
    # current, which is why this does not ask for is_current).
    opened = _execute(
        f"""INSERT INTO {E} (merchant_id, store_id, kind, line_id, transaction_id, state, value_date,
                              amount, currency, opened_at, resolution, resolution_reason)
            SELECT l.merchant_id, l.store_id, l.status, l.id, l.transaction_id, 'open', l.settlement_date,
                   l.gross_amount, l.currency, %(now)s, '', ''
            FROM {L} AS l
            WHERE l.merchant_id = %(merchant)s AND l.status IN {statuses} AND NOT l.reconciled
              AND NOT EXISTS (SELECT 1 FROM {E} AS e WHERE e.line_id = l.id)""",
        params,
    )
    if opened:
        _history(
            "opened",
            f"""e.merchant_id = %(merchant)s AND e.state = 'open' AND e.opened_at = %(now)s
                AND NOT EXISTS (SELECT 1 FROM {A} AS a WHERE a.exception_id = e.id)""",
            params,
        )
    # An open exception whose line status moved to another difference takes the new kind.
    _execute(
        f"""UPDATE {E} AS e SET kind = l.status, transaction_id = l.transaction_id, store_id = l.store_id
            FROM {L} AS l
            WHERE e.merchant_id = %(merchant)s AND e.state = 'open' AND e.line_id = l.id
              AND l.status IN {statuses} AND (e.kind <> l.status
                OR COALESCE(e.transaction_id, 0) <> COALESCE(l.transaction_id, 0))""",
        params,
    )
    # Matched now, or corrected by a later file: resolved automatically.
    closing = f"""e.merchant_id = %(merchant)s AND e.state = 'open' AND EXISTS (
        SELECT 1 FROM {L} AS l WHERE l.id = e.line_id AND l.status IN ('matched', 'superseded'))"""
    _history("auto_resolved", closing, params)
    _execute(
        f"UPDATE {E} AS e SET state = 'resolved', resolution = 'auto', resolved_at = %(now)s WHERE {closing}",
        params,
    )
    # Closed automatically, but the line differs again (a later notification changed the
    # transaction): reopened automatically. A person's resolution is never undone this way.
    reopening = f"""e.merchant_id = %(merchant)s AND e.state = 'resolved' AND e.resolution = 'auto'
        AND EXISTS (SELECT 1 FROM {L} AS l WHERE l.id = e.line_id AND l.is_current AND l.status IN {statuses})"""
    _history("auto_reopened", reopening, params)
    _execute(f"UPDATE {E} AS e SET state = 'open', resolution = '', resolved_at = NULL WHERE {reopening}", params)
    # A transaction once missing in settlement that a current line now settles.
    settled = f"""e.merchant_id = %(merchant)s AND e.state = 'open' AND e.kind = 'missing_in_settlement'
        AND EXISTS (SELECT 1 FROM {L} AS l WHERE l.transaction_id = e.transaction_id AND l.is_current)"""
    _history("auto_resolved", settled, params)
    _execute(
        f"UPDATE {E} AS e SET state = 'resolved', resolution = 'auto', resolved_at = %(now)s WHERE {settled}",
        params,
    )
    return opened


def _history(action: str, where: str, params: dict) -> None:
    _execute(
        f"""INSERT INTO {A} (exception_id, action, resolution, reason, comment, actor_label, created_at)
            SELECT e.id, %(action)s, '', '', '', %(system)s, %(now)s FROM {E} AS e WHERE {where}""",
        {**params, "action": action},
    )


def _date_of(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
    return f"DATE({column})"


def _date_param(name: str) -> str:
    # SQLite keeps dates as ISO text: compared as text, never CAST (which would make a number).
    return f"CAST(%({name})s AS date)" if connection.vendor == "postgresql" else f"%({name})s"


def open_missing_in_settlement(*, merchant_id: int, expected_from: date, overdue_until: date, now: datetime) -> int:
    """A transaction that should have settled (successful, dated from ``expected_from`` up to
    ``overdue_until``) and that no current line settles: an exception, missing in settlement.
    Later ones are *expected*, which is not an exception."""
    moment = "COALESCE(t.transaction_datetime, t.created_at)"
    params = {
        "merchant": merchant_id,
        "from": expected_from.isoformat(),
        "until": overdue_until.isoformat(),
        "now": _moment(now),
        "system": "system",
    }
    opened = _execute(
        f"""INSERT INTO {E} (merchant_id, store_id, kind, line_id, transaction_id, state, value_date,
                              amount, currency, opened_at, resolution, resolution_reason)
            SELECT t.merchant_id, t.store_id, 'missing_in_settlement', NULL, t.id, 'open', {_date_of(moment)},
                   t.amount, t.currency, %(now)s, '', ''
            FROM {T} AS t
            WHERE t.merchant_id = %(merchant)s
              AND (t.state IN {_in(SETTLING_PAYMENT_STATES)}
                   OR (t.state = 'succeeded' AND t.payment_type IN {_in(SETTLING_OPERATION_TYPES)}))
              AND {_date_of(moment)} >= {_date_param("from")} AND {_date_of(moment)} <= {_date_param("until")}
              AND NOT EXISTS (SELECT 1 FROM {L} AS l WHERE l.transaction_id = t.id AND l.is_current)
              AND NOT EXISTS (SELECT 1 FROM {E} AS e WHERE e.transaction_id = t.id
                              AND e.kind = 'missing_in_settlement')""",
        params,
    )
    if opened:
        _history(
            "opened",
            f"""e.merchant_id = %(merchant)s AND e.kind = 'missing_in_settlement' AND e.opened_at = %(now)s
                AND NOT EXISTS (SELECT 1 FROM {A} AS a WHERE a.exception_id = e.id)""",
            params,
        )
    return opened
