from __future__ import annotations

import csv
import io

from django.http import QueryDict

from backoffice.access import Access
from backoffice.audit import Actor
from extracts import services


def params(query: str = "", **values) -> QueryDict:
    qd = QueryDict(query, mutable=True)
    for key, value in values.items():
        qd.setlist(key, value if isinstance(value, list) else [value])
    return qd


def run(membership, query: str = "", **values):
    """Request an extract as ``membership`` and run it inline; the finished extract."""
    access = Access.for_membership(membership)
    values.setdefault("format", "csv")
    extract = services.extract_request(access=access, actor=Actor(user=membership.user), params=params(query, **values))
    services.extract_run(extract.pk)
    extract.refresh_from_db()
    return extract


def read_bytes(extract) -> bytes:
    with services.storage().open(extract.file_name, "rb") as handle:
        return handle.read()


def read_csv(extract, *, delimiter: str = ",", encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(read_bytes(extract).decode(encoding), newline=""), delimiter=delimiter))
