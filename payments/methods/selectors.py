"""Reads of the payment-methods capability, always scoped by an ``Access``.

A store-limited person sees the merchant's defaults (what their terminals inherit) but only their
own stores and terminals; another merchant's objects do not exist (``DoesNotExist`` → 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from backoffice.access import Access
from backoffice.models import Store, Terminal
from payments.methods.catalogue import DEFAULTS, SETTINGS, Method
from payments.methods.models import MethodCheck, MethodRequest, MethodSetting, PaymentEntity
from payments.methods.resolution import DEFAULT, MERCHANT, STORE, TERMINAL, Configuration, Scope, Value
from payments.models import Transaction, TransactionState
from payments.sibs.enums import TokenType

# --------------------------------------------------------------------------- configuration


def configuration(*, access: Access) -> Configuration:
    rows = MethodSetting.objects.filter(merchant=access.merchant).select_related("reference_entity")
    if access.is_store_limited:
        rows = rows.filter(
            Q(store__isnull=True, terminal__isnull=True)
            | Q(store_id__in=access.store_ids)
            | Q(terminal__store_id__in=access.store_ids)
        )
    return Configuration(list(rows))


def store_list(*, access: Access) -> QuerySet[Store]:
    stores = Store.objects.filter(merchant=access.merchant).order_by("name")
    if access.is_store_limited:
        stores = stores.filter(pk__in=access.store_ids)
    return stores


def terminal_list(*, access: Access) -> QuerySet[Terminal]:
    return access.scope(Terminal.objects.select_related("store")).order_by("store__name", "terminal_id")


def terminal_get(*, access: Access, pk: int) -> Terminal:
    return terminal_list(access=access).get(pk=pk)


def terminal_by_number(*, access: Access, terminal_id: int) -> Terminal:
    return terminal_list(access=access).get(terminal_id=terminal_id)


def scope_get(*, access: Access, key: str) -> tuple[Scope, Store | None, Terminal | None]:
    """The scope named ``key`` if this person may see it; ``Store.DoesNotExist`` otherwise."""
    scope = Scope.parse(key)
    if scope is None:
        raise Store.DoesNotExist
    if scope.level == STORE:
        return scope, store_list(access=access).get(pk=scope.store_id), None
    if scope.level == TERMINAL:
        return scope, None, terminal_get(access=access, pk=scope.terminal_id)
    return scope, None, None


def resolve_at(config: Configuration, scope: Scope, terminal: Terminal | None, method: str) -> dict[str, Value]:
    if terminal is not None:
        return config.for_terminal(terminal, method)
    return config.resolve(scope, method)


def inherited_at(config: Configuration, scope: Scope, terminal: Terminal | None, method: str) -> dict[str, Value]:
    """What a level inherits for each field it leaves empty: the level above's values."""
    if scope.level == TERMINAL and terminal is not None:
        return config.resolve(Scope(STORE, store_id=terminal.store_id), method)
    if scope.level == STORE:
        return config.resolve(Scope(MERCHANT), method)
    return {name: Value(DEFAULTS[name], DEFAULT) for name in ("enabled", *SETTINGS.get(method, ()))}


# --------------------------------------------------------------------------- the matrix


@dataclass
class Cell:
    method: str
    value: Value
    level: str
    # "not_at_sibs": enabled here, not in SIBS's paymentMethodList; "not_here": the reverse.
    flag: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.value.value)

    @property
    def inherited(self) -> bool:
        return self.value.inherited_at(self.level)


@dataclass
class MatrixRow:
    level: str
    scope: str
    label: str
    cells: list[Cell]
    editable: bool
    terminal: Terminal | None = None
    store: Store | None = None
    check: MethodCheck | None = None
    children: list = field(default_factory=list)


