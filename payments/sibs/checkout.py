"""Server-to-server checkout (seed 003): the bodies the backoffice sends and the answers it reads.

1. ``POST /payments`` (Bearer) with ``merchant`` and ``transaction``: SIBS answers a
   ``transactionID``, a ``transactionSignature`` and a ``formContext``.
2. With ``Authorization: Digest <transactionSignature>`` (the signature replaces the bearer
   token): ``POST /payments/{id}/mbway-id/purchase`` with ``{"customerPhone": "351#9…"}`` (the
   customer gets a push in the MB WAY app) or ``POST /payments/{id}/service-reference/generate``
   with ``{}`` (a MULTIBANCO reference).
3. ``GET /payments/{id}/status`` and the notification tell how it ended.

Pure functions, no I/O: :class:`payments.sibs.client.SibsClient` sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from .notification import NotificationError, StatusResponse, parse_sibs_datetime, parse_status_response

__all__ = [
    "DESCRIPTION_MAX",
    "CheckoutAnswer",
    "CheckoutAnswerError",
    "checkout_body",
    "mbway_purchase_body",
    "normalise_phone",
    "parse_checkout_answer",
    "reference_generate_body",
]

# The description SIBS takes on a transaction (DOC-INTL refund page: at most 70 characters).
DESCRIPTION_MAX: Final = 70
# merchantTransactionId: no official maximum is public; DIPS caps it at 32 and so do we.
MERCHANT_TX_ID_MAX: Final = 32
# MB WAY alias: ``<country code>#<number>``; Portuguese mobiles are 9 digits starting with 9.
_ALIAS = re.compile(r"^(\d{1,3})#(\d{6,15})$")
_PT_MOBILE = re.compile(r"^9[1236]\d{7}$")


class CheckoutAnswerError(ValueError):
    """A 2xx checkout answer without the fields the next call needs."""


@dataclass(frozen=True, slots=True)
class CheckoutAnswer:
    transaction_id: str
    # The credential of the execution call for this transaction only; opaque, kept encrypted.
    transaction_signature: str
    form_context: str
    expiry: datetime | None
    return_code: str
    raw: dict[str, Any]


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"value": amount.quantize(Decimal("0.01")), "currency": currency}


def checkout_body(
    *,
    terminal_id: int,
    merchant_transaction_id: str,
    amount: Decimal,
    currency: str,
    method: str,
    description: str,
    timestamp: datetime,
    reference_entity: str = "",
    reference_valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The body of ``POST /payments`` for one method (``MBWAY`` or ``REFERENCE``), in the shape of
    seed 003: ``merchant`` {terminalId as a number, channel, merchantTransactionId} and
    ``transaction`` {transactionTimestamp, description, moto, paymentType PURS, amount,
    paymentMethod, and for a reference ``paymentReference`` with the entity, the validity window
    and min = max = the amount, so the customer pays exactly what was asked}."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be a positive Decimal")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount has more than two decimals")
    if method not in ("MBWAY", "REFERENCE"):
        raise ValueError("method must be MBWAY or REFERENCE")
    if not merchant_transaction_id or len(merchant_transaction_id) > MERCHANT_TX_ID_MAX:
        raise ValueError("merchant_transaction_id is required (at most 32 characters)")
    transaction: dict[str, Any] = {
        "transactionTimestamp": _iso(timestamp),
        "description": (description or "")[:DESCRIPTION_MAX],
        "moto": False,
        "paymentType": "PURS",
        "amount": _money(amount, currency),
        "paymentMethod": [method],
    }
    if method == "REFERENCE":
        if not (reference_entity.isdigit() and len(reference_entity) == 5):
            raise ValueError("a MULTIBANCO reference needs a 5-digit entity")
        if reference_valid_until is None or reference_valid_until <= timestamp:
            raise ValueError("a MULTIBANCO reference needs a validity in the future")
        transaction["paymentReference"] = {
            "initialDatetime": _iso(timestamp),
            "finalDatetime": _iso(reference_valid_until),
            "maxAmount": _money(amount, currency),
            "minAmount": _money(amount, currency),
            "entity": reference_entity,
        }
    return {
        "merchant": {
            "terminalId": int(terminal_id),
            "channel": "web",
            "merchantTransactionId": merchant_transaction_id,
        },
        "transaction": transaction,
    }


def normalise_phone(value: str) -> str:
    """An MB WAY alias as SIBS wants it (``351#912345678``) from what a person types
    (``912 345 678``, ``+351 912345678``, ``00351912345678``, ``351#912345678``). Raises
    ``ValueError`` with a reason when it cannot be one."""
    text = re.sub(r"[\s\-().]", "", value or "")
    if not text:
        raise ValueError("empty")
    if "#" in text:
        match = _ALIAS.match(text)
        if not match:
            raise ValueError("format")
        country, number = match.groups()
    else:
        if text.startswith("+"):
            text = text[1:]
        elif text.startswith("00"):
            text = text[2:]
        elif len(text) == 9:
            text = "351" + text
        if not text.isdigit():
            raise ValueError("format")
        if text.startswith("351"):
            country, number = "351", text[3:]
        else:
            # Another country: we cannot tell where its code ends without a country field.
            raise ValueError("country")
    if country == "351" and not _PT_MOBILE.match(number):
        raise ValueError("mobile")
    return f"{country}#{number}"


def mbway_purchase_body(phone: str) -> dict[str, Any]:
    """``POST /payments/{id}/mbway-id/purchase``: ``{"customerPhone": "351#912345678"}``."""
    return {"customerPhone": normalise_phone(phone)}


def reference_generate_body() -> dict[str, Any]:
    """``POST /payments/{id}/service-reference/generate``: an empty object (FENIX, Laravel)."""
    return {}


def parse_checkout_answer(data: dict[str, Any]) -> CheckoutAnswer:
    """The ``ReturnCheckout`` of a 2xx answer; :class:`CheckoutAnswerError` when it lacks what
    the execution call needs (a transaction id and its signature)."""
    tid = data.get("transactionID")
    signature = data.get("transactionSignature")
    if not isinstance(tid, str) or not tid.strip() or len(tid) > 255:
        raise CheckoutAnswerError("the checkout answer has no transactionID")
    if not isinstance(signature, str) or not signature.strip() or len(signature) > 8192:
        raise CheckoutAnswerError("the checkout answer has no transactionSignature")
    status = data.get("returnStatus")
    code = str(status.get("statusCode") or "") if isinstance(status, dict) else ""
    expiry = None
    if isinstance(data.get("expiry"), str):
        try:
            expiry = parse_sibs_datetime(data["expiry"])
        except (NotificationError, ValueError):
            expiry = None
    context = data.get("formContext")
    return CheckoutAnswer(
        transaction_id=tid.strip(),
        transaction_signature=signature.strip(),
        form_context=context if isinstance(context, str) else "",
        expiry=expiry,
        return_code=code,
        raw=data,
    )


def parse_execution_answer(data: dict[str, Any]) -> StatusResponse:
    """An MB WAY purchase or reference generation answer, read like a status answer (it carries
    ``transactionID``, ``paymentStatus``, ``returnStatus`` and, for a reference,
    ``paymentReference`` with ``expireDate``)."""
    return parse_status_response(data)
