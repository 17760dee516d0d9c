"""Streaming a dataset's rows into a file: the part of an extract that has to be fast.

Rows are read as tuples (``values_list``) through a server-side cursor on PostgreSQL, a chunk
at a time; each row becomes a list of cells through one small function per column (zone
conversion, formula neutralising, the dataset's own conversions) and the chunk goes to the
writer in one call. No model instance, no per-row query, memory bounded by the chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


def _getter(column: Column, indexes: tuple[int, ...], zone: ZoneInfo) -> Callable[[tuple], Any]:
    starts = FORMULA_STARTS
    kind = column.kind
    convert = column.make_value() if column.make_value is not None else column.value
    if convert is None:
        (i,) = indexes
        if kind == Kind.TEXT:

            def text(row, i=i):
                v = row[i]
                if v and v[0] in starts:
                    return "'" + v
                return v

            return text
        if kind == Kind.DATETIME:

            def moment(row, i=i):
                v = row[i]
                return v.astimezone(zone) if v is not None else None

            return moment

        def plain(row, i=i):
            return row[i]

        return plain

    def converted(row, indexes=indexes):
        v = convert(*[row[i] for i in indexes])
        if v is None:
            return None
        if kind == Kind.TEXT:
            v = str(v)
            return "'" + v if v and v[0] in starts else v
        if kind == Kind.DATETIME:
            return v.astimezone(zone)
        return v

    return converted


def row_cells(job: Job) -> tuple[list[str], Callable[[tuple], list]]:
    """The values_list fields to fetch and the function from a fetched row to its cells."""
    fields, plan = field_plan(job.columns)
    getters = [_getter(column, indexes, job.zone) for column, indexes in plan]

    def cells(row):
        return [g(row) for g in getters]

    return fields, cells


def rows(job: Job, *, chunk: int = CHUNK_ROWS) -> Iterator[list[list]]:
    """The job's rows as cell lists, a chunk at a time."""
    fields, cells = row_cells(job)
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
    for batch in rows(job):
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
