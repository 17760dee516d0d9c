"""The transaction list: filters, search, status tabs, keyset pages and live changes.

One module for the HTML page (``payments/views_list.py``) and the API (``payments/api.py``):
both parse the same query parameters with :func:`parse_filters` and fetch with the functions
below, so a bookmarked page and an API call with the same query string see the same rows.

**Order and pages.** Newest first by ``(created_at DESC, id DESC)``. ``created_at`` is when the
backoffice first heard of the transaction (its first notification, or the request it sent),
always present and set once; SIBS's ``transactionDateTime`` may be missing and notifications
arrive in any order, so it is shown but is not the key. Date filters use the same column, so
one index, ``(merchant, created_at)``, serves order, date range and page position. Pages are
keyset pages: the cursor is the ``(created_at, id)`` of the last row seen, and the next page
starts right after it with an index seek (no ``OFFSET``), so page 1,000 costs what page 1 does.
Cursors are opaque (signed, base64url): a tampered one is refused, never half-trusted.

**Search.** One box, exact matches only (every one served by an index): SIBS transaction id
(and the second id a MULTIBANCO payment may carry), merchant transaction id, internal id,
MULTIBANCO reference (9 digits, or entity and reference: 5 + 9 digits, spaces allowed), the last
4 digits of an MB WAY phone (what the masked alias shows), and an amount (``16.20``, ``16,20``,
``1 234,56 €``). Each kind of match is fetched as its own ordered, limited query and the results
are merged, so a common amount matching thousands of rows still reads one page from its index.

**Status tabs.** Groups of states, counted with ``COUNT`` over at most ``COUNT_CAP + 1`` rows of
an index: the page shows "10 000+" rather than counting a million rows per tab.

**Live.** :func:`live_changes` returns the rows written since a signed timestamp, ordered by
``changed_at`` and limited (index ``(merchant, changed_at)``): one query per poll. Which of
those rows match the list's filters is decided on the rows themselves (``ListFilters.matches``).
The timestamp handed back lags ``LIVE_OVERLAP`` behind the clock, so a row whose write
committed a moment after another poll still turns up; the page drops repeats by the row's
version.

Every function takes an ``Access``: store-limited people and keys see only their stores,
in rows, counts and live changes alike.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django import forms
from django.core import signing
from django.db import models
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from backoffice.models import Store, Terminal
from backoffice.roles import Capability
from payments.models import Transaction, TransactionState
from payments.selectors import records as selectors
from payments.sibs.enums import PaymentMethod, PaymentType

LISBON = ZoneInfo("Europe/Lisbon")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH_LENGTH = 100
MAX_CURSOR_LENGTH = 200
COUNT_CAP = 10_000
MAX_AMOUNT = Decimal(10) ** 12
LIVE_LIMIT = 100
LIVE_OVERLAP = timedelta(seconds=5)
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 1, 1)

_CURSOR_SALT = "payments.listing.cursor"
_LIVE_SALT = "payments.listing.live"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class Period(models.TextChoices):
    TODAY = "today", _("Today")
    LAST_24H = "24h", _("Last 24 hours")
    LAST_7D = "7d", _("Last 7 days")
    LAST_30D = "30d", _("Last 30 days")
    THIS_MONTH = "month", _("This month")
    CUSTOM = "custom", _("Custom range")


class Tab(models.TextChoices):
    ALL = "all", _("All")
    SUCCESS = "success", _("Successful")
    PENDING = "pending", _("Pending")
    DECLINED = "declined", _("Declined")
    REFUNDED = "refunded", _("Refunded")
    TO_CAPTURE = "to_capture", _("To capture")


S = TransactionState
# A tab is a group of states (tabs may overlap: a partly refunded payment was successful too).
# "To capture" is an authorisation nothing has been captured or cancelled of yet.
TAB_STATES: dict[str, tuple[str, ...]] = {
    Tab.SUCCESS: (S.PAID, S.PARTIALLY_REFUNDED, S.SUCCEEDED),
    Tab.PENDING: (S.PENDING, S.AWAITING_PAYMENT),
    Tab.DECLINED: (S.DECLINED, S.FAILED, S.EXPIRED),
    Tab.REFUNDED: (S.REFUNDED, S.PARTIALLY_REFUNDED),
    Tab.TO_CAPTURE: (S.AUTHORISED,),
}

# Query parameters, in the order a normalised query string lists them.
MULTI_PARAMS = ("store", "terminal", "method", "type", "status", "code")
FILTER_PARAMS = (
    "q",
    "period",
    "from",
    "to",
    *MULTI_PARAMS,
    "amount_min",
    "amount_max",
    "currency",
    "settlement",
    "tab",
)
# Where a transaction stands in the settlement files (reconciliation decides: see
# register_settlement_filter).
SETTLEMENT_CHOICES = [("settled", _("Settled")), ("expected", _("Expected")), ("exception", _("Exception"))]


class InvalidCursor(ValueError):
    pass


# --------------------------------------------------------------------------- parsing


_AMOUNT_NOISE = re.compile(r"[\s\u00a0\u202f€]|EUR", re.IGNORECASE)
# 1234 · 16.20 · 16,2 · 0.005
_AMOUNT_PLAIN = re.compile(r"(?P<int>\d+)(?:[.,](?P<frac>\d{1,3}))?")
# 1.234 · 1 234,56 (spaces already gone) · 1,234,567.89: thousands grouped by one separator,
# then maybe decimals after the other one.
_AMOUNT_GROUPED = re.compile(
    r"(?P<int>[1-9]\d{0,2}(?P<g>[.,])\d{3}(?:(?P=g)\d{3})*)"  # 1.234.567
    r"(?:(?!(?P=g))[.,](?P<frac>\d{1,3}))?"  # ,89
)


def parse_amount(text: str) -> Decimal | None:
    """An amount as people type it: ``16.20``, ``16,20``, ``1 234,56 €``, ``1,234.56``, ``€16``.

    A separator followed by groups of exactly three digits (``1.234``, ``1,234,567``) groups
    thousands, and the other separator after them is the decimal point; otherwise the single
    separator is the decimal point. None when it is not an amount (negative, more than 3
    decimals, a trillion or more, anything else).
    """
    compact = _AMOUNT_NOISE.sub("", text or "")
    if not compact or len(compact) > 30:
        return None
    match = _AMOUNT_GROUPED.fullmatch(compact) or _AMOUNT_PLAIN.fullmatch(compact)
    if match is None:
        return None
    integer = re.sub(r"[.,]", "", match.group("int"))
    value = Decimal(f"{integer}.{match.group('frac') or '0'}")
    return value if value < MAX_AMOUNT else None


_REFERENCE_NOISE = re.compile(r"[\s.\-]")
_ALIAS = re.compile(r"(?:\+?351#?)?[*•.…x]*(\d{4}|9\d{8})", re.IGNORECASE)


# Shortest text searched for as the start of a SIBS or order id.
MIN_PREFIX = 4


@dataclass(frozen=True)
class Search:
    """What the search box text can mean; each part is one indexed match: exact, or the start of
    a SIBS transaction id or an order id."""

    text: str
    reference: tuple[str, str] | None = None  # (entity or "", number)
    alias_digits: str = ""
    amount: Decimal | None = None

    @classmethod
    def parse(cls, text: str) -> Search:
        text = text.strip()
        digits = _REFERENCE_NOISE.sub("", text)
        reference = None
        if digits.isdigit() and len(digits) == 9:
            reference = ("", digits)
        elif digits.isdigit() and len(digits) == 14:
            reference = (digits[:5], digits[5:])
        alias = _ALIAS.fullmatch(text.replace(" ", ""))
        return cls(
            text=text,
            reference=reference,
            alias_digits=alias.group(1)[-4:] if alias else "",
            amount=parse_amount(text),
        )

    @property
    def prefix(self) -> bool:
        """Long enough to look for ids starting with it (``ORD-261208`` finds ``ORD-261208-0042``)."""
        return len(self.text) >= MIN_PREFIX

    def matches(self, txn: Transaction) -> bool:
        """Whether ``txn`` is found by this search: :meth:`branches`, evaluated on a loaded row."""
        text = self.text
        if text in (txn.transaction_id, txn.secondary_transaction_id, txn.merchant_transaction_id):
            return True
        if self.prefix and any(
            (value or "").startswith(text) for value in (txn.transaction_id, txn.merchant_transaction_id)
        ):
            return True
        if text == txn.internal_transaction_id:
            return True
        if self.reference:
            entity, number = self.reference
            if txn.reference_number == number and (not entity or txn.reference_entity == entity):
                return True
        if self.alias_digits and txn.mbway_alias_last_digits == self.alias_digits:
            return True
        return self.amount is not None and txn.amount is not None and txn.amount == self.amount

    def branches(self) -> list[Q]:
        """One condition per kind of match (ids together: they match a handful of rows)."""
        ids = (
            Q(transaction_id=self.text)
            | Q(secondary_transaction_id=self.text)
            | Q(merchant_transaction_id=self.text)
            | Q(internal_transaction_id=self.text)
        )
        if self.reference:
            entity, number = self.reference
            ids |= Q(reference_number=number, **({"reference_entity": entity} if entity else {}))
        branches = [ids]
        if self.prefix:
            # On PostgreSQL each has its own index with the pattern operator class (see the
            # Transaction model), so a prefix is a range scan, not a scan of the merchant's rows.
            branches.append(Q(transaction_id__startswith=self.text))
            branches.append(Q(merchant_transaction_id__startswith=self.text))
        if self.alias_digits:
            branches.append(Q(mbway_alias_last_digits=self.alias_digits))
        if self.amount is not None:
            branches.append(Q(amount=self.amount))
        return branches


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    period: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    store_ids: tuple[int, ...] = ()
    terminal_pks: tuple[int, ...] = ()
    methods: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    return_codes: tuple[str, ...] = ()  # SIBS return code (the dashboards' decline reasons)
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str = ""
    settlement: str = ""
    tab: str = Tab.ALL
    # Changed (by anything: a notification, a refund, a capture…) at or after this time: for
    # integrations that sync by update time (the API's ``updated_since``).
    changed_since: datetime | None = None
    # The valid parameters as given, normalised: for links, tabs and saved views.
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def is_filtered(self) -> bool:
        """Anything narrowing the list beyond the "All" tab."""
        return any(value for key, value in self.params if key != "tab") or self.tab != Tab.ALL

    @property
    def search(self) -> Search | None:
        return Search.parse(self.q) if self.q else None

    def matches(self, txn: Transaction, *, tab: bool = True) -> bool:
        """Whether a loaded row passes every filter and the search: :func:`matching` in Python,
        for rows already in hand (the live poll), so checking them costs no query."""
        at = txn.created_at
        if (self.since and at < self.since) or (self.until and at >= self.until):
            return False
        if self.changed_since and txn.changed_at < self.changed_since:
            return False
        if self.store_ids and txn.store_id not in self.store_ids:
            return False
        if self.terminal_pks and txn.terminal_id not in self.terminal_pks:
            return False
        if self.methods and txn.payment_method not in self.methods:
            return False
        if self.types and txn.payment_type not in self.types:
            return False
        if self.states and txn.state not in self.states:
            return False
        if self.return_codes and txn.return_code not in self.return_codes:
            return False
        if self.amount_min is not None and (txn.amount is None or txn.amount < self.amount_min):
            return False
        if self.amount_max is not None and (txn.amount is None or txn.amount > self.amount_max):
            return False
        if self.currency and txn.currency != self.currency:
            return False
        if tab and self.tab in TAB_STATES and txn.state not in TAB_STATES[self.tab]:
            return False
        search = self.search
        return search is None or search.matches(txn)

    def query(self, *, without: Iterable[str] = (), **overrides: str) -> str:
        """The normalised query string, minus ``without``, with ``overrides`` set."""
        skip = set(without) | set(overrides)
        qd = QueryDict(mutable=True)
        for key, value in self.params:
            if key not in skip:
                qd.appendlist(key, value)
        for key, value in overrides.items():
            if value:
                qd[key] = value
        return qd.urlencode()


class _MultiChoice(forms.MultipleChoiceField):
    """Repeated parameter (``?status=paid&status=refunded``); duplicates collapse."""

    def clean(self, value):
        return list(dict.fromkeys(super().clean(value)))


class _ReturnCodes(_MultiChoice):
    """SIBS return codes as given (``01.106.0004``, ``E0707``): no list to choose from."""

    def valid_value(self, value):
        return bool(re.fullmatch(r"[A-Za-z0-9._-]{1,64}", str(value)))


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH, label=_("Search"))
    period = forms.ChoiceField(required=False, choices=[("", _("Any time")), *Period.choices], label=_("Period"))
    store = _MultiChoice(required=False, label=_("Store"))
    terminal = _MultiChoice(required=False, label=_("Terminal"))
    method = _MultiChoice(required=False, choices=PaymentMethod.choices, label=_("Method"))
    type = _MultiChoice(required=False, choices=PaymentType.choices, label=_("Type"))
    status = _MultiChoice(required=False, choices=TransactionState.choices, label=_("Status"))
    code = _ReturnCodes(required=False, label=_("Return code"))
    amount_min = forms.CharField(required=False, max_length=30, label=_("Amount from"))
    amount_max = forms.CharField(required=False, max_length=30, label=_("Amount to"))
    currency = forms.CharField(required=False, max_length=3, label=_("Currency"))
    settlement = forms.ChoiceField(
        required=False, choices=[("", _("Any settlement")), *SETTLEMENT_CHOICES], label=_("Settlement")
    )
    tab = forms.ChoiceField(required=False, choices=Tab.choices)

    def __init__(self, data: Mapping, *, access: Access, stores=None, terminals=None, choices: bool = True):
        """``choices=False`` (the live poll, the API) reads the stores and terminals only when
        the query names some: there is no menu to fill."""
        super().__init__(data)
        self.access = access
        # "from" and "to" are keywords in Python: added by name.
        self.fields["from"] = forms.CharField(required=False, max_length=40, label=_("From"))
        self.fields["to"] = forms.CharField(required=False, max_length=40, label=_("To"))
        named = getattr(data, "getlist", lambda name: [data.get(name)] if data.get(name) else [])
        if stores is None:
            stores = visible_stores(access) if choices or any(named("store")) else ()
        if terminals is None:
            terminals = visible_terminals(access) if choices or any(named("terminal")) else ()
        self.stores = list(stores)
        self.terminals = list(terminals)
        self.fields["store"].choices = [(str(s.pk), s.name) for s in self.stores]
        self.fields["terminal"].choices = [(str(t.terminal_id), f"{t.terminal_id} · {t.name}") for t in self.terminals]

    def _clean_moment(self, name: str, *, end: bool) -> datetime | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            day = parse_date(raw) if len(raw) == 10 else None
        except ValueError:  # well formed, but no such day (2026-02-30)
            raise forms.ValidationError(_("There is no such date."), code="invalid_date") from None
        if day is not None:
            if not EARLIEST_DATE <= day < LATEST_DATE:
                raise forms.ValidationError(_("Choose a date between 2000 and 2099."), code="out_of_range")
            return local_midnight(day + timedelta(days=1) if end else day)
        try:
            moment = parse_datetime(raw)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError(
                _("Enter a date as YYYY-MM-DD (or a date and time with its offset)."), code="invalid_date"
            )
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, LISBON)
        if not EARLIEST_DATE <= moment.date() < LATEST_DATE:
            raise forms.ValidationError(_("Choose a date between 2000 and 2099."), code="out_of_range")
        return moment

    def _clean_amount(self, name: str) -> Decimal | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        if raw.startswith("-"):
            raise forms.ValidationError(_("An amount cannot be negative."), code="negative")
        value = parse_amount(raw)
        if value is None:
            raise forms.ValidationError(
                _("Enter an amount such as 16.20 (at most 3 decimals, under a trillion)."), code="invalid_amount"
            )
        return value

    def clean_currency(self):
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if value and not re.fullmatch(r"[A-Z]{3}", value):
            raise forms.ValidationError(_("Enter a three-letter currency code, such as EUR."), code="invalid_currency")
        return value

    def clean_q(self):
        value = " ".join((self.cleaned_data.get("q") or "").split())
        if value and not value.isprintable():
            raise forms.ValidationError(_("The search text has characters that cannot be searched."), code="invalid")
        return value

    def clean(self):
        data = super().clean()
        for name, end in (("from", False), ("to", True)):
            try:
                data[f"{name}_at"] = self._clean_moment(name, end=end)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        for name in ("amount_min", "amount_max"):
            try:
                data[f"{name}_value"] = self._clean_amount(name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        since, until = data.get("from_at"), data.get("to_at")
        if since and until and since >= until:
            self.add_error("to", forms.ValidationError(_("The end is before the start."), code="range"))
        low, high = data.get("amount_min_value"), data.get("amount_max_value")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", forms.ValidationError(_("The maximum is below the minimum."), code="range"))
        return data


def visible_stores(access: Access) -> QuerySet[Store]:
    qs = Store.objects.filter(merchant=access.merchant)
    if access.is_store_limited:
        qs = qs.filter(pk__in=access.store_ids)
    return qs.order_by("name", "pk")


def visible_terminals(access: Access) -> QuerySet[Terminal]:
    qs = Terminal.objects.filter(store__merchant=access.merchant)
    if access.is_store_limited:
        qs = qs.filter(store__in=access.store_ids)
    return qs.order_by("terminal_id")


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LISBON)


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` of a preset, days counted in Europe/Lisbon."""
    now = now or timezone.now()
    today = now.astimezone(LISBON).date()
    if period == Period.TODAY:
        return local_midnight(today), None
    if period == Period.LAST_24H:
        return now - timedelta(hours=24), None
    if period == Period.LAST_7D:
        return now - timedelta(days=7), None
    if period == Period.LAST_30D:
        return now - timedelta(days=30), None
    if period == Period.THIS_MONTH:
        return local_midnight(today.replace(day=1)), None
    return None, None


