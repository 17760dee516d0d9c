"""Streaming a dataset's rows into a file: the part of an extract that has to be fast.

Rows are read as tuples (``values_list``) through a server-side cursor on PostgreSQL, a chunk
at a time; each row becomes a list of cells through one small function per column (zone
conversion, formula neutralising, the dataset's own conversions) and the chunk goes to the
writer in one call. No model instance, no per-row query, memory bounded by the chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import QuerySet

from backoffice.access import Access
from extracts.registry import Column, Dataset, Kind, field_plan
from extracts.writers import FORMULA_STARTS, Writer

CHUNK_ROWS = 5_000
EXACT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Job:
    dataset: Dataset
    access: Access
    filters: Any
    since: datetime | None
    until: datetime
    columns: tuple[Column, ...]
    zone: ZoneInfo

    def queryset(self) -> QuerySet:
        return self.dataset.queryset(access=self.access, filters=self.filters, since=self.since, until=self.until)


def _as_text(value):
    """A converted value shown as text, neutralised like any other text cell."""
    if value is None:
        return None
    text = str(value)
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def _as_moment(value, zone):
    return None if value is None else value.astimezone(zone)


def _value_source(i: int, column: Column, indexes: tuple[int, ...], *, lookup: bool = False) -> str:
    """Python source of the expression giving column ``i``'s value (or None) from ``row``."""
    v = f"_v{i}"
    if column.make_value is None and column.value is None:
        (at,) = indexes
        if column.kind == Kind.TEXT:
            return f'(("\'" + {v}) if ({v} := row[{at}]) and {v}[0] in _S else {v})'
        if column.kind == Kind.DATETIME:
            return f"({v}.astimezone(_Z) if ({v} := row[{at}]) is not None else None)"
        return f"row[{at}]"
    if lookup:
        # A table of labels: looked up inline, unknown values shown as stored.
        (at,) = indexes
        call = f"_c{i}.get({v}, {v}) if ({v} := row[{at}]) is not None else None"
        return f"_text({call})" if column.kind == Kind.TEXT else f"({call})"
    call = f"_c{i}(" + ", ".join(f"row[{at}]" for at in indexes) + ")"
    if column.kind == Kind.TEXT:
        return f"_text({call})"
    if column.kind == Kind.DATETIME:
        return f"_moment({call}, _Z)"
    return call


def row_function(job: Job, writer: type[Writer] | Writer | None = None) -> tuple[list[str], Callable[[tuple], list]]:
    """The values_list fields to fetch and one function from a fetched row to its cells, as
    the writer wants them.

    The function is compiled once per extract from the column kinds and positions (never from
    data or user input): one expression per cell, no call per cell for plain columns. That is
    where a pure-Python export spends its time, a few million times per file.
    """
    fields, plan = field_plan(job.columns)
    inline = getattr(writer, "inline", {}) if writer is not None else {}
    namespace: dict[str, Any] = {"_S": FORMULA_STARTS, "_Z": job.zone, "_text": _as_text, "_moment": _as_moment}
    cells = []
    for i, (column, indexes) in enumerate(plan):
        convert = column.make_value() if column.make_value is not None else column.value
        if convert is not None:
            namespace[f"_c{i}"] = convert
        source = _value_source(i, column, indexes, lookup=isinstance(convert, Mapping))
        template = inline.get(column.kind)
        cells.append(template.format(x=source, w=f"_w{i}") if template else source)
    code = "def cells(row):\n    return [" + ", ".join(cells) + "]\n"
    exec(compile(code, f"<extract row {job.dataset.key}>", "exec"), namespace)  # noqa: S102 (see docstring)
    return fields, namespace["cells"]


def row_cells(job: Job) -> tuple[list[str], Callable[[tuple], list]]:
    """Fields and row function giving plain Python values (no writer formatting)."""
    return row_function(job)


def rows(job: Job, *, writer: Writer | None = None, chunk: int | None = None) -> Iterator[list[list]]:
    """The job's rows as cell lists, a chunk at a time."""
    chunk = chunk or CHUNK_ROWS
    fields, cells = row_function(job, writer)
    qs = job.queryset()
    annotations = {k: v for c in job.columns for k, v in c.annotations.items()}
    if annotations:
        qs = qs.annotate(**annotations)
    fetched = qs.values_list(*fields).iterator(chunk_size=chunk)
    while True:
        batch = [cells(r) for r in islice(fetched, chunk)]
        if not batch:
            return
        yield batch


def write(job: Job, writer: Writer, *, progress: Callable[[int], None] | None = None) -> int:
    """Every row of ``job`` into ``writer`` (closed at the end); the number of rows."""
    written = 0
    for batch in rows(job, writer=writer):
        writer.write_rows(batch)
        written += len(batch)
        if progress is not None:
            progress(written)
    writer.close()
    return written


def estimate(qs: QuerySet) -> tuple[int, bool]:
    """How many rows ``qs`` holds: exact up to ``EXACT_COUNT_LIMIT``, then the planner's
    estimate on PostgreSQL (a count of a million rows is too slow for a page), an exact count
    elsewhere. ``(rows, exact)``."""
    qs = qs.order_by()
    capped = qs.values("pk")[: EXACT_COUNT_LIMIT + 1].count()
    if capped <= EXACT_COUNT_LIMIT:
        return capped, True
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return qs.count(), True
    sql, params = qs.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_COUNT_LIMIT + 1), False
