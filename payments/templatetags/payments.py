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

from django import template
from django.utils.html import format_html
from django.utils.translation import pgettext

from common.dates import lisbon, lisbon_iso
from common.money import format_money, to_decimal
from payments.models import TransactionState

register = template.Library()


@register.filter(name="money")
def money(value, currency="EUR"):
    return format_money(value, currency)


@register.filter(name="money_out")
def money_out(value, currency="EUR"):
    """Money going back to the customer (a refund): the amount as a negative figure."""
    number = to_decimal(value)
    return format_money(-abs(number) if number is not None else None, currency)


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


def partially_captured(txn) -> bool:
    """An authorisation paid for part of its amount, the rest still capturable: "Paid" would read
    as complete. From the row's own balances, so a list costs no extra query."""
    if getattr(txn, "state", None) != TransactionState.PAID or getattr(txn, "payment_type", "") != "AUTH":
        return False
    authorised = getattr(txn, "authorised_amount", None) or 0
    captured = getattr(txn, "captured_amount", None) or 0
    cancelled = getattr(txn, "cancelled_amount", None) or 0
    return 0 < captured < authorised - cancelled


@register.simple_tag(name="state_badge")
def state_badge_tag(txn):
    state = _state_of(txn)
    if partially_captured(txn):
        return format_html(
            '<span class="badge state info" data-state="{}" data-partial="captured">{}</span>',
            state,
            pgettext("transaction state", "Partially captured"),
        )
    return format_html(
        '<span class="badge state {}" data-state="{}">{}</span>', state_tone(state), state, _state_label(state)
    )


@register.filter(name="state_badge")
def state_badge_filter(txn):
    return state_badge_tag(txn)


register.filter("lisbon", lisbon)
register.filter("lisbon_iso", lisbon_iso)


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