def parse_filters(
    params: Mapping, *, access: Access, now: datetime | None = None, choices: bool = True
) -> tuple[ListFilters, dict[str, list[str]], ListFilterForm]:
    """The filters in ``params`` (a QueryDict), the errors of those that are not valid, and the
    bound form. Invalid parameters are left out of the filters, never guessed at."""
    form = ListFilterForm(params, access=access, choices=choices)
    form.is_valid()
    data = form.cleaned_data
    errors = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}

    def ok(name: str) -> bool:
        return name not in errors

    period = data.get("period", "") if ok("period") else ""
    since = until = None
    if period and period != Period.CUSTOM:
        since, until = period_bounds(period, now)
    else:
        since = data.get("from_at") if ok("from") and ok("to") else None
        until = data.get("to_at") if ok("from") and ok("to") else None
        if since or until:
            period = Period.CUSTOM

    store_pks = {str(s.pk): s.pk for s in form.stores}
    terminal_pks = {str(t.terminal_id): t.pk for t in form.terminals}
    filters = ListFilters(
        q=data.get("q", "") if ok("q") else "",
        period=period,
        since=since,
        until=until,
        store_ids=tuple(store_pks[v] for v in data.get("store", [])) if ok("store") else (),
        terminal_pks=tuple(terminal_pks[v] for v in data.get("terminal", [])) if ok("terminal") else (),
        methods=tuple(data.get("method", [])) if ok("method") else (),
        types=tuple(data.get("type", [])) if ok("type") else (),
        states=tuple(data.get("status", [])) if ok("status") else (),
        return_codes=tuple(dict.fromkeys(data.get("code", []))) if ok("code") else (),
        amount_min=data.get("amount_min_value") if ok("amount_min") else None,
        amount_max=data.get("amount_max_value") if ok("amount_max") else None,
        currency=data.get("currency", "") if ok("currency") else "",
        settlement=data.get("settlement", "") if ok("settlement") and access.can(Capability.RECONCILE) else "",
        tab=(data.get("tab") or Tab.ALL) if ok("tab") else Tab.ALL,
        params=tuple(_normalised_params(data, errors, period)),
    )
    return filters, errors, form


