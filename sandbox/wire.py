"""Wire details of the simulated gateway: identifiers, money, dates, JSON in and out.

No models and no Django request objects here, so the drivers of ``simulate_traffic`` and the
views share exactly one way to read and write SIBS-shaped JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

MAX_BODY_BYTES: Final = 64 * 1024
MAX_DEPTH: Final = 20
MAX_AMOUNT: Final = Decimal("999999.99")
MAX_MERCHANT_TX_ID: Final = 64
CENT: Final = Decimal("0.01")

_ALNUM = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- identifiers


def new_transaction_id() -> str:
    """A SIBS-style ``transactionID``: 20 characters starting ``s2`` (e.g. ``s2bfw1g1P1siCSUjVPP8``)."""
    return "s2" + "".join(secrets.choice(_ALNUM) for _ in range(18))


def new_qrcode_transaction_id() -> str:
    """Static QR code purchases carry ids like ``3W005000159764`` in the SIBS examples."""
    return "3W" + "".join(secrets.choice(string.digits) for _ in range(12))


def new_internal_transaction_id() -> str:
    """``internalTransactionId``: ``S`` + 14 digits + ``S`` (``S14073500001359S``)."""
    return "S" + "".join(secrets.choice(string.digits) for _ in range(14)) + "S"


def new_card_token() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(20))


def new_reference() -> str:
    """A 9-digit MULTIBANCO reference (no leading zero, like the printed ones)."""
    return str(secrets.randbelow(9) + 1) + "".join(secrets.choice(string.digits) for _ in range(8))


def new_signature(transaction_id: str, *, terminal_id: int, merchant_code: int) -> str:
    """An opaque ``transactionSignature`` shaped like the observed ones:
    Base64 JSON ``{"txId", "mc", "tc"}`` . Base64 . Base64 (PROTOCOL.md §2.2)."""
    head = json.dumps({"txId": transaction_id, "mc": merchant_code, "tc": terminal_id}, separators=(",", ":"))
    parts = [head.encode(), secrets.token_bytes(32), secrets.token_bytes(48)]
    return ".".join(base64.b64encode(part).decode("ascii") for part in parts)


def signature_hash(signature: str) -> str:
    return hashlib.sha256(signature.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- dates


def iso_millis(moment: datetime) -> str:
    """``2026-02-12T19:08:08.354Z``: UTC, milliseconds, ``Z`` — what SIBS answers with."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime) -> str:
    """``2026-03-12T10:48:44Z`` (the DOC-QLY notification examples)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object) -> datetime | None:
    """A request's ISO-8601 date-time, aware; ``None`` if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    # Python < 3.11 only reads 3 or 6 fractional digits; SIBS samples show 7 ("...31.4095147+00:00").
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- money


class AmountError(ValueError):
    pass


def parse_money(value: object, *, allow_zero: bool = False) -> Decimal:
    """A request amount: a JSON number or a numeric string, at most two decimals, positive.

    Over-precise amounts (``10.005``) are refused rather than rounded: silently changing money is
    worse than a clear 400.
    """
    if isinstance(value, bool) or value is None:
        raise AmountError("must be a number")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}(\.\d+)?\s*", value):
        number = Decimal(value.strip())
    else:
        raise AmountError("must be a number")
    if not number.is_finite():
        raise AmountError("must be a finite number")
    if number < 0:
        raise AmountError("must not be negative")
    if number == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    if number > MAX_AMOUNT:
        raise AmountError(f"must not exceed {MAX_AMOUNT}")
    try:
        quantized = number.quantize(CENT)
    except InvalidOperation:
        raise AmountError("is not a valid amount") from None
    if quantized != number:
        raise AmountError("must have at most two decimal places")
    return quantized


def money_text(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def money_shortest(value: Decimal) -> Decimal:
    """``15.90`` -> ``15.9``, ``20.00`` -> ``20`` (the DOC-QLY way of writing amounts)."""
    normal = Decimal(value).quantize(CENT).normalize()
    # normalize() writes 20 as 2E+1; bring it back to a plain integer exponent.
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


# --------------------------------------------------------------------------- JSON


class JsonError(ValueError):
    """The body is not a JSON object we can take. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: object, limit: int) -> int:
    stack: list[tuple[object, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def load_body(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """Decode a request body into a dict: numbers with fractions become ``Decimal``."""
    if len(raw) > MAX_BODY_BYTES:
        raise JsonError(f"request body is larger than {MAX_BODY_BYTES} bytes", status=413)
    if not raw.strip():
        if allow_empty:
            return {}
        raise JsonError("request body is empty; a JSON object is expected")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise JsonError("request body is not valid UTF-8") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise JsonError(f"request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise JsonError(f"request body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise JsonError("request body must be a JSON object")
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise JsonError(f"request body is nested deeper than {MAX_DEPTH} levels")
    return data


_MARKER = "\x00" + secrets.token_hex(8) + ":"
_MARKED = re.compile(r'"\\u0000' + _MARKER[1:] + r'(-?\d+(?:\.\d+)?)\\u0000"')


def _mark_numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARKER}{value:f}\x00"
    if isinstance(value, Mapping):
        return {key: _mark_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_numbers(item) for item in value]
    return value


def dumps(obj: Any) -> str:
    """JSON with every ``Decimal`` written as a JSON *number* exactly as it is (``5.50`` stays
    ``5.50``): the standard encoder would go through float or refuse. The per-process random
    marker means no string in a request can smuggle itself out as a number."""
    text = json.dumps(_mark_numbers(obj), ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(lambda match: match.group(1), text)


def money(value: Decimal) -> Decimal:
    """An amount as answered: a JSON number with two decimals."""
    return Decimal(value).quantize(CENT)


def amount_object(value: Decimal, currency: str) -> dict[str, Any]:
    return {"value": money(value), "currency": currency}


def plain(value: Any) -> Any:
    """A decoded body back to plain JSON types, for JSONField storage (Decimal -> str kept exact)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
