"""The datasets the export engine knows, registered by the apps that own the data.

An app describes its table once, as a :class:`Dataset`, and registers it from its
``AppConfig.ready()`` (conventionally from a small ``<app>/extracts.py``)::

    from extracts.registry import Column, Dataset, register

    register(Dataset(key="qr_purchases", label=_("QR Code Express purchases"), ...))

The engine then offers it on the Extracts page and over the API, writes it in every format,
runs it in the background, schedules it, expires its files and audits every request and
download. It never imports the owning app's pages: the dataset hands it a scoped queryset.

What a dataset provides:

- ``columns``: every column it can export. A column names the ``values_list`` fields it reads
  and, when the stored value is not what the file shows, a function of those values (money is
  handed over as a ``Decimal`` with its currency's decimals). Rows are
  read as tuples, in chunks, from a server-side cursor; no model instance is ever built.
- ``presets``: named column lists (the first one is the default).
- ``parse(params, access, now)``: the filters in a query string, as ``(filters, errors, form)``
  where ``form`` is a bound Django form the page shows and ``errors`` maps each invalid
  parameter to its messages. The engine refuses to start an extract while there are errors.
- ``queryset(access, filters, since, until)``: the rows, scoped to what ``access`` may see,
  in file order, limited to ``[since, until)`` on the dataset's own time column.
- ``bounds(filters)``: the ``(since, until)`` the filters ask for (None: open).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise

from backoffice.access import Access
from backoffice.roles import Capability


class Kind:
    """How a writer renders a column's values."""

    TEXT = "text"
    INTEGER = "integer"
    # A Decimal amount; the row's currency (``Column.currency_index``) decides its decimals.
    MONEY = "money"
    DATETIME = "datetime"  # aware, shown in the extract's zone
    DATE = "date"


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise | str
    kind: str
    # The values_list fields this column reads, in order.
    fields: tuple[str, ...]
    # From the values of ``fields`` to the cell value; None: the single field's value as stored.
    value: Callable[..., Any] | None = None
    # Called once per extract (in the extract's language) to build ``value``: for lookups of
    # translated labels, built once rather than per row. It may return a mapping (stored value
    # to label; values it lacks are shown as stored), looked up without a call per cell.
    make_value: Callable[[], Callable[..., Any]] | None = None
    # The cell's text in SQL, for the COPY path of the CSV formats (``fmt`` is "csv" or
    # "csv_pt"): needed only for columns with a ``value`` function; plain and label columns get
    # theirs from the engine. It must give exactly the text the Python path writes (see
    # extracts/copy.py); a column without one makes its extracts take the Python path.
    sql: Callable[[str], Any] | None = None
    # Annotations this column's fields refer to, added to the queryset only when it is chosen.
    annotations: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    key: str
    label: Promise | str
    capability: Capability
    columns: tuple[Column, ...]
    presets: Mapping[str, tuple[Promise | str, tuple[str, ...]]]
    parse: Callable[..., tuple[Any, dict[str, list[str]], Any]]
    queryset: Callable[..., QuerySet]
    bounds: Callable[[Any], tuple[datetime | None, datetime | None]]
    # Extra capability check beyond ``capability`` (e.g. the audit log: Owners and Administrators).
    allowed: Callable[[Access], bool] | None = None
    # A short description of the filters, for the XLSX title rows and the audit log.
    describe: Callable[[Any], str] | None = None
    # Place on the Extracts page (lowest first).
    order: int = 100
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_key", {c.key: c for c in self.columns})

    def can_export(self, access: Access) -> bool:
        return access.can(self.capability) and (self.allowed is None or self.allowed(access))

    @property
    def default_preset(self) -> str:
        return next(iter(self.presets))

    def preset_columns(self, preset: str) -> tuple[str, ...]:
        return self.presets[preset][1]


_DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Make ``dataset`` exportable. Registering the same key twice replaces the first (tests,
    autoreload); two apps claiming one key is a programming error caught by the test suite."""
    unknown = [k for _label, cols in dataset.presets.values() for k in cols if k not in dataset.by_key]
    if unknown:
        raise ValueError(f"dataset {dataset.key}: presets name unknown columns {unknown}")
    _DATASETS[dataset.key] = dataset
    return dataset


def get(key: str) -> Dataset | None:
    return _DATASETS.get(key)


def all_datasets() -> list[Dataset]:
    return sorted(_DATASETS.values(), key=lambda d: (d.order, d.key))


def exportable(access: Access) -> list[Dataset]:
    return [d for d in all_datasets() if d.can_export(access)]


def field_plan(columns: Iterable[Column]) -> tuple[list[str], list[tuple[Column, tuple[int, ...]]]]:
    """The values_list fields ``columns`` need (each once) and, per column, the positions of its
    fields in a fetched row."""
    fields: list[str] = []
    position: dict[str, int] = {}

    def at(name: str) -> int:
        if name not in position:
            position[name] = len(fields)
            fields.append(name)
        return position[name]

    plan = []
    for column in columns:
        plan.append((column, tuple(at(f) for f in column.fields)))
    return fields, plan