def _normalised_params(data: dict, errors: dict, period: str) -> Iterable[tuple[str, str]]:
    for name in FILTER_PARAMS:
        if name in errors:
            continue
        if name == "period":
            if period and period != Period.CUSTOM:
                yield name, period
            continue
        if name in ("from", "to"):
            if period == Period.CUSTOM and (data.get(name) or "").strip():
                yield name, data[name].strip()
            continue
        value = data.get(name)
        if name == "tab" and value == Tab.ALL:
            continue
        if isinstance(value, list):
            yield from ((name, item) for item in value)
        elif value:
            yield name, str(value).strip()


def normalise_query(query: str, *, access: Access) -> tuple[str, dict[str, list[str]]]:
    """A query string reduced to its valid filter parameters (for saved views)."""
    filters, errors, _form = parse_filters(QueryDict(query), access=access)
    return filters.query(), errors


# --------------------------------------------------------------------------- querying


def filtered(qs: QuerySet[Transaction], filters: ListFilters, *, tab: bool = True) -> QuerySet[Transaction]:
    """Every filter except the search text."""
    if filters.since:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.changed_since:
        qs = qs.filter(changed_at__gte=filters.changed_since)
    if filters.store_ids:
        qs = qs.filter(store_id__in=filters.store_ids)
    if filters.terminal_pks:
        qs = qs.filter(terminal_id__in=filters.terminal_pks)
    if filters.methods:
        qs = qs.filter(payment_method__in=filters.methods)
    if filters.types:
        qs = qs.filter(payment_type__in=filters.types)
    if filters.states:
        qs = qs.filter(state__in=filters.states)
    if filters.return_codes:
        qs = qs.filter(return_code__in=filters.return_codes)
    if filters.amount_min is not None:
        qs = qs.filter(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        qs = qs.filter(amount__lte=filters.amount_max)
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.settlement:
        qs = _by_settlement(qs, filters.settlement)
    if tab and filters.tab in TAB_STATES:
        qs = qs.filter(state__in=TAB_STATES[filters.tab])
    return qs


_settlement_filter: Callable[[QuerySet[Transaction], str], QuerySet[Transaction]] | None = None


def register_settlement_filter(fn: Callable[[QuerySet[Transaction], str], QuerySet[Transaction]]) -> None:
    """Reconciliation decides where a transaction stands in the settlement files; it registers
    that filter here from its ``AppConfig.ready`` (payments never imports it)."""
    global _settlement_filter
    _settlement_filter = fn


def _by_settlement(qs: QuerySet[Transaction], value: str) -> QuerySet[Transaction]:
    if _settlement_filter is None:  # reconciliation not installed: nothing is settled
        return qs.none()
    return _settlement_filter(qs, value)


def matching(qs: QuerySet[Transaction], filters: ListFilters, *, tab: bool = True) -> QuerySet[Transaction]:
    """Every filter, the search text included (as one OR: for counts and membership tests)."""
    qs = filtered(qs, filters, tab=tab)
    search = filters.search
    if search is not None:
        qs = qs.filter(reduce(or_, search.branches()))
    return qs


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    pk: int
    forward: bool = True  # True: older rows than this one; False: newer

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // _MICRO
        signed = signing.Signer(salt=_CURSOR_SALT).sign(f"{'n' if self.forward else 'p'}{micros}.{self.pk}")
        return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not token or len(token) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("cursor")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            value = signing.Signer(salt=_CURSOR_SALT).unsign(raw)
            direction, micros, pk = value[0], *value[1:].split(".")
            if direction not in "np":
                raise ValueError(direction)
            return cls(created_at=_EPOCH + int(micros) * _MICRO, pk=int(pk), forward=direction == "n")
        except (binascii.Error, UnicodeError, signing.BadSignature, ValueError, OverflowError, IndexError):
            raise InvalidCursor("cursor") from None

    @classmethod
    def after(cls, txn: Transaction) -> Cursor:
        return cls(created_at=txn.created_at, pk=txn.pk, forward=True)

    @classmethod
    def before(cls, txn: Transaction) -> Cursor:
        return cls(created_at=txn.created_at, pk=txn.pk, forward=False)


def _position(qs: QuerySet[Transaction], cursor: Cursor | None) -> QuerySet[Transaction]:
    if cursor is None:
        return qs.order_by("-created_at", "-id")
    at, pk = cursor.created_at, cursor.pk
    if cursor.forward:
        # The redundant ``created_at <= at`` is what lets the index seek straight to the cursor.
        qs = qs.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
        return qs.order_by("-created_at", "-id")
    qs = qs.filter(created_at__gte=at).filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=pk))
    return qs.order_by("created_at", "id")


