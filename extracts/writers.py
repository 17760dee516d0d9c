"""The file writers: CSV for systems, CSV for Portuguese Excel, and XLSX.

A writer receives rows of cells in column order, one list per row. The values start as Python
types: ``str`` for text (already neutralised, see :func:`neutralise`), ``int``, ``Decimal`` for
money (already rounded to its currency's decimals), an aware ``datetime`` already in the
extract's zone, a ``date``, or ``None``. A writer that wants them as text says how in
``inline``: per kind, a Python expression template (``{x}`` the value, ``{w}`` a free name) that
the engine compiles into its row function, so formatting costs no extra pass or call per cell.

- ``csv``: RFC 4180 (``,``, CRLF line ends, quotes where needed), UTF-8 without BOM, decimal
  point, dates as ISO 8601 with their offset (``2026-03-29T01:30:00+01:00``): unambiguous
  across daylight-saving changes, which a machine needs. Header row then data, nothing else.
- ``csv_pt``: what Excel in Portugal opens on a double click: ``;`` (the list separator
  there, since ``,`` is the decimal sign), decimal comma, UTF-8 *with* BOM (without it Excel
  reads the file as Windows-1252), dates as ``dd/mm/yyyy hh:mm:ss`` in the extract's zone.
- ``xlsx``: real numbers with the currency's decimals, real dates, title rows with the
  period's exact bounds and zone, a frozen header row and an autofilter. A sheet holds at most
  1,048,576 rows; the rest continues on the next sheet, under the same header.

Two XLSX engines are available (setting ``EXTRACTS_XLSX_ENGINE``): XlsxWriter in
constant-memory mode (the default: rows go to disk as they are written) and openpyxl in
write-only mode. ``make bench-extracts`` measures both.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import BinaryIO

from extracts.registry import Kind

# A cell starting with one of these is a formula to a spreadsheet (or, for tab and CR, a way to
# smuggle one past a naive check): OWASP's "CSV injection". A leading apostrophe makes it text.
FORMULA_STARTS = frozenset("=+-@\t\r")
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL = 32_767


def neutralise(text: str) -> str:
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


class Writer(ABC):
    """One output format: the engine writes rows in chunks, then closes."""

    extension = ""
    content_type = "application/octet-stream"
    inline: dict[str, str] = {}

    def __init__(
        self,
        out: BinaryIO,
        *,
        labels: Sequence[str],
        kinds: Sequence[str],
        title: Sequence[str] = (),
    ):
        self.out = out
        self.labels = list(labels)
        self.kinds = list(kinds)
        self.title = list(title)

    @abstractmethod
    def write_rows(self, rows: list[list]) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


# --------------------------------------------------------------------------- CSV


class CsvWriter(Writer):
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    delimiter = ","
    encoding = "utf-8"
    # None is written as an empty field by the csv module; text and integers go as they are.
    inline = {
        Kind.MONEY: '(format({w}, "f") if ({w} := {x}) is not None else None)',
        Kind.DATETIME: '({w}.isoformat(timespec="seconds") if ({w} := {x}) is not None else None)',
        Kind.DATE: "({w}.isoformat() if ({w} := {x}) is not None else None)",
    }

    def __init__(self, out: BinaryIO, **kwargs):
        super().__init__(out, **kwargs)
        self.text = io.TextIOWrapper(out, encoding=self.encoding, newline="", write_through=False)
        self.csv = csv.writer(self.text, delimiter=self.delimiter, lineterminator="\r\n")
        self.csv.writerow([neutralise(label) for label in self.labels])

    def write_rows(self, rows: list[list]) -> None:
        self.csv.writerows(rows)

    def raw_output(self) -> BinaryIO:
        """The byte stream under the header, for rows already written as CSV bytes."""
        self.text.flush()
        return self.out

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class PortugueseCsvWriter(CsvWriter):
    delimiter = ";"
    encoding = "utf-8-sig"
    inline = {
        Kind.MONEY: '(format({w}, "f").replace(".", ",") if ({w} := {x}) is not None else None)',
        Kind.DATETIME: '({w}.strftime("%d/%m/%Y %H:%M:%S") if ({w} := {x}) is not None else None)',
        Kind.DATE: '({w}.strftime("%d/%m/%Y") if ({w} := {x}) is not None else None)',
    }


# --------------------------------------------------------------------------- XLSX


def _money_format(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places else "")


class _Sheets:
    """Row bookkeeping shared by both XLSX engines: title rows, header, and a new sheet when
    one is full."""

    max_rows = EXCEL_MAX_ROWS

    def _sheet_capacity(self) -> int:
        # Title rows, a blank row, the header.
        header_row = len(self.title) + (1 if self.title else 0)
        return self.max_rows - header_row - 1

    @property
    def header_row(self) -> int:
        return len(self.title) + (1 if self.title else 0)


class XlsxWriterWriter(Writer, _Sheets):
    """XlsxWriter in constant-memory mode: each row is flushed to a temporary file as soon as
    the next one starts, so memory stays flat whatever the row count."""

    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, out: BinaryIO, **kwargs):
        import xlsxwriter

        super().__init__(out, **kwargs)
        self.book = xlsxwriter.Workbook(
            out, {"constant_memory": True, "remove_timezone": True, "strings_to_numbers": False}
        )
        self.bold = self.book.add_format({"bold": True})
        self.date_time = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date_only = self.book.add_format({"num_format": "yyyy-mm-dd"})
        # Money cells carry their currency's decimals (Decimal exponent): one format per count.
        self.money = {places: self.book.add_format({"num_format": _money_format(places)}) for places in range(5)}
        self.cell_formats = []
        for kind in self.kinds:
            if kind == Kind.MONEY:
                self.cell_formats.append(None)
            elif kind == Kind.DATETIME:
                self.cell_formats.append(self.date_time)
            elif kind == Kind.DATE:
                self.cell_formats.append(self.date_only)
            else:
                self.cell_formats.append(None)
        self.sheet = None
        self.sheet_count = 0
        self.row = 0
        self.left = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self.sheet is not None:
            self._finish_sheet()
        self.sheet_count += 1
        self.sheet = self.book.add_worksheet(f"Data {self.sheet_count}" if self.sheet_count > 1 else "Data")
        for i, line in enumerate(self.title):
            self.sheet.write_string(i, 0, line, self.bold if i == 0 else None)
        for col, (label, kind) in enumerate(zip(self.labels, self.kinds, strict=True)):
            width = 20 if kind in (Kind.DATETIME, Kind.TEXT) else 14
            self.sheet.set_column(col, col, max(width, min(len(str(label)) + 2, 40)))
            self.sheet.write_string(self.header_row, col, str(label), self.bold)
        self.sheet.freeze_panes(self.header_row + 1, 0)
        self.row = self.header_row + 1
        self.left = self._sheet_capacity()

    def _finish_sheet(self) -> None:
        last = max(self.row - 1, self.header_row)
        self.sheet.autofilter(self.header_row, 0, last, len(self.labels) - 1)

    def write_rows(self, rows: list[list]) -> None:
        sheet = self.sheet
        money = self.money
        plan = list(zip(self.kinds, self.cell_formats, strict=True))
        for cells in rows:
            if self.left == 0:
                self._new_sheet()
                sheet = self.sheet
            r = self.row
            for col, value in enumerate(cells):
                if value is None:
                    continue
                kind, fmt = plan[col]
                if kind == Kind.TEXT:
                    sheet.write_string(r, col, value[:EXCEL_MAX_CELL])
                elif kind == Kind.DATETIME or kind == Kind.DATE:
                    sheet.write_datetime(r, col, value, fmt)
                elif kind == Kind.MONEY:
                    sheet.write_number(r, col, value, money.get(-value.as_tuple().exponent, money[2]))
                else:
                    sheet.write_number(r, col, value)
            self.row = r + 1
            self.left -= 1

    def close(self) -> None:
        self._finish_sheet()
        self.book.close()


class OpenpyxlWriter(Writer, _Sheets):
    """openpyxl in write-only mode (rows are serialised as they are appended)."""

    extension = "xlsx"
    content_type = XlsxWriterWriter.content_type

    def __init__(self, out: BinaryIO, **kwargs):
        from openpyxl import Workbook

        super().__init__(out, **kwargs)
        self.book = Workbook(write_only=True)
        self.number_formats = []
        for kind in self.kinds:
            if kind == Kind.MONEY:
                self.number_formats.append(kind)
            elif kind == Kind.DATETIME:
                self.number_formats.append("yyyy-mm-dd hh:mm:ss")
            elif kind == Kind.DATE:
                self.number_formats.append("yyyy-mm-dd")
            else:
                self.number_formats.append(None)
        self.sheet = None
        self.sheet_count = 0
        self.rows_in_sheet = 0
        self.left = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        if self.sheet is not None:
            self._finish_sheet()
        self.sheet_count += 1
        self.sheet = self.book.create_sheet(f"Data {self.sheet_count}" if self.sheet_count > 1 else "Data")
        bold = Font(bold=True)
        for col in range(len(self.labels)):
            self.sheet.column_dimensions[get_column_letter(col + 1)].width = 20
        self.sheet.freeze_panes = f"A{self.header_row + 2}"
        for i, line in enumerate(self.title):
            cell = WriteOnlyCell(self.sheet, value=line)
            if i == 0:
                cell.font = bold
            self.sheet.append([cell])
        if self.title:
            self.sheet.append([])
        header = []
        for label in self.labels:
            cell = WriteOnlyCell(self.sheet, value=str(label))
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)
        self.rows_in_sheet = 0
        self.left = self._sheet_capacity()
        self._styled = {}

    def _finish_sheet(self) -> None:
        from openpyxl.utils import get_column_letter

        last = self.header_row + 1 + self.rows_in_sheet
        self.sheet.auto_filter.ref = f"A{self.header_row + 1}:{get_column_letter(len(self.labels))}{last}"

    def write_rows(self, rows: list[list]) -> None:
        from openpyxl.cell import WriteOnlyCell

        formats = self.number_formats
        for cells in rows:
            if self.left == 0:
                self._new_sheet()
            sheet = self.sheet
            out = []
            for col, value in enumerate(cells):
                fmt = formats[col]
                if value is None or fmt is None:
                    out.append(value[:EXCEL_MAX_CELL] if isinstance(value, str) else value)
                    continue
                if fmt == Kind.MONEY:
                    fmt = _money_format(min(4, max(0, -value.as_tuple().exponent)))
                elif isinstance(value, datetime):
                    value = value.replace(tzinfo=None)
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = fmt
                out.append(cell)
            sheet.append(out)
            self.rows_in_sheet += 1
            self.left -= 1

    def close(self) -> None:
        self._finish_sheet()
        self.book.save(self.out)


class Format:
    CSV = "csv"
    CSV_PT = "csv_pt"
    XLSX = "xlsx"


XLSX_ENGINES = {"xlsxwriter": XlsxWriterWriter, "openpyxl": OpenpyxlWriter}


def writer_class(fmt: str, *, xlsx_engine: str | None = None) -> type[Writer]:
    if fmt == Format.CSV:
        return CsvWriter
    if fmt == Format.CSV_PT:
        return PortugueseCsvWriter
    if fmt == Format.XLSX:
        if xlsx_engine is None:
            from django.conf import settings

            xlsx_engine = getattr(settings, "EXTRACTS_XLSX_ENGINE", "xlsxwriter")
        return XLSX_ENGINES[xlsx_engine]
    raise ValueError(fmt)
