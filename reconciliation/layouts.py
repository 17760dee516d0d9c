"""Settlement file layouts: which column holds what, and how each value is read.

SIBS does not publish the columns of ``SIBS_Reconciliation_<YYYYMMDDHH24MISS>.csv`` (no header,
``;`` separated, ``"`` delimited), so the positions live here, in one versioned place, and a
merchant may pick another layout or map the columns by position (``ColumnMap``) on the
Reconciliation settings page. ``docs/settlement-format.md`` describes layout ``v1``; a test keeps
the two in step.

Every parser takes the raw text of one cell and returns a Python value or raises
``ValueError`` with a message that names what was wrong (shown with the line number).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

MAX_ID_LENGTH = 255
_AMOUNT = re.compile(r"-?\d{1,12}(?:\.\d{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError(f"“{text}” is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}”: there is no such date") from None


def parse_datetime_utc(text: str) -> datetime:
    """ISO 8601; without an offset the time is UTC (the layout's rule), with one it is converted."""
    if len(text) < 16 or not _DATE.fullmatch(text[:10]):
        raise ValueError(f"“{text}” is not an ISO 8601 date and time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}” is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_amount(text: str) -> Decimal:
    """A decimal point and at most two decimals; a leading minus for refunds and chargebacks."""
    if not _AMOUNT.fullmatch(text):
        raise ValueError(f"“{text}” is not an amount (digits, a decimal point, at most two decimals)")
    return Decimal(text)


def parse_currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text):
        raise ValueError(f"“{text}” is not a currency code (three capital letters, such as EUR)")
    return text


def parse_required_id(text: str) -> str:
    if not text:
        raise ValueError("is empty")
    if len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise ValueError("is longer than 255 characters or has control characters")
    return text


def parse_optional_id(text: str) -> str:
    if len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise ValueError("is longer than 255 characters or has control characters")
    return text


def parse_terminal(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValueError(f"“{text}” is not a terminal id (digits only)")
    return int(text)


def parse_code(text: str) -> str:
    if len(text) > 40 or not text.isprintable():
        raise ValueError("is longer than 40 characters or has control characters")
    return text


@dataclass(frozen=True)
class Field:
    """``parse`` reads a cell strictly and says what is wrong; ``pattern`` (a regular
    expression for a cell that is surely well formed) and ``convert`` (its value) make the fast
    path the parser takes first, falling back to ``parse`` for any cell they do not accept."""

    name: str
    label: Any
    parse: Callable[[str], Any]
    pattern: str
    convert: Callable[[str], Any]
    required: bool = True


def _utc_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _terminal_or_none(text: str) -> int | None:
    return int(text) if text else None


_TEXT = r"[^;\x00-\x1f\x7f\"]"
_DATE_RE = r"\d{4}-\d{2}-\d{2}"
_AMOUNT_RE = r"-?\d{1,12}(?:\.\d{1,2})?"


# Every field the importer understands, by name. A layout lists some of them in column order.
FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("settlement_date", _("settlement date"), parse_date, _DATE_RE, date.fromisoformat),
        Field("payout_reference", _("payout reference"), parse_required_id, _TEXT + "{1,255}", str),
        Field("transaction_id", _("SIBS transaction id"), parse_required_id, _TEXT + "{1,255}", str),
        Field(
            "merchant_transaction_id",
            _("merchant transaction id"),
            parse_optional_id,
            _TEXT + "{0,255}",
            str,
            required=False,
        ),
        Field("terminal_id", _("terminal"), parse_terminal, r"\d{0,18}", _terminal_or_none, required=False),
        Field(
            "transaction_datetime",
            _("transaction date"),
            parse_datetime_utc,
            _DATE_RE + r"[T ][0-9:.]{5,15}(?:Z|[+-]\d{2}:?\d{2})?",
            _utc_datetime,
        ),
        Field("payment_method", _("payment method"), parse_code, _TEXT + "{0,40}", str, required=False),
        Field("payment_type", _("payment type"), parse_code, _TEXT + "{0,40}", str, required=False),
        Field("gross_amount", _("gross amount"), parse_amount, _AMOUNT_RE, Decimal),
        Field("fee_amount", _("fee"), parse_amount, _AMOUNT_RE, Decimal),
        Field("net_amount", _("net amount"), parse_amount, _AMOUNT_RE, Decimal),
        Field("currency", _("currency"), parse_currency, "[A-Z]{3}", str),
    )
}

# Fields a layout or a column map must place somewhere; the others may be left out.
REQUIRED_FIELDS = tuple(name for name, f in FIELDS.items() if f.required)


@dataclass(frozen=True)
class Layout:
    """Named fields in column order. ``None`` marks a column that is read past and ignored."""

    version: str
    label: str
    columns: tuple[str | None, ...]

    @property
    def column_count(self) -> int:
        return len(self.columns)

    def positions(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.columns) if name is not None}

    def line_pattern(self) -> re.Pattern:
        """One expression for a whole unquoted line whose every cell is surely well formed."""
        cells = [f"({FIELDS[name].pattern})" if name else "[^;]*" for name in self.columns]
        return re.compile(";".join(cells))


V1 = Layout(
    version="v1",
    label="v1 — SIBS_Reconciliation (12 columns)",
    columns=(
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
    ),
)

LAYOUTS: dict[str, Layout] = {V1.version: V1}
DEFAULT_LAYOUT = V1.version
CUSTOM = "custom"


class LayoutError(ValueError):
    pass


def custom_layout(*, column_count: int, positions: dict[str, int]) -> Layout:
    """A layout from a column map: field name -> 1-based column position."""
    if not 1 <= column_count <= 200:
        raise LayoutError("A file has between 1 and 200 columns.")
    columns: list[str | None] = [None] * column_count
    for name, position in positions.items():
        if name not in FIELDS:
            raise LayoutError(f"Unknown field {name}.")
        if not 1 <= position <= column_count:
            raise LayoutError(f"{name}: column {position} is outside 1-{column_count}.")
        if columns[position - 1] is not None:
            raise LayoutError(f"Column {position} is given to two fields.")
        columns[position - 1] = name
    missing = [name for name in REQUIRED_FIELDS if name not in positions]
    if missing:
        raise LayoutError("Every required field needs a column: " + ", ".join(missing) + ".")
    return Layout(version=CUSTOM, label="custom", columns=tuple(columns))


_FILE_NAME = re.compile(r"SIBS_Reconciliation_(\d{14})\.csv(?:\.(?:pgp|gpg|asc))?", re.IGNORECASE)


def generated_at_from_name(name: str) -> datetime | None:
    """The generation time in SIBS's file name (``YYYYMMDDHH24MISS``, UTC), when it has one."""
    match = _FILE_NAME.fullmatch(name.rsplit("/", 1)[-1])
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
