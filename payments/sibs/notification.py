"""Lenient parser for SIBS Gateway v2 notifications and status responses.

The decrypted webhook payload (PROTOCOL.md §1.5) and the ``GET /payments/{id}/status`` answer
(§2.6) share one shape. Real payloads disagree with each other and with the docs (§5), so this
parser accepts every quirk seen in the wild and turns it into one typed form:

* ``amount.value`` as a string (``"16.20"``) or a JSON number (``15.9``) -> ``Decimal``, never
  through ``float``: bytes/str input is decoded with ``parse_float=Decimal``; floats in an
  already-decoded dict go through their shortest ``repr`` (``15.9`` -> ``Decimal("15.9")``);
* ``merchant.terminalId`` as ``"99978"`` or ``99978`` -> ``int``;
* ``transactionDateTime`` with a trailing space, with or without fractional seconds, with ``Z``,
  an offset or nothing (SIBS means UTC) -> aware UTC ``datetime``;
* ``merchant.inApp`` as ``"false"`` or ``false`` -> ``bool``;
* ``paymentReference.expiryDate`` (webhooks) and ``expireDate`` (synchronous responses);
* ``merchant.transactionId`` missing (static QR code purchases), ``notificationID`` with a
  trailing space (stripped; :attr:`Notification.raw_notification_id` keeps the original for the
  acknowledgement echo);
* unknown fields never fail: unmodelled top-level keys land in ``extra`` and the whole decoded
  object is kept in ``raw`` — FENIX broke in production when SIBS added fields.

Decisions:

* **Amounts** are quantized to the currency's minor unit (``15.9`` -> ``15.90``). An amount with
  more significant decimals than the currency has (``16.205`` EUR) is *refused*, not rounded:
  silently changing money is worse than a visible error. Negative amounts, non-finite values,
  exponents in strings (``"1e400"``) and values of a trillion or more are refused too.
* **Strict where money or identity is at stake, lenient where it is cosmetic.** Ids, amounts,
  statuses and dates with an impossible type or value raise :class:`NotificationError`;
  cosmetic fields (``inApp``, ``merchantName``, mandate client name / expiry / limit, MIT dates)
  degrade to ``None`` and a message in ``warnings`` instead of blocking a payment.
* **Enum fields** keep unknown strings as they are (see :func:`payments.sibs.enums.coerce`).
* **Hostile input** (huge, deeply nested, NaN/Infinity, non-JSON types) raises
  :class:`NotificationError` with a code; nothing here lets a payload crash the caller with an
  unexpected exception type.

``raw`` is the decoded object: when parsed from text, JSON fractions are ``Decimal``. To store
the payload verbatim, keep the decrypted plaintext bytes rather than re-serialising ``raw``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Final

from backoffice.untrusted import clean_tree
from common.money import minor_units

from .enums import (
    AmountQualifier,
    MandateAction,
    MandateActionStatus,
    MandateType,
    MitType,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    ReferenceStatus,
    TokenType,
    coerce,
)

__all__ = [
    "MAX_AMOUNT",
    "MAX_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "FinancialOperation",
    "MbwayMandate",
    "MerchantInitiatedTransaction",
    "MitSchedule",
    "Notification",
    "NotificationError",
    "PaymentPayload",
    "PaymentReference",
    "ReturnStatus",
    "StatusResponse",
    "Token",
    "mask_token_value",
    "minor_units",
    "parse_amount",
    "parse_notification",
    "parse_sibs_datetime",
    "parse_status_response",
]

MAX_PAYLOAD_BYTES: Final = 1_000_000
"""Real notifications are about 1 KB; anything near a megabyte is not from SIBS."""
MAX_DEPTH: Final = 32
"""Nesting limit for the decoded object (real payloads nest 3 levels)."""
MAX_NODES: Final = 20_000
MAX_ID_LENGTH: Final = 255
"""Ids end up in indexed columns; SIBS's are 20-36 characters."""
MAX_ENUM_LENGTH: Final = 40
"""Enumeration values are stored in 40-character columns; SIBS's longest is 13."""
UNKNOWN_VALUE: Final = "unknown"
"""What an enumeration value too long to be real becomes (the payload keeps it as sent)."""
EARLIEST_DATETIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DATETIME: Final = datetime(2100, 1, 1, tzinfo=UTC)
"""Dates outside [2000, 2100) are not from a real payment: kept in the payload, flagged, never
used (year 1 or 9999 breaks every conversion to local time)."""
MAX_AMOUNT: Final = Decimal("1000000000000")
"""Exclusive upper bound: no real payment reaches a trillion in any currency SIBS handles."""


