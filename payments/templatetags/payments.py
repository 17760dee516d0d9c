"""Template helpers for payments pages: money, state badges and Lisbon times.

Load with ``{% load payments %}``.

- ``{{ amount|money:currency }}`` formats an amount for the active language: Portuguese gives
  ``1 234,56 €`` (narrow no-break space between thousands, no-break space before the symbol),
  English ``€1,234.56``. ``None`` (or anything that is not a number) gives ``—``.
- ``{% state_badge txn %}`` (or ``{{ txn|state_badge }}``) is the transaction's state as a
  coloured badge that always carries its text, never colour alone.
- ``{{ dt|lisbon }}`` is a datetime in Europe/Lisbon with the zone shown (``22/11/2026 14:03:12 WET``).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone, translation
from django.utils.html import format_html

from payments.models import TransactionState
from payments.sibs.notification import minor_units

register = template.Library()

LISBON = ZoneInfo("Europe/Lisbon")
DASH = "—"
NNBSP = "\u202f"  # narrow no-break space: Portuguese thousands separator
NBSP = "\u00a0"  # no-break space: between a Portuguese amount and its symbol

SYMBOLS = {"EUR": "€", "USD": "US$", "GBP": "£", "BRL": "R$", "CHF": "CHF", "JPY": "¥"}
EN_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "BRL": "R$", "CHF": "CHF ", "JPY": "¥"}


def _to_decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_money(value, currency: str | None = "EUR", language: str | None = None) -> str:
    """``value`` in ``currency`` for ``language`` (the active one by default)."""
    number = _to_decimal(value)
    if number is None:
        return DASH
    code = (currency or "").strip().upper()[:3]
    places = minor_units(code or None)
    try:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds
        return DASH
    negative = number < 0
    integer, _, fraction = f"{abs(number):f}".partition(".")
    lang = (language or translation.get_language() or "en").split("-")[0].lower()
    sign = "-" if negative else ""
    if lang == "pt":
        text = _group(integer, NNBSP) + ("," + fraction if fraction else "")
        symbol = SYMBOLS.get(code, code)
        return f"{sign}{text}{NBSP}{symbol}" if symbol else f"{sign}{text}"
    text = _group(integer, ",") + ("." + fraction if fraction else "")
    symbol = EN_SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{code}{NBSP}{text}" if code else f"{sign}{text}"
    return f"{sign}{symbol}{text}"


@register.filter(name="money")
def money(value, currency="EUR"):
    return format_money(value, currency)


# Colour of each state: ok (green), warn (amber), bad (red), info (blue-grey).
STATE_TONES = {
    TransactionState.PAID: "ok",
    TransactionState.SUCCEEDED: "ok",
    TransactionState.AUTHORISED: "ok",
    TransactionState.PENDING: "warn",
    TransactionState.AWAITING_PAYMENT: "warn",
    TransactionState.UNKNOWN: "warn",
    TransactionState.PARTIALLY_REFUNDED: "info",
    TransactionState.REFUNDED: "info",
    TransactionState.CANCELLED: "bad",
    TransactionState.DECLINED: "bad",
    TransactionState.FAILED: "bad",
    TransactionState.EXPIRED: "bad",
}


def state_tone(state: str | None) -> str:
    return STATE_TONES.get(state or "", "warn")


def _state_of(obj) -> str:
    return str(getattr(obj, "state", obj) or "")


def _state_label(state: str) -> str:
    try:
        return str(TransactionState(state).label)
    except ValueError:
        return state or str(TransactionState.UNKNOWN.label)


@register.simple_tag(name="state_badge")
def state_badge_tag(txn):
    state = _state_of(txn)
    return format_html(
        '<span class="badge state {}" data-state="{}">{}</span>', state_tone(state), state, _state_label(state)
    )


@register.filter(name="state_badge")
def state_badge_filter(txn):
    return state_badge_tag(txn)


@register.filter(name="lisbon")
def lisbon(value, with_seconds=True):
    """A datetime in Europe/Lisbon with its zone abbreviation (WET / WEST); a date as dd/mm/yyyy."""
    if value is None or value == "":
        return DASH
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        local = value.astimezone(LISBON)
        pattern = "%d/%m/%Y %H:%M:%S %Z" if with_seconds else "%d/%m/%Y %H:%M %Z"
        return local.strftime(pattern)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return DASH


@register.filter(name="lisbon_iso")
def lisbon_iso(value):
    """Machine-readable form for ``<time datetime=…>``."""
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return value.astimezone(LISBON).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return ""


def _enum_label(choices, value) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@register.filter(name="payment_type_label")
def payment_type_label(value) -> str:
    """``RFND`` → "Refund"; unknown codes as they came."""
    from payments.sibs.enums import PaymentType

    return _enum_label(PaymentType, value)


@register.filter(name="payment_method_label")
def payment_method_label(value) -> str:
    """``MBWAY`` → "MB WAY"; unknown methods as they came."""
    from payments.sibs.enums import PaymentMethod

    return _enum_label(PaymentMethod, value)
