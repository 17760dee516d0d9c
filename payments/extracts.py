"""The transactions dataset of the export engine (``extracts``).

The file holds exactly the rows the transaction list shows for the same query string: the
filters are parsed by the list's own parser (``payments.selectors.listing.parse_filters``) and the rows
selected by its own query (``listing.matching``, the list's filters and search), scoped by
the same selector, so store limits hold in files as on screen.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from django.db.models import Case, DecimalField, F, Func, IntegerField, OuterRef, Subquery, Sum, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, Replace, Upper
from django.db.models.lookups import In
from django.utils.translation import gettext_lazy as _

from backoffice.roles import Capability
from common.money import _MINOR_UNITS, DEFAULT_MINOR_UNITS, minor_units
from extracts.registry import Column, Dataset, Kind, register
from payments import selectors
from payments.models import HELD_STATES, MONEY, OperationKind, PaymentOperation, TransactionState
from payments.selectors import listing
from payments.sibs.enums import PaymentMethod, PaymentType

ZERO = Decimal(0)


@lru_cache(maxsize=64)
def _quantum(currency: str | None) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency or "EUR"))


def _money(amount, currency):
    """Exact, with the currency's decimals (16.2 EUR → 16.20; 1.25 BHD → 1.250)."""
    return None if amount is None else amount.quantize(_quantum(currency))


def _refundable(captured, refunded, held, currency):
    return _money(max(ZERO, (captured or ZERO) - (refunded or ZERO) - (held or ZERO)), currency)


def _text(value):
    return None if value is None else str(value)


def _labels(choices):
    def make():
        return {value: str(label) for value, label in choices}

    return make