class NotificationError(ValueError):
    """A payload that cannot be turned into a :class:`Notification`/:class:`StatusResponse`.

    ``code`` is machine-readable: ``invalid_encoding``, ``too_large``, ``invalid_json``,
    ``not_an_object``, ``too_deep``, ``missing_field`` or ``invalid_field``. ``field`` is the
    dotted path of the offending field, when there is one. Messages never echo token values,
    aliases or IBANs.
    """

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnStatus:
    """``returnStatus``: ``000`` means "processed", not "paid" — look at ``paymentStatus``."""

    code: str | None
    message: str | None
    description: str | None

    @property
    def is_ok(self) -> bool:
        return self.code == "000"


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """``token``: an MB WAY phone alias (``MobilePhone``) or a card token (``Card``)."""

    type: TokenType | str | None
    # The value charges the customer again (card) or identifies them (phone): out of repr/logs.
    value: str | None = field(repr=False)
    masked_value: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentReference:
    """``paymentReference`` of a MULTIBANCO payment."""

    entity: str | None
    reference: str | None
    payment_entity: str | None
    amount: Decimal | None
    currency: str | None
    status: ReferenceStatus | str | None
    # ``expiryDate`` in webhooks, ``expireDate`` in synchronous responses.
    expiry: datetime | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MbwayMandate:
    """``mbwayMandate`` (MB WAY authorised payment events)."""

    mandate_id: str | None
    action: MandateAction | str | None
    action_status: MandateActionStatus | str | None
    mandate_type: MandateType | str | None
    client_name: str | None
    alias: str | None = field(repr=False)
    masked_alias: str | None
    # FENIX keeps only the first 10 characters (yyyy-MM-dd): the field is a date, sometimes
    # with junk after it.
    expiration_date: date | None
    amount_limit: Decimal | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MitSchedule:
    """``merchantInitiatedTransaction.schedule``. ``interval`` stays a raw string (``DAILY``…):
    its full list of values is not public."""

    initial_date: datetime | None
    final_date: datetime | None
    interval: str | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantInitiatedTransaction:
    """``merchantInitiatedTransaction`` (MIT charges and the CIT set-ups that allow them)."""

    type: MitType | str | None
    amount_qualifier: AmountQualifier | str | None
    validity_date: datetime | None
    schedule: MitSchedule | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FinancialOperation:
    """``financialOperation`` of a static QR code (QR Code Express) purchase, kept as dicts:
    its fields are free-form customer and product data we display, not interpret."""

    product: dict[str, Any]
    billing_info: dict[str, Any]
    expedition_info: dict[str, Any]
    extra: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class PaymentPayload:
    """Fields shared by notifications and status responses."""

    transaction_id: str | None
    merchant_transaction_id: str | None
    terminal_id: int | None
    merchant_name: str | None
    in_app: bool | None
    payment_status: PaymentStatus | str | None
    payment_method: PaymentMethod | str | None
    payment_type: PaymentType | str | None
    amount: Decimal | None
    currency: str | None
    transaction_datetime: datetime | None
    return_status: ReturnStatus | None
    internal_transaction_id: str | None
    token: Token | None
    payment_reference: PaymentReference | None
    mbway_mandate: MbwayMandate | None
    merchant_initiated_transaction: MerchantInitiatedTransaction | None
    financial_operation: FinancialOperation | None
    client_iban: str | None = field(repr=False)
    original_transaction_id: str | None
    extra: dict[str, Any]
    warnings: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Notification(PaymentPayload):
    """A decrypted SIBS webhook notification. ``notification_id`` and ``transaction_id`` are
    always present (stripped of surrounding whitespace)."""

    notification_id: str
    transaction_id: str

    @property
    def raw_notification_id(self) -> str:
        """``notificationID`` exactly as SIBS sent it — echo this one in the acknowledgement,
        in case SIBS compares it byte for byte (seed example 8 has a trailing space)."""
        value = self.raw.get("notificationID", self.raw.get("notificationId"))
        return value if isinstance(value, str) else self.notification_id


