"""Which value applies where: terminal ← store ← merchant ← defaults, and the entity rule.

Pure functions over the rows of one merchant (no queries), so the matrix, the API, the check
against SIBS and the services that validate a change all read the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backoffice.models import Terminal
from payments.methods.catalogue import ALL_SETTINGS, DEFAULTS, SETTINGS, TEXT_SETTINGS, Method
from payments.methods.models import MethodSetting

FIELDS: tuple[str, ...] = ("enabled", *ALL_SETTINGS)
MERCHANT, STORE, TERMINAL, DEFAULT = "merchant", "store", "terminal", "default"


@dataclass(frozen=True)
class Scope:
    """Where a setting is made: the whole merchant, one store, or one terminal."""

    level: str
    store_id: int | None = None
    terminal_id: int | None = None

    @property
    def key(self) -> str:
        if self.level == TERMINAL:
            return f"terminal-{self.terminal_id}"
        if self.level == STORE:
            return f"store-{self.store_id}"
        return MERCHANT

    @classmethod
    def parse(cls, key: str) -> Scope | None:
        if key == MERCHANT:
            return cls(MERCHANT)
        level, _sep, pk = (key or "").partition("-")
        if level not in (STORE, TERMINAL) or not pk.isdigit() or len(pk) > 12:
            return None
        return cls(STORE, store_id=int(pk)) if level == STORE else cls(TERMINAL, terminal_id=int(pk))


@dataclass(frozen=True)
class Value:
    value: Any
    # The level the value comes from: terminal, store, merchant or default.
    source: str

    def inherited_at(self, level: str) -> bool:
        return self.source != level


def is_set(field: str, value: Any) -> bool:
    return value != "" if field in TEXT_SETTINGS else value is not None


class Configuration:
    """Every MethodSetting row of one merchant, keyed by scope and method."""

    def __init__(self, rows: list[MethodSetting]):
        self.rows: dict[tuple[str, str], MethodSetting] = {}
        for row in rows:
            self.put(row)

    @staticmethod
    def _scope_of(row: MethodSetting) -> Scope:
        if row.terminal_id is not None:
            return Scope(TERMINAL, terminal_id=row.terminal_id)
        if row.store_id is not None:
            return Scope(STORE, store_id=row.store_id)
        return Scope(MERCHANT)

    def put(self, row: MethodSetting) -> None:
        self.rows[(self._scope_of(row).key, row.method)] = row

    def own(self, scope: Scope, method: str) -> MethodSetting | None:
        return self.rows.get((scope.key, method))

    def chain(self, scope: Scope, method: str, *, store_id: int | None = None) -> list[tuple[str, MethodSetting]]:
        """The rows that apply at ``scope``, most specific first. A terminal's ``store_id`` is needed."""
        levels: list[Scope] = []
        if scope.level == TERMINAL:
            levels.append(scope)
            levels.append(Scope(STORE, store_id=store_id))
        elif scope.level == STORE:
            levels.append(scope)
        levels.append(Scope(MERCHANT))
        found = []
        for level in levels:
            row = self.rows.get((level.key, method))
            if row is not None:
                found.append((level.level, row))
        return found

    def resolve(self, scope: Scope, method: str, *, store_id: int | None = None) -> dict[str, Value]:
        """Every field of ``method`` at ``scope`` with the level its value comes from."""
        chain = self.chain(scope, method, store_id=store_id)
        values = {}
        for field in ("enabled", *SETTINGS.get(method, ())):
            for level, row in chain:
                value = getattr(row, field)
                if is_set(field, value):
                    values[field] = Value(value, level)
                    break
            else:
                values[field] = Value(DEFAULTS[field], DEFAULT)
        return values

    def for_terminal(self, terminal: Terminal, method: str) -> dict[str, Value]:
        return self.resolve(Scope(TERMINAL, terminal_id=terminal.pk), method, store_id=terminal.store_id)

    def enabled_methods(self, terminal: Terminal) -> list[str]:
        return [m.value for m in Method if self.for_terminal(terminal, m.value)["enabled"].value]


def reference_problem(values: dict[str, Value]) -> str | None:
    """SIBS's rule: a MULTIBANCO reference needs an active payment entity. Also min ≤ max."""
    if not values["enabled"].value:
        return None
    entity = values["reference_entity"].value
    if entity is None:
        return "no_entity"
    if not entity.is_active:
        return "entity_disabled"
    low, high = values["reference_min_amount"].value, values["reference_max_amount"].value
    if low is not None and high is not None and low > high:
        return "min_above_max"
    return None