def _held_refunds():
    held = (
        PaymentOperation.objects.filter(original_id=OuterRef("pk"), kind=OperationKind.REFUND, state__in=HELD_STATES)
        .order_by()
        .values("original_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(held), Value(ZERO), output_field=DecimalField(**MONEY))


def _decimals_sql():
    """The currency's decimals, as ``minor_units`` says, in SQL."""
    by_places: dict[int, list[str]] = {}
    for code, places in _MINOR_UNITS.items():
        if places != DEFAULT_MINOR_UNITS:
            by_places.setdefault(places, []).append(code)
    # Upper-cased like minor_units() does.
    currency = Upper("currency")
    whens = [When(In(currency, sorted(codes)), then=Value(places)) for places, codes in sorted(by_places.items())]
    return Case(*whens, default=Value(DEFAULT_MINOR_UNITS), output_field=IntegerField())


def _money_sql(amount):
    """Money as the Python path writes it: rounded to the currency's decimals, with a decimal
    point (``csv``) or comma (``csv_pt``). Stored amounts never have more decimals than their
    currency (the parser quantises them), so no rounding rule ever comes into play."""

    def build(fmt: str):
        rounded = Func(amount, _decimals_sql(), function="round", output_field=DecimalField(**MONEY))
        text = Cast(rounded, TextField())
        return Replace(text, Value("."), Value(","), output_field=TextField()) if fmt == "csv_pt" else text

    return build


def _money_column(key: str, label, field: str) -> Column:
    return Column(key, label, Kind.MONEY, (field, "currency"), value=_money, sql=_money_sql(F(field)))


COLUMNS = (
    Column("transaction_id", _("SIBS transaction id"), Kind.TEXT, ("transaction_id",)),
    Column("merchant_transaction_id", _("Order id (merchantTransactionId)"), Kind.TEXT, ("merchant_transaction_id",)),
    Column("internal_transaction_id", _("Internal id"), Kind.TEXT, ("internal_transaction_id",)),
    Column("transaction_datetime", _("SIBS date"), Kind.DATETIME, ("transaction_datetime",)),
    Column("created_at", _("First received"), Kind.DATETIME, ("created_at",)),
    Column("store", _("Store"), Kind.TEXT, ("store__name",)),
    Column("terminal", _("Terminal"), Kind.INTEGER, ("terminal_number",)),
    Column("method", _("Method"), Kind.TEXT, ("payment_method",), make_value=_labels(PaymentMethod.choices)),
    Column("type", _("Type"), Kind.TEXT, ("payment_type",), make_value=_labels(PaymentType.choices)),
    Column("status", _("Status"), Kind.TEXT, ("state",), make_value=_labels(TransactionState.choices)),
    Column("sibs_status", _("SIBS status"), Kind.TEXT, ("payment_status",)),
    Column("return_code", _("Return code"), Kind.TEXT, ("return_code",)),
    Column("return_message", _("Return message"), Kind.TEXT, ("return_message",)),
    _money_column("amount", _("Amount"), "amount"),
    Column("currency", _("Currency"), Kind.TEXT, ("currency",)),
    _money_column("authorised_amount", _("Authorised"), "authorised_amount"),
    _money_column("captured_amount", _("Captured"), "captured_amount"),
    _money_column("refunded_amount", _("Refunded"), "refunded_amount"),
    _money_column("cancelled_amount", _("Cancelled"), "cancelled_amount"),
    Column(
        "refundable_amount",
        _("Refundable"),
        Kind.MONEY,
        ("captured_amount", "refunded_amount", "extract_held_refunds", "currency"),
        value=_refundable,
        sql=_money_sql(
            Greatest(
                Value(ZERO),
                F("captured_amount") - F("refunded_amount") - F("extract_held_refunds"),
                output_field=DecimalField(**MONEY),
            )
        ),
        annotations={"extract_held_refunds": _held_refunds()},
    ),
    Column("reference_entity", _("MULTIBANCO entity"), Kind.TEXT, ("reference_entity",)),
    Column("reference_number", _("MULTIBANCO reference"), Kind.TEXT, ("reference_number",)),
    Column("reference_expiry", _("Reference expiry"), Kind.DATETIME, ("reference_expiry",)),
    Column("mbway_phone", _("MB WAY phone (masked)"), Kind.TEXT, ("mbway_alias_masked",)),
    Column("token_type", _("Token type"), Kind.TEXT, ("token_type",)),
    Column("qr_product", _("QR Code Express product"), Kind.TEXT, ("qr_purchase__product__productName",), value=_text),
    Column(
        "qr_quantity",
        _("QR Code Express quantity"),
        Kind.TEXT,
        ("qr_purchase__product__productQuantity",),
        value=_text,
    ),
    Column("original_transaction_id", _("Original transaction"), Kind.TEXT, ("original_transaction_ref",)),
)

OPERATIONS = (
    "created_at",
    "transaction_id",
    "merchant_transaction_id",
    "store",
    "terminal",
    "method",
    "type",
    "status",
    "amount",
    "currency",
    "return_code",
    "return_message",
)
FINANCE = (
    "transaction_datetime",
    "created_at",
    "transaction_id",
    "merchant_transaction_id",
    "store",
    "terminal",
    "method",
    "type",
    "status",
    "amount",
    "currency",
    "authorised_amount",
    "captured_amount",
    "refunded_amount",
    "cancelled_amount",
    "refundable_amount",
    "reference_entity",
    "reference_number",
    "original_transaction_id",
)


def parse(params, *, access, now=None, choices: bool = True):
    return listing.parse_filters(params, access=access, now=now, choices=choices)


def queryset(*, access, filters, since, until):
    qs = listing.matching(selectors.transaction_list(access=access), filters)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    qs = qs.filter(created_at__lt=until)
    # The list's order: newest first, ties by id.
    return qs.order_by("-created_at", "-id")


def bounds(filters):
    return filters.since, filters.until


def describe(filters) -> str:
    return filters.query()


def register_dataset() -> Dataset:
    return register(
        Dataset(
            key="transactions",
            label=_("Transactions"),
            capability=Capability.EXPORT_TRANSACTIONS,
            columns=COLUMNS,
            presets={
                "operations": (_("Operations"), OPERATIONS),
                "finance": (_("Finance"), FINANCE),
                "everything": (_("Everything"), tuple(c.key for c in COLUMNS)),
            },
            parse=parse,
            queryset=queryset,
            bounds=bounds,
            describe=describe,
            order=0,
        )
    )
