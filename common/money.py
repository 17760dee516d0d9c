"""Money for people and for machines, in one place below the apps.

- :func:`minor_units`: the decimals of a currency (ISO 4217), 2 when unknown;
- :func:`format_money`: an amount for the active language (Portuguese ``1 234,56 €``, with a
  narrow no-break space between thousands and a no-break space before the symbol; English
  ``€1,234.56``); ``None`` or anything that is not a number gives ``—``;
- :func:`money_text`: an amount as the API writes it (``"12.50"``; ``"1.250"`` in BHD).

The template filters (``{{ amount|money:currency }}``), the services' sentences and the API all
use these, so an amount reads the same everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from django.utils import translation

DASH = "—"
NNBSP = "\u202f"  # narrow no-break space: Portuguese thousands separator
NBSP = "\u00a0"  # no-break space: between a Portuguese amount and its symbol

# ISO 4217 minor units for currencies SIBS processes or may plausibly send. Anything else is
# assumed to have 2, the overwhelmingly common case.
_MINOR_UNITS: Final[dict[str, int]] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "PLN": 2,
    "RON": 2,
    "CZK": 2,
    "HUF": 2,
    "BGN": 2,
    "DKK": 2,
    "SEK": 2,
    "NOK": 2,
    "BRL": 2,
    "AOA": 2,
    "MZN": 2,
    "CVE": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "XOF": 0,
    "XAF": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "LYD": 3,
    "IQD": 3,
}
DEFAULT_MINOR_UNITS: Final = 2


def minor_units(currency: str | None) -> int:
    """Decimal places of ``currency`` (ISO 4217), 2 when unknown or absent."""
    if currency is None:
        return DEFAULT_MINOR_UNITS
    return _MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)


def to_decimal(value) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def money_text(value, currency: str | None = "EUR") -> str | None:
    """An amount as the API writes it everywhere: a string with its currency's decimals
    ("12.50" in EUR, "1.250" in BHD); None stays None."""
    if value is None:
        return None
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-minor_units(currency or 'EUR'))):f}"


SYMBOLS = {"EUR": "€", "USD": "US$", "GBP": "£", "BRL": "R$", "CHF": "CHF", "JPY": "¥"}
EN_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "BRL": "R$", "CHF": "CHF ", "JPY": "¥"}


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_money(value, currency: str | None = "EUR", language: str | None = None) -> str:
    """``value`` in ``currency`` for ``language`` (the active one by default)."""
    number = to_decimal(value)
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