@dataclass(frozen=True, kw_only=True)
class StatusResponse(PaymentPayload):
    """The answer of ``GET /payments/{id}/status``. Error answers may carry only
    ``returnStatus``, so every field is optional here."""

    @property
    def is_ok(self) -> bool:
        return self.return_status is not None and self.return_status.is_ok


# --------------------------------------------------------------------------- helpers


def _show(value: object) -> str:
    """A short, safe rendering of an offending value for error messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _invalid(path: str, message: str) -> NotificationError:
    return NotificationError(f"{path}: {message}", code="invalid_field", field=path)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


class _Warnings:
    """Collects problems in cosmetic fields, which must not block a payment."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def mask_token_value(value: str | None) -> str | None:
    """Mask a token or phone alias for display: ``351#912345678`` -> ``351#*****5678``.

    The country code before ``#`` stays (it is not personal), as do the last 4 characters —
    enough for a customer or operator to recognise their phone or card token. Values of 4
    characters or fewer are masked entirely.
    """
    if value is None:
        return None
    prefix, sep, number = value.rpartition("#")
    head = prefix + sep
    if len(number) <= 4:
        return head + "*" * len(number)
    return head + "*" * (len(number) - 4) + number[-4:]


_AMOUNT_TEXT = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?")


def parse_amount(value: object, *, currency: str | None = "EUR", path: str = "amount.value") -> Decimal:
    """Turn a SIBS amount (``"16.20"``, ``15.9``, ``20``…) into a ``Decimal`` with exactly the
    currency's minor unit of decimals. Raises :class:`NotificationError` (``invalid_field``).
    """
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_TEXT.fullmatch(text):
            raise _invalid(path, f'{_show(value)} is not a plain decimal number like "16.20"')
        number = Decimal(text)
    elif isinstance(value, bool) or not _is_number(value):
        raise _invalid(path, f"expected a number or a numeric string, got {type(value).__name__}")
    elif isinstance(value, float):
        # repr gives the shortest string that round-trips, i.e. what the sender wrote: 15.9, not
        # 15.9000000000000003552713678800500929355621337890625.
        number = Decimal(repr(value))
    else:
        number = Decimal(value)  # int or Decimal: exact
    if not number.is_finite():
        raise _invalid(path, f"{_show(value)} is not a finite amount")
    if number < 0:
        raise _invalid(path, f"{_show(value)} is negative; SIBS amounts are never negative")
    if number >= MAX_AMOUNT:
        raise _invalid(path, f"{_show(value)} is out of range (must be below {MAX_AMOUNT})")
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as context:
        context.prec = 60
        try:
            quantized = number.quantize(quantum)
        except InvalidOperation:
            raise _invalid(path, f"{_show(value)} cannot be represented as an amount") from None
        if quantized != number:
            raise _invalid(
                path,
                f"{_show(value)} has more than {places} decimal places for "
                f"{currency or 'the default currency'}; refusing to round money",
            )
    if quantized == 0:
        quantized = quantum * 0  # normalise -0.00 to 0.00
    return quantized


_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,12}))?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)