@dataclass
class Page:
    rows: list[Transaction]
    next_cursor: str | None
    prev_cursor: str | None
    size: int

    @property
    def is_first(self) -> bool:
        return self.prev_cursor is None


# Large JSON columns no list row, live update or API list item shows: not fetched, not decoded.
LIST_DEFERRED = ("last_payload", "qr_purchase", "mit_schedule")


def transaction_page(
    *, access: Access, filters: ListFilters, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page:
    """One page of the list, newest first, at ``cursor`` (None: the first page)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    base = filtered(selectors.transaction_list(access=access), filters).defer(*LIST_DEFERRED)
    search = filters.search
    if search is None:
        rows = list(_position(base, cursor)[: size + 1])
    else:
        # Each kind of match on its own index, in list order and limited; merged here.
        keys: set[tuple[datetime, int]] = set()
        for branch in search.branches():
            keys.update(_position(base.filter(branch), cursor).values_list("created_at", "id")[: size + 1])
        forward = cursor is None or cursor.forward
        wanted = sorted(keys, reverse=forward)[: size + 1]
        by_pk = {t.pk: t for t in base.filter(pk__in=[pk for _at, pk in wanted])}
        rows = [by_pk[pk] for _at, pk in wanted if pk in by_pk]
    more = len(rows) > size
    rows = rows[:size]
    if cursor is not None and not cursor.forward:
        rows.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = cursor is not None, more
    return Page(
        rows=rows,
        next_cursor=Cursor.after(rows[-1]).encode() if rows and has_older else None,
        prev_cursor=Cursor.before(rows[0]).encode() if rows and has_newer else None,
        size=size,
    )


@dataclass(frozen=True)
class TabCount:
    key: str
    label: str
    count: int
    capped: bool


def tab_counts(*, access: Access, filters: ListFilters, cap: int = COUNT_CAP) -> list[TabCount]:
    """How many rows each tab holds under the other filters, counting at most ``cap + 1``."""
    base = matching(selectors.transaction_list(access=access), filters, tab=False).order_by()
    counts = []
    for tab in Tab:
        qs = base if tab == Tab.ALL else base.filter(state__in=TAB_STATES[tab])
        n = qs.values("pk")[: cap + 1].count()
        counts.append(TabCount(key=tab.value, label=str(tab.label), count=min(n, cap), capped=n > cap))
    return counts


# --------------------------------------------------------------------------- live


def live_token(since: datetime) -> str:
    micros = (since - _EPOCH) // _MICRO
    return signing.Signer(salt=_LIVE_SALT, sep=".").sign(str(micros))


def live_since(token: str) -> datetime:
    if not token or len(token) > 100:
        raise InvalidCursor("since")
    try:
        micros = int(signing.Signer(salt=_LIVE_SALT, sep=".").unsign(token))
        return _EPOCH + micros * _MICRO
    except (signing.BadSignature, ValueError, OverflowError):
        raise InvalidCursor("since") from None


def live_start_token(now: datetime | None = None) -> str:
    """The token a freshly rendered list starts polling with."""
    return live_token((now or timezone.now()) - LIVE_OVERLAP)


@dataclass
class LiveBatch:
    rows: list[Transaction]
    # Of ``rows``, those that match the list's filters and search.
    matching_pks: set[int]
    token: str
    more: bool


def live_changes(*, access: Access, filters: ListFilters, token: str, limit: int = LIVE_LIMIT) -> LiveBatch:
    """Rows written since ``token`` (store limits applied), at most ``limit``, oldest change
    first; which of them match the filters; and the token for the next call."""
    since = live_since(token)
    started = timezone.now()
    scoped = selectors.transaction_list(access=access)
    rows = list(scoped.filter(changed_at__gt=since).defer(*LIST_DEFERRED).order_by("changed_at", "id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    # Checked on the rows in hand: a second query "which of these pks match" would let the
    # planner pick a filter's index (every paid row, say) over the handful of pks.
    matched = {t.pk for t in rows if filters.matches(t)}
    if filters.settlement and matched:  # not on the row itself: one query over these pks
        matched = set(_by_settlement(scoped.filter(pk__in=matched), filters.settlement).values_list("pk", flat=True))
    # A full batch resumes where it stopped; otherwise a little behind the clock (commit lag).
    next_since = rows[-1].changed_at if more else max(since, started - LIVE_OVERLAP)
    return LiveBatch(rows=rows, matching_pks=matched, token=live_token(next_since), more=more)


def row_key(txn: Transaction) -> int:
    """The row's place in the list as one number (microseconds since 1970; ids break ties
    client-side): larger is newer."""
    return (txn.created_at - _EPOCH) // _MICRO


def row_version(txn: Transaction) -> str:
    return str((txn.changed_at - _EPOCH) // _MICRO)


__all__ = [
    "COUNT_CAP",
    "PAGE_SIZE",
    "Cursor",
    "InvalidCursor",
    "ListFilterForm",
    "ListFilters",
    "LiveBatch",
    "Page",
    "Period",
    "Search",
    "Tab",
    "TabCount",
    "live_changes",
    "live_start_token",
    "matching",
    "parse_amount",
    "parse_filters",
    "tab_counts",
    "transaction_page",
]
