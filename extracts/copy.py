"""The COPY path: CSV files written by PostgreSQL itself, at close to COPY speed.

For the two CSV formats on PostgreSQL, when every chosen column has an SQL form, the engine
asks PostgreSQL for the finished text of each cell (``COPY (SELECT …) TO STDOUT (FORMAT csv)``)
instead of fetching Python values and formatting them: formatting a million rows in Python costs
several times what the database needs to produce them. The SQL forms give exactly the text
the Python path writes (a test compares the two files byte for byte):

- text: neutralised with the same rule (a leading ``= + - @`` tab or CR gets a ``'``), empty
  text written like a missing value;
- dates: ``to_char`` with the session's time zone set to the extract's zone for the
  transaction (``SET LOCAL``), ISO 8601 with offset, or ``dd/mm/yyyy hh:mm:ss``;
- labels (method, status…): a ``CASE`` over the same translated table;
- money and other computed columns: the SQL the dataset gives in ``Column.sql``.

PostgreSQL ends records with LF; RFC 4180 wants CRLF, which the Python path writes. The
stream is rewritten on the way (a quote-parity count per line keeps line breaks inside quoted
values as they are), which also counts the rows for the progress bar.

Falls back to the Python path (never fails) when a column has no SQL form, for XLSX, on other
databases, and for one-column files (the csv module quotes an empty single field, COPY not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db import connections, transaction
from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.functions import Cast, NullIf

from extracts.engine import Job
from extracts.registry import Column, Kind
from extracts.writers import CsvWriter, PortugueseCsvWriter, Writer

# Same characters as writers.FORMULA_STARTS, as a POSIX regular expression.
_FORMULA_PATTERN = "^([=+@\t\r-])"
_DATE_FORMATS = {
    "csv": ('YYYY-MM-DD"T"HH24:MI:SSTZH:TZM', "YYYY-MM-DD"),
    "csv_pt": ("DD/MM/YYYY HH24:MI:SS", "DD/MM/YYYY"),
}


def neutralised(expression) -> Func:
    """Text as the Python path writes it: formula starts prefixed, empty as missing."""
    prefixed = Func(
        expression, Value(_FORMULA_PATTERN), Value("'\\1"), function="regexp_replace", output_field=TextField()
    )
    return NullIf(prefixed, Value(""), output_field=TextField())


def _to_char(expression, pattern: str) -> Func:
    return Func(expression, Value(pattern), function="to_char", output_field=TextField())


def column_sql(column: Column, fmt: str):
    """The SQL giving ``column``'s cell text in ``fmt``, or None when it has none."""
    if column.sql is not None:
        return column.sql(fmt)
    if len(column.fields) != 1:
        return None
    field = F(column.fields[0])
    moment, day = _DATE_FORMATS[fmt]
    if column.value is None and column.make_value is None:
        if column.kind == Kind.TEXT:
            return neutralised(field)
        if column.kind == Kind.INTEGER:
            return Cast(field, TextField())
        if column.kind == Kind.DATETIME:
            return _to_char(field, moment)
        if column.kind == Kind.DATE:
            return _to_char(field, day)
        return None
    if column.make_value is not None and column.kind == Kind.TEXT:
        labels = column.make_value()
        if isinstance(labels, Mapping):
            whens = [When(**{column.fields[0]: key}, then=Value(str(label))) for key, label in labels.items()]
            expression = Case(*whens, default=Cast(field, TextField()), output_field=TextField()) if whens else field
            return neutralised(expression)
    return None


def copy_plan(job: Job, fmt: str) -> list | None:
    """The SQL of every column, or None when the COPY path does not fit this job."""
    connection = connections[job.queryset().db]
    if connection.vendor != "postgresql" or fmt not in _DATE_FORMATS or len(job.columns) < 2:
        return None
    expressions = [column_sql(c, fmt) for c in job.columns]
    return None if any(e is None for e in expressions) else expressions


def writer_for(fmt: str) -> type[Writer]:
    return PortugueseCsvWriter if fmt == "csv_pt" else CsvWriter


def write(job: Job, writer: CsvWriter, expressions: list, *, progress: Callable[[int], None] | None = None) -> int:
    """The job's rows through COPY into ``writer`` (its header already written); the row count."""
    qs = job.queryset()
    annotations = {k: v for c in job.columns for k, v in c.annotations.items()}
    if annotations:
        qs = qs.annotate(**annotations)
    names = [f"extract_cell_{i}" for i in range(len(expressions))]
    qs = qs.annotate(**dict(zip(names, expressions, strict=True))).values_list(*names)
    sql, params = qs.query.sql_with_params()
    delimiter = writer.delimiter
    connection = connections[qs.db]
    out = writer.raw_output()
    # While COPY streams, its connection can run nothing else: progress (and the cancel check
    # it carries) goes through a second connection, in autocommit, so pages see it live.
    side = connections.create_connection(qs.db) if progress is not None else None
    try:
        rows = _stream(sql, params, connection, qs.db, job, delimiter, out, progress, side)
    finally:
        if side is not None:
            side.close()
    writer.close()
    return rows


def _stream(sql, params, connection, alias, job, delimiter, out, progress, side) -> int:
    rows = 0
    inside_quotes = False
    with transaction.atomic(using=alias):
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            # Dates in the extract's zone, for this transaction only.
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [job.zone.key])
            statement = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER '{delimiter}')"
            with cursor.copy(statement, params) as copy:
                for block in copy:
                    pieces = bytes(block).split(b"\n")
                    parts = []
                    for piece in pieces[:-1]:
                        if piece.count(b'"') & 1:
                            inside_quotes = not inside_quotes
                        if inside_quotes:
                            parts.append(piece + b"\n")
                        else:
                            parts.append(piece + b"\r\n")
                            rows += 1
                    last = pieces[-1]
                    if last.count(b'"') & 1:
                        inside_quotes = not inside_quotes
                    parts.append(last)
                    out.write(b"".join(parts))
                    if progress is not None:
                        progress(rows, side)
    return rows