def parse_sibs_datetime(value: object, *, path: str = "transactionDateTime") -> datetime:
    """Parse a SIBS date-time into an aware UTC ``datetime``.

    Accepts surrounding whitespace (DOC-PT examples end in a space), 0 to 12 fractional digits
    (truncated to microseconds: Java senders may use nanoseconds), ``Z``, ``±hh:mm``/``±hhmm``/
    ``±hh`` offsets or no zone at all — SIBS documents its times as UTC, so a naive value is
    taken as UTC. A bare date means midnight UTC. Raises :class:`NotificationError`.
    """
    if not isinstance(value, str):
        raise _invalid(path, f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise _invalid(path, f"{_show(value)} is not an ISO 8601 date-time")
    parts = match.groupdict()
    tz = UTC
    zone = parts["zone"]
    try:
        if zone and zone not in ("Z", "z"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            if hours > 23 or minutes > 59:
                raise ValueError("UTC offset out of range")
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=tz,
        )
    except (ValueError, OverflowError) as error:
        raise _invalid(path, f"{_show(value)} is not a valid date-time ({error})") from None
    try:
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        # Year 1 or 9999 moved across an offset leaves datetime's range: a real date, out of range.
        raise NotificationError(
            f"{path}: {_show(value)} is out of the range of dates", code="out_of_range", field=path
        ) from None


# --------------------------------------------------------------------------- loading


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_structure(obj: object) -> None:
    """Bound depth and size, and allow only JSON types, without recursion."""
    stack: list[tuple[object, int]] = [(obj, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise NotificationError(f"payload has more than {MAX_NODES} values", code="too_large")
        if isinstance(value, Mapping):
            children: Any = value.values()
            if any(not isinstance(key, str) for key in value):
                raise NotificationError("payload has a non-string object key", code="invalid_json")
        elif isinstance(value, list | tuple):
            children = value
        elif isinstance(value, float | Decimal):
            if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
                raise NotificationError("payload contains NaN or Infinity", code="invalid_json")
            continue
        elif value is None or isinstance(value, str | int | bool):
            continue
        else:
            raise NotificationError(
                f"payload contains a {type(value).__name__}, which is not a JSON type",
                code="invalid_json",
            )
        if depth >= MAX_DEPTH and children:
            raise NotificationError(f"payload is nested deeper than {MAX_DEPTH} levels", code="too_deep")
        stack.extend((child, depth + 1) for child in children)


def _to_plain(value: Any) -> Any:
    # Deep copy into plain dicts/lists, so later mutation of the caller's object cannot change a
    # frozen Notification, and Mapping subclasses become dicts. Depth is already bounded.
    if isinstance(value, Mapping):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(item) for item in value]
    return copy.copy(value)


def _load_object(data: bytes | bytearray | memoryview | str | Mapping[str, Any], *, what: str) -> dict[str, Any]:
    if isinstance(data, Mapping):
        _check_structure(data)
        return _to_plain(data)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise NotificationError(
                f"{what} is {len(raw)} bytes, above the {MAX_PAYLOAD_BYTES}-byte limit", code="too_large"
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise NotificationError(
                f"{what} is not valid UTF-8 (byte {error.start})", code="invalid_encoding"
            ) from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
        if len(text) > MAX_PAYLOAD_BYTES:
            raise NotificationError(
                f"{what} is {len(text)} characters, above the {MAX_PAYLOAD_BYTES} limit", code="too_large"
            )
    else:
        raise NotificationError(f"{what} must be bytes, str or a dict, got {type(data).__name__}", code="not_an_object")
    if not text.strip():
        raise NotificationError(f"{what} is empty", code="invalid_json")
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise NotificationError(f"{what} is nested too deeply", code="too_deep") from None
    except ValueError as error:
        # JSONDecodeError, NaN/Infinity, and integers beyond Python's digit limit.
        raise NotificationError(f"{what} is not valid JSON: {error}", code="invalid_json") from None
    if not isinstance(obj, dict):
        raise NotificationError(f"{what} must be a JSON object, got a JSON {_json_kind(obj)}", code="not_an_object")
    _check_structure(obj)
    return obj


def _json_kind(obj: object) -> str:
    if isinstance(obj, list):
        return "array"
    if isinstance(obj, str):
        return "string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "boolean"
    return "number"


# --------------------------------------------------------------------------- field readers


def _object(parent: Mapping[str, Any], key: str, path: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(path, f"expected a JSON object, got {_json_kind(value)}")
    return value


def _id(parent: Mapping[str, Any], keys: tuple[str, ...], path: str, *, sensitive: bool = False) -> str | None:
    """A stripped identifier string; numbers are refused (they lose leading zeros)."""
    value = None
    for key in keys:
        value = parent.get(key)
        if value is not None:
            break
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(path, f"expected a string identifier, got {_json_kind(value)}")
    text = value.strip()
    if len(text) > MAX_ID_LENGTH:
        raise _invalid(path, f"is {len(text)} characters long, above {MAX_ID_LENGTH}")
    if not text:
        return None
    if not sensitive and any(not char.isprintable() for char in text):
        raise _invalid(path, f"{_show(text)} contains control characters")
    return text


def _code(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    """A short code that may legitimately be numeric in some sources (entity, reference)."""
    value = parent.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return str(value)
    return _id(parent, (key,), path)


def _text(parent: Mapping[str, Any], key: str, path: str, warnings: _Warnings | None = None) -> str | None:
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    if warnings is not None:
        warnings.add(path, f"expected a string, got {_json_kind(value)}; ignored")
        return None
    raise _invalid(path, f"expected a string, got {_json_kind(value)}")


def _enum(parent: Mapping[str, Any], key: str, path: str, enum_cls: Any, warnings: _Warnings | None = None) -> Any:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(path, f"expected a string, got {_json_kind(value)}")
    if len(value.strip()) > MAX_ENUM_LENGTH:
        if warnings is None:
            raise _invalid(path, f"is {len(value.strip())} characters long, above {MAX_ENUM_LENGTH}")
        warnings.add(path, f"{len(value.strip())} characters long, above {MAX_ENUM_LENGTH}; read as {UNKNOWN_VALUE}")
        return UNKNOWN_VALUE
    return coerce(enum_cls, value)


def _terminal_id(value: object, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise _invalid(path, f"{_show(value)} is not a terminal number")
        return int(text)
    if isinstance(value, bool) or not _is_number(value):
        raise _invalid(path, f"expected a number or a numeric string, got {_json_kind(value)}")
    number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    if not number.is_finite() or number != number.to_integral_value() or not 0 <= number < 10**18:
        raise _invalid(path, f"{_show(value)} is not a terminal number")
    return int(number)


def _in_app(value: object, path: str, warnings: _Warnings) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
        if not text:
            return None
    warnings.add(path, f"{_show(value)} is not a boolean; ignored")
    return None


def _optional_datetime(
    parent: Mapping[str, Any],
    keys: tuple[str, ...],
    path: str,
    warnings: _Warnings | None = None,
    *,
    window: _Warnings | None = None,
) -> datetime | None:
    """A date-time or None. Unreadable values raise, unless ``warnings`` collects them; values
    outside [2000, 2100) are ignored with a warning into ``window`` (default ``warnings``)."""
    window = window or warnings
    value = None
    for key in keys:
        value = parent.get(key)
        if value is not None:
            break
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        moment = parse_sibs_datetime(value, path=path)
    except NotificationError as error:
        if error.code == "out_of_range" and window is not None:
            window.add(path, f"{_show(value)} is outside {EARLIEST_DATETIME.year}-{LATEST_DATETIME.year - 1}; ignored")
            return None
        if warnings is None:
            raise
        warnings.add(path, f"{error.message.removeprefix(path + ': ')}; ignored")
        return None
    if not EARLIEST_DATETIME <= moment < LATEST_DATETIME:
        if window is None:
            raise _invalid(path, f"{_show(value)} is outside {EARLIEST_DATETIME.year}-{LATEST_DATETIME.year - 1}")
        window.add(path, f"{_show(value)} is outside {EARLIEST_DATETIME.year}-{LATEST_DATETIME.year - 1}; ignored")
        return None
    return moment


def _money(obj: Mapping[str, Any] | None, path: str) -> tuple[Decimal | None, str | None]:
    if obj is None:
        return None, None
    currency = obj.get("currency")
    if currency is not None:
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
            raise _invalid(f"{path}.currency", f"{_show(currency)} is not an ISO 4217 currency code")
        currency = currency.strip().upper()
    value = obj.get("value")
    if value is None:
        return None, currency
    return parse_amount(value, currency=currency, path=f"{path}.value"), currency


# --------------------------------------------------------------------------- sub-objects


def _return_status(obj: Mapping[str, Any] | None) -> ReturnStatus | None:
    if obj is None:
        return None
    code = _id(obj, ("statusCode",), "returnStatus.statusCode")
    return ReturnStatus(
        code=code,
        message=_text(obj, "statusMsg", "returnStatus.statusMsg"),
        description=_text(obj, "statusDescription", "returnStatus.statusDescription"),
    )


def _token(obj: Mapping[str, Any] | None, warnings: _Warnings) -> Token | None:
    if obj is None:
        return None
    value = _id(obj, ("value",), "token.value", sensitive=True)
    return Token(
        type=_enum(obj, "tokenType", "token.tokenType", TokenType, warnings),
        value=value,
        masked_value=mask_token_value(value),
    )


_REFERENCE_KEYS = frozenset({"entity", "reference", "paymentEntity", "amount", "status", "expiryDate", "expireDate"})


def _payment_reference(obj: Mapping[str, Any] | None, warnings: _Warnings) -> PaymentReference | None:
    if obj is None:
        return None
    amount, currency = _money(_object(obj, "amount", "paymentReference.amount"), "paymentReference.amount")
    return PaymentReference(
        entity=_code(obj, "entity", "paymentReference.entity"),
        reference=_code(obj, "reference", "paymentReference.reference"),
        payment_entity=_code(obj, "paymentEntity", "paymentReference.paymentEntity"),
        amount=amount,
        currency=currency,
        status=_enum(obj, "status", "paymentReference.status", ReferenceStatus, warnings),
        expiry=_optional_datetime(obj, ("expiryDate", "expireDate"), "paymentReference.expiryDate", window=warnings),
        extra={key: value for key, value in obj.items() if key not in _REFERENCE_KEYS},
    )


_MANDATE_KEYS = frozenset(
    {
        "mandateIdentification",
        "mandateId",
        "mandateAction",
        "mandateActionStatus",
        "mandateType",
        "clientName",
        "aliasMBWAY",
        "mandateExpirationDate",
        "mandateAmountLimit",
    }
)


def _mandate_limit(value: object, warnings: _Warnings) -> Decimal | None:
    path = "mbwayMandate.mandateAmountLimit"
    try:
        if isinstance(value, dict):
            return _money(value, path)[0]
        return parse_amount(value, path=path)
    except NotificationError as error:
        warnings.add(path, f"{error.message.removeprefix(path + ': ')}; ignored")
        return None


def _mbway_mandate(obj: Mapping[str, Any] | None, warnings: _Warnings) -> MbwayMandate | None:
    if obj is None:
        return None
    alias = _id(obj, ("aliasMBWAY",), "mbwayMandate.aliasMBWAY", sensitive=True)
    expiration: date | None = None
    raw_expiration = obj.get("mandateExpirationDate")
    if raw_expiration is not None:
        try:
            if not isinstance(raw_expiration, str):
                raise ValueError(f"expected a string, got {_json_kind(raw_expiration)}")
            expiration = date.fromisoformat(raw_expiration.strip()[:10])
        except ValueError as error:
            warnings.add("mbwayMandate.mandateExpirationDate", f"{error}; ignored")
    limit_value = obj.get("mandateAmountLimit")
    return MbwayMandate(
        mandate_id=_id(obj, ("mandateIdentification", "mandateId"), "mbwayMandate.mandateIdentification"),
        action=_enum(obj, "mandateAction", "mbwayMandate.mandateAction", MandateAction, warnings),
        action_status=_enum(
            obj, "mandateActionStatus", "mbwayMandate.mandateActionStatus", MandateActionStatus, warnings
        ),
        mandate_type=_enum(obj, "mandateType", "mbwayMandate.mandateType", MandateType, warnings),
        client_name=_text(obj, "clientName", "mbwayMandate.clientName", warnings),
        alias=alias,
        masked_alias=mask_token_value(alias),
        expiration_date=expiration,
        amount_limit=None if limit_value is None else _mandate_limit(limit_value, warnings),
        extra={key: value for key, value in obj.items() if key not in _MANDATE_KEYS},
    )


def _mit(obj: Mapping[str, Any] | None, warnings: _Warnings) -> MerchantInitiatedTransaction | None:
    if obj is None:
        return None
    path = "merchantInitiatedTransaction"
    schedule_obj = _object(obj, "schedule", f"{path}.schedule")
    schedule = None
    if schedule_obj is not None:
        schedule = MitSchedule(
            initial_date=_optional_datetime(schedule_obj, ("initialDate",), f"{path}.schedule.initialDate", warnings),
            final_date=_optional_datetime(schedule_obj, ("finalDate",), f"{path}.schedule.finalDate", warnings),
            interval=_text(schedule_obj, "interval", f"{path}.schedule.interval", warnings),
            extra={k: v for k, v in schedule_obj.items() if k not in ("initialDate", "finalDate", "interval")},
        )
    return MerchantInitiatedTransaction(
        type=_enum(obj, "type", f"{path}.type", MitType, warnings),
        amount_qualifier=_enum(obj, "amountQualifier", f"{path}.amountQualifier", AmountQualifier, warnings),
        validity_date=_optional_datetime(obj, ("validityDate",), f"{path}.validityDate", warnings),
        schedule=schedule,
        extra={k: v for k, v in obj.items() if k not in ("type", "amountQualifier", "validityDate", "schedule")},
    )


def _financial_operation(obj: Mapping[str, Any] | None) -> FinancialOperation | None:
    if obj is None:
        return None
    path = "financialOperation"
    return FinancialOperation(
        product=_object(obj, "product", f"{path}.product") or {},
        billing_info=_object(obj, "billingInfo", f"{path}.billingInfo") or {},
        expedition_info=_object(obj, "expeditionInfo", f"{path}.expeditionInfo") or {},
        extra={k: v for k, v in obj.items() if k not in ("product", "billingInfo", "expeditionInfo")},
    )


def _original_transaction_id(obj: Mapping[str, Any]) -> str | None:
    # Sources disagree on where it lives: top level (FENIX cancellations, MIT) or inside
    # ``transaction`` (DOC-INTL refund/capture/cancellation bodies).
    top = _object(obj, "originalTransaction", "originalTransaction")
    if top is not None and top.get("id") is not None:
        return _id(top, ("id",), "originalTransaction.id")
    transaction = obj.get("transaction")
    if isinstance(transaction, dict):
        nested = _object(transaction, "originalTransaction", "transaction.originalTransaction")
        if nested is not None:
            return _id(nested, ("id",), "transaction.originalTransaction.id")
    return None


# --------------------------------------------------------------------------- top level

_COMMON_KEYS = frozenset(
    {
        "returnStatus",
        "paymentStatus",
        "paymentMethod",
        "transactionID",
        "transactionId",
        "transactionDateTime",
        "amount",
        "merchant",
        "paymentType",
        "token",
        "internalTransactionId",
        "paymentReference",
        "mbwayMandate",
        "merchantInitiatedTransaction",
        "financialOperation",
        "clientIBAN",
        "clientIban",
        "originalTransaction",
    }
)
_NOTIFICATION_KEYS = _COMMON_KEYS | {"notificationID", "notificationId"}


def _cleaned(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """NUL and unpaired surrogates removed from every string and key (they cannot be stored, and
    a notification we acknowledged must become a row): the paths cleaned, for the warnings."""
    paths: list[str] = []
    cleaned = clean_tree(obj, paths.append)
    for path in paths:
        if path in _IDENTIFIER_PATHS:
            # An id is matched and echoed exactly: changing it would file the payment elsewhere.
            raise _invalid(path, "contains control characters")
    return cleaned, paths


_IDENTIFIER_PATHS = frozenset(
    {
        "notificationID",
        "notificationId",
        "transactionID",
        "transactionId",
        "merchant.transactionId",
        "merchant.merchantTransactionId",
        "internalTransactionId",
        "returnStatus.statusCode",
        "originalTransaction.id",
        "transaction.originalTransaction.id",
        "paymentReference.entity",
        "paymentReference.reference",
        "paymentReference.paymentEntity",
        "mbwayMandate.mandateIdentification",
        "mbwayMandate.mandateId",
    }
)


def _common_fields(obj: dict[str, Any], *, known_keys: frozenset[str], cleaned: list[str]) -> dict[str, Any]:
    warnings = _Warnings()
    for path in cleaned[:10]:
        warnings.add(path, "NUL or unpaired surrogate removed")
    merchant = _object(obj, "merchant", "merchant") or {}
    amount, currency = _money(_object(obj, "amount", "amount"), "amount")
    client_iban = _id(obj, ("clientIBAN", "clientIban"), "clientIBAN", sensitive=True)
    fields: dict[str, Any] = {
        # ``transactionID`` everywhere except the mandate-creation response (``transactionId``).
        "transaction_id": _id(obj, ("transactionID", "transactionId"), "transactionID"),
        # Notifications say ``transactionId``; checkout answers ``merchantTransactionId``.
        "merchant_transaction_id": _id(merchant, ("transactionId", "merchantTransactionId"), "merchant.transactionId"),
        "terminal_id": _terminal_id(merchant.get("terminalId"), "merchant.terminalId"),
        "merchant_name": _text(merchant, "merchantName", "merchant.merchantName", warnings),
        "in_app": _in_app(merchant.get("inApp"), "merchant.inApp", warnings),
        "payment_status": _enum(obj, "paymentStatus", "paymentStatus", PaymentStatus, warnings),
        "payment_method": _enum(obj, "paymentMethod", "paymentMethod", PaymentMethod, warnings),
        "payment_type": _enum(obj, "paymentType", "paymentType", PaymentType, warnings),
        "amount": amount,
        "currency": currency,
        "transaction_datetime": _optional_datetime(
            obj, ("transactionDateTime",), "transactionDateTime", window=warnings
        ),
        "return_status": _return_status(_object(obj, "returnStatus", "returnStatus")),
        "internal_transaction_id": _id(obj, ("internalTransactionId",), "internalTransactionId"),
        "token": _token(_object(obj, "token", "token"), warnings),
        "payment_reference": _payment_reference(_object(obj, "paymentReference", "paymentReference"), warnings),
        "mbway_mandate": _mbway_mandate(_object(obj, "mbwayMandate", "mbwayMandate"), warnings),
        "merchant_initiated_transaction": _mit(
            _object(obj, "merchantInitiatedTransaction", "merchantInitiatedTransaction"), warnings
        ),
        "financial_operation": _financial_operation(_object(obj, "financialOperation", "financialOperation")),
        "client_iban": client_iban,
        "original_transaction_id": _original_transaction_id(obj),
        "extra": {key: value for key, value in obj.items() if key not in known_keys},
        "raw": obj,
    }
    fields["warnings"] = tuple(warnings.items)
    return fields


def parse_notification(data: bytes | str | Mapping[str, Any]) -> Notification:
    """Parse a decrypted SIBS webhook payload (bytes, text or an already-decoded dict).

    Raises :class:`NotificationError` when the payload is not a JSON object, lacks
    ``notificationID`` or ``transactionID``, or has a known field with an impossible value.
    """
    obj, cleaned = _cleaned(_load_object(data, what="notification"))
    notification_id = _id(obj, ("notificationID", "notificationId"), "notificationID")
    if notification_id is None:
        raise NotificationError(
            "notification has no notificationID; it cannot be acknowledged or de-duplicated",
            code="missing_field",
            field="notificationID",
        )
    fields = _common_fields(obj, known_keys=_NOTIFICATION_KEYS, cleaned=cleaned)
    if fields["transaction_id"] is None:
        raise NotificationError(
            "notification has no transactionID; it cannot be matched to a transaction",
            code="missing_field",
            field="transactionID",
        )
    return Notification(notification_id=notification_id, **fields)


def parse_status_response(data: bytes | str | Mapping[str, Any]) -> StatusResponse:
    """Parse the body of ``GET /payments/{transactionID}/status`` (or the status query by
    merchant transaction id). Same rules as :func:`parse_notification`, but no field is
    required: error answers may carry only ``returnStatus``. A ``notificationID`` here is
    not modelled and lands in ``extra``."""
    obj, cleaned = _cleaned(_load_object(data, what="status response"))
    return StatusResponse(**_common_fields(obj, known_keys=_COMMON_KEYS, cleaned=cleaned))
