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


class MoneyInputError(ValueError):
    """Text that is not an amount; ``code`` says why (``not_a_number``, ``too_many_decimals``)."""

    def __init__(self, code: str, places: int = 2):
        super().__init__(code)
        self.code = code
        self.places = places


_SPACES = (" ", NBSP, NNBSP, "\u2009", "'")


def parse_money(text, currency: str | None = "EUR", *, typed: bool = True) -> Decimal | None:
    """An amount typed by a person, in either language's way of writing it: ``84,51``,
    ``84.51``, ``1.234,56``, ``1 234,56``, ``1,234.56``, ``€ 30,50``, ``30,50 €``. None when
    empty. Raises :class:`MoneyInputError` for anything else, or more decimals than the
    currency has. The sign is kept: callers decide whether a negative amount makes sense.

    With a single kind of separator, a comma is the decimal mark (Portuguese); a dot is too,
    unless it is followed by exactly three digits in a currency with fewer decimals
    (``1.234`` in euros is a thousand two hundred and thirty-four, as a Portuguese writes it).
    That reading is for what people type (``typed=True``); for machines (the API, files),
    ``typed=False`` takes a single dot as the decimal mark always, so ``"1.234"`` is refused in
    euros rather than read as a thousand.
    """
    places = minor_units(currency)
    if text is None:
        return None
    if isinstance(text, bool):
        raise MoneyInputError("not_a_number", places)
    if isinstance(text, int | Decimal):
        number = to_decimal(text)
        if number is None:
            raise MoneyInputError("not_a_number", places)
        return _fit(number, places)
    if isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str):
        raise MoneyInputError("not_a_number", places)
    cleaned = text.strip()
    if not cleaned:
        return None
    code = (currency or "").upper()
    # The currency's symbol or code, before or after the number (never inside it).
    for symbol in sorted({code, SYMBOLS.get(code, ""), EN_SYMBOLS.get(code, "").strip(), "€"} - {""}, key=len)[::-1]:
        if cleaned.startswith(symbol):
            cleaned = cleaned[len(symbol) :].strip()
        elif cleaned.endswith(symbol):
            cleaned = cleaned[: -len(symbol)].strip()
    for space in _SPACES:
        cleaned = cleaned.replace(space, "")
    sign = ""
    if cleaned[:1] in "-+\u2212":
        sign, cleaned = ("-" if cleaned[0] in "-\u2212" else ""), cleaned[1:]
    if not cleaned or any(ch not in "0123456789.," for ch in cleaned):
        raise MoneyInputError("not_a_number", places)
    last_comma, last_dot = cleaned.rfind(","), cleaned.rfind(".")
    if last_comma >= 0 and last_dot >= 0:
        decimal_mark = "," if last_comma > last_dot else "."
    elif last_comma >= 0:
        decimal_mark = "," if cleaned.count(",") == 1 else ""
    elif last_dot >= 0:
        after = len(cleaned) - last_dot - 1
        single = cleaned.count(".") == 1
        if not typed and not single:
            raise MoneyInputError("not_a_number", places)
        decimal_mark = "." if single and not (typed and after == 3 and places < 3) else ""
    else:
        decimal_mark = ""
    if decimal_mark:
        integer, fraction = cleaned[: cleaned.rfind(decimal_mark)], cleaned[cleaned.rfind(decimal_mark) + 1 :]
    else:
        integer, fraction = cleaned, ""
    grouping = "." if decimal_mark == "," else ","
    if decimal_mark == "":
        grouping = "." if "." in integer else ","
    groups = integer.split(grouping) if grouping in integer else [integer]
    if len(groups) > 1 and (not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise MoneyInputError("not_a_number", places)
    digits = "".join(groups)
    if not digits.isdigit() or (fraction and not fraction.isdigit()) or (decimal_mark and not fraction):
        raise MoneyInputError("not_a_number", places)
    return _fit(Decimal(f"{sign}{digits}.{fraction or '0'}"), places)


def _fit(number: Decimal, places: int) -> Decimal:
    if not number.is_finite():
        raise MoneyInputError("not_a_number", places)
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum, rounding=ROUND_HALF_UP):
        raise MoneyInputError("too_many_decimals", places)
    return number.quantize(quantum)


def money_input(value, currency: str | None = "EUR", language: str | None = None) -> str:
    """An amount as it is pre-filled in a form field for the active language, without symbol or
    grouping, so the person can edit it: ``84,51`` in Portuguese, ``84.51`` in English."""
    number = to_decimal(value)
    if number is None:
        return ""
    text = f"{number.quantize(Decimal(1).scaleb(-minor_units(currency or 'EUR'))):f}"
    lang = (language or translation.get_language() or "en").split("-")[0].lower()
    return text.replace(".", ",") if lang == "pt" else text
