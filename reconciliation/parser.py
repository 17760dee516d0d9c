"""Strict, streaming reader of settlement files.

The file is read line by line (never whole into memory): each line is decoded as UTF-8 (a
byte order mark at the start is allowed), split on ``;`` with ``"`` as the delimiter, checked
against the layout's column count, and each cell is read by its field's parser. ``gross - fee``
must equal ``net`` to the cent. Problems are collected with their line numbers rather than
stopping at the first, so a refused file says everything wrong with it at once (up to
``MAX_REPORTED_ERRORS``; the total is counted).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from reconciliation.layouts import FIELDS, Layout

MAX_REPORTED_ERRORS = 200
MAX_LINE_BYTES = 4096


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based; 0 for the file as a whole
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ParsedLine(NamedTuple):
    line_number: int
    settlement_date: date
    payout_reference: str
    transaction_id: str
    merchant_transaction_id: str
    terminal_id: int | None
    transaction_datetime: datetime
    payment_method: str
    payment_type: str
    gross_amount: Decimal
    fee_amount: Decimal
    net_amount: Decimal
    currency: str

    @property
    def line_key(self) -> str:
        return identity_key(self.transaction_id, self.payment_type, self.gross_amount)


def line_key(self) -> str:
    return identity_key(self.transaction_id, self.payment_type, self.gross_amount)


def identity_key(transaction_id: str, payment_type: str, gross: Decimal) -> str:
    """What identifies a settled movement across files: the SIBS transaction, its type, and
    whether money came in or went out (a chargeback may reuse the payment's id)."""
    return f"{transaction_id}|{payment_type}|{'C' if gross < 0 else 'D'}"


@dataclass
class ParseReport:
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    line_count: int = 0

    def add(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(LineError(line, message))

    @property
    def ok(self) -> bool:
        return self.error_count == 0


_DEFAULTS = {"merchant_transaction_id": "", "terminal_id": None, "payment_method": "", "payment_type": ""}
_NAMES = ParsedLine._fields[1:]


class _LineReader:
    """Reads one line's cells: a fast path (one regular expression for the whole line, then
    plain constructors) for the lines that are surely well formed, and the strict per-cell path,
    which names every problem, for the others and for quoted lines."""

    def __init__(self, layout: Layout):
        self.expected = layout.column_count
        positions = layout.positions()
        self.parsers = [(name, FIELDS[name], index) for name, index in positions.items()]
        self.pattern = layout.line_pattern()
        placed = [name for name in layout.columns if name is not None]
        # Text cells are taken as they are; only the others are converted.
        self.typed = [(i, FIELDS[name].convert) for i, name in enumerate(placed) if FIELDS[name].convert is not str]
        # For each ParsedLine field: its group in the pattern, or None for an absent optional one.
        order = {name: i for i, name in enumerate(placed)}
        self.picks = [order.get(name) for name in _NAMES]
        self.in_order = self.picks == list(range(len(_NAMES)))

    def fast(self, number: int, text: str) -> ParsedLine | None:
        match = self.pattern.fullmatch(text)
        if match is None:
            return None
        values = list(match.groups())
        try:
            for index, convert in self.typed:
                values[index] = convert(values[index])
        except ValueError:
            return None
        if self.in_order:
            return ParsedLine(number, *values)
        return ParsedLine(
            number,
            *(_DEFAULTS[name] if pick is None else values[pick] for name, pick in zip(_NAMES, self.picks, strict=True)),
        )

    def strict(self, number: int, cells: list[str], report: ParseReport) -> ParsedLine | None:
        if len(cells) != self.expected:
            report.add(number, f"{len(cells)} columns where the layout has {self.expected}")
            return None
        values = dict(_DEFAULTS)
        bad = False
        for name, spec, index in self.parsers:
            try:
                values[name] = spec.parse(cells[index].strip())
            except ValueError as exc:
                report.add(number, f"{spec.label} (column {index + 1}): {exc}")
                bad = True
        if bad:
            return None
        return ParsedLine(number, *(values[name] for name in _NAMES))


def parse_lines(raw_lines: Iterable[bytes], layout: Layout, report: ParseReport) -> Iterator[ParsedLine]:
    """Yield every good line; record every bad one in ``report``. The caller refuses the file
    when ``report.ok`` is false once the iterator is exhausted."""
    reader = _LineReader(layout)
    number = 0
    for raw in raw_lines:
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if len(raw) > MAX_LINE_BYTES:
            report.add(number, f"the line is longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report.add(number, f"not UTF-8 text (byte {exc.start + 1} of the line)")
            continue
        text = text.rstrip("\r\n")
        parsed = None if '"' in text else reader.fast(number, text)
        if parsed is None:
            if not text.strip():
                report.add(number, "empty line")
                continue
            if '"' in text:
                try:
                    cells = next(csv.reader([text], delimiter=";", quotechar='"', strict=True))
                except csv.Error as exc:
                    report.add(number, f"badly quoted field ({exc})")
                    continue
            else:
                cells = text.split(";")
            parsed = reader.strict(number, cells, report)
            if parsed is None:
                continue
        if parsed.gross_amount - parsed.fee_amount != parsed.net_amount:
            report.add(
                number,
                f"gross - fee ≠ net: {parsed.gross_amount} - {parsed.fee_amount} ≠ {parsed.net_amount}",
            )
            continue
        report.line_count += 1
        yield parsed
    if number == 0:
        report.add(0, "the file is empty")