def latest_checks(*, access: Access, terminals: list[Terminal]) -> dict[int, MethodCheck]:
    ids = [t.pk for t in terminals]
    latest = (
        MethodCheck.objects.filter(merchant=access.merchant, terminal_id__in=ids)
        .values("terminal_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {c.terminal_id: c for c in MethodCheck.objects.filter(pk__in=list(latest))}


def matrix(*, access: Access) -> list[MatrixRow]:
    """Merchant defaults, then each store with its defaults and its terminals."""
    config = configuration(access=access)
    methods = [m.value for m in Method]
    terminals = list(terminal_list(access=access))
    checks = latest_checks(access=access, terminals=terminals)
    rows = [
        MatrixRow(
            MERCHANT,
            "merchant",
            "",
            [Cell(m, config.resolve(Scope(MERCHANT), m)["enabled"], MERCHANT) for m in methods],
            editable=not access.is_store_limited,
        )
    ]
    for store in store_list(access=access):
        scope = Scope(STORE, store_id=store.pk)
        rows.append(
            MatrixRow(
                STORE,
                scope.key,
                store.name,
                [Cell(m, config.resolve(scope, m)["enabled"], STORE) for m in methods],
                editable=True,
                store=store,
            )
        )
        for terminal in (t for t in terminals if t.store_id == store.pk):
            check = checks.get(terminal.pk)
            cells = []
            for m in methods:
                cell = Cell(m, config.for_terminal(terminal, m)["enabled"], TERMINAL)
                if check is not None and check.active_at_sibs is not None:
                    if m in check.not_active_at_sibs:
                        cell.flag = "not_at_sibs"
                    elif m in check.not_offered_here:
                        cell.flag = "not_here"
                cells.append(cell)
            rows.append(
                MatrixRow(
                    TERMINAL,
                    Scope(TERMINAL, terminal_id=terminal.pk).key,
                    str(terminal),
                    cells,
                    editable=True,
                    terminal=terminal,
                    store=store,
                    check=check,
                )
            )
    return rows


# --------------------------------------------------------------------------- what a terminal offers


def terminal_offer(*, access: Access, terminal: Terminal) -> list[dict]:
    """The methods enabled on a terminal with their settings (the API's answer)."""
    config = configuration(access=access)
    offer = []
    for method in Method:
        values = config.for_terminal(terminal, method.value)
        if not values["enabled"].value:
            continue
        settings = {}
        for name in SETTINGS.get(method.value, ()):
            settings[name] = values[name].value
        offer.append({"method": method.value, "label": str(method.label), "settings": settings})
    return offer


def check_list(*, access: Access, terminal: Terminal, limit: int = 10) -> list[MethodCheck]:
    return list(MethodCheck.objects.filter(merchant=access.merchant, terminal=terminal)[:limit])


# --------------------------------------------------------------------------- entities


def entity_list(*, access: Access) -> QuerySet[PaymentEntity]:
    return PaymentEntity.objects.filter(merchant=access.merchant).order_by("-is_active", "entity")


def entity_get(*, access: Access, pk: int) -> PaymentEntity:
    return entity_list(access=access).get(pk=pk)


# --------------------------------------------------------------------------- requests


def request_list(*, access: Access) -> QuerySet[MethodRequest]:
    requests = MethodRequest.objects.filter(merchant=access.merchant).prefetch_related("stores", "terminals", "events")
    if access.is_store_limited:
        # Only requests that touch nothing outside the person's stores.
        other_stores = Store.objects.filter(merchant=access.merchant).exclude(pk__in=access.store_ids)
        other_terminals = Terminal.objects.filter(merchant=access.merchant).exclude(store_id__in=access.store_ids)
        outside = MethodRequest.objects.filter(
            Q(stores__in=other_stores) | Q(terminals__in=other_terminals), merchant=access.merchant
        )
        requests = requests.exclude(pk__in=outside.values("pk"))
    return requests.select_related("requested_by")


# --------------------------------------------------------------------------- mandates and tokens


MANDATE_STATUS = {
    # (mandateAction, mandateActionStatus) of the latest notification → the mandate's status.
    ("CRTN", "SCCS"): "active",
    ("RCTV", "SCCS"): "active",
    ("LMUP", "SCCS"): "active",
    ("SSPN", "SCCS"): "suspended",
    ("CNCL", "SCCS"): "cancelled",
}


def mandate_status(action: str, action_status: str, expiry: date | None, today: date) -> str:
    if action_status in ("RJCT", "RFSD") and action == "CRTN":
        return "refused"
    status = MANDATE_STATUS.get((action, action_status), "unknown" if action else "active")
    if status == "active" and expiry is not None and expiry < today:
        return "expired"
    return status


def _mandate_rows(access: Access) -> QuerySet[Transaction]:
    return access.scope(Transaction.objects.exclude(mandate_id=""))


def mandate_list(*, access: Access, query: str = "", status: str = "", limit: int = 200) -> list[dict]:
    """One line per mandate seen in notifications: the latest notification's values, first and
    last seen, how many transactions."""
    base = _mandate_rows(access)
    query = (query or "").strip()[:100]
    if query:
        base = base.filter(
            Q(mandate_id__icontains=query)
            | Q(mandate_client_name__icontains=query)
            | Q(mbway_alias_last_digits=query[-4:])
        )
    groups = list(
        base.values("mandate_id")
        .annotate(count=Count("id"), first_seen=Min("created_at"), last_seen=Max("created_at"), latest=Max("id"))
        .order_by("-last_seen")[: limit * 2]
    )
    latest = {t.pk: t for t in Transaction.objects.filter(pk__in=[g["latest"] for g in groups])}
    # The values of the mandate come from its latest notification that carried them.
    described = {}
    for txn in (
        _mandate_rows(access)
        .filter(mandate_id__in=[g["mandate_id"] for g in groups])
        .exclude(mandate_action="")
        .order_by("mandate_id", "-created_at", "-id")
    ):
        described.setdefault(txn.mandate_id, txn)
    today = timezone.localdate()
    rows = []
    for group in groups:
        txn = described.get(group["mandate_id"]) or latest[group["latest"]]
        row = {
            "mandate_id": group["mandate_id"],
            "type": txn.mandate_type,
            "alias": txn.mbway_alias_masked,
            "client_name": txn.mandate_client_name,
            "amount_limit": txn.mandate_amount_limit,
            "currency": txn.currency or "EUR",
            "expiry": txn.mandate_expiration_date,
            "status": mandate_status(txn.mandate_action, txn.mandate_action_status, txn.mandate_expiration_date, today),
            "count": group["count"],
            "first_seen": group["first_seen"],
            "last_seen": group["last_seen"],
        }
        if status and row["status"] != status:
            continue
        rows.append(row)
    return rows[:limit]


def mandate_transactions(*, access: Access, mandate_id: str) -> QuerySet[Transaction]:
    return _mandate_rows(access).filter(mandate_id=mandate_id).order_by("-created_at", "-id")


CARD_TOKEN = TokenType.CARD.value


def _token_rows(access: Access) -> QuerySet[Transaction]:
    # Card tokens only: a MobilePhone "token" is the MB WAY alias, shown with MB WAY.
    return access.scope(Transaction.objects.exclude(token_masked="").filter(token_type__iexact=CARD_TOKEN))


def token_list(*, access: Access, query: str = "", limit: int = 200) -> list[dict]:
    """One line per card token seen in notifications (by its masked value; the clear value is
    never stored outside the encrypted inbound row)."""
    base = _token_rows(access)
    query = (query or "").strip()[:64]
    if query:
        base = base.filter(token_masked__icontains=query)
    purchases = Q(
        state__in=[
            TransactionState.PAID,
            TransactionState.AUTHORISED,
            TransactionState.PARTIALLY_REFUNDED,
            TransactionState.REFUNDED,
        ],
        original__isnull=True,
    )
    return list(
        base.values("token_masked", "token_type")
        .annotate(
            first_used=Min("created_at"),
            last_used=Max("created_at"),
            count=Count("id"),
            purchases=Count("id", filter=purchases),
        )
        .order_by("-last_used")[:limit]
    )


def token_transactions(*, access: Access, masked: str) -> QuerySet[Transaction]:
    return _token_rows(access).filter(token_masked=masked).order_by("-created_at", "-id")
