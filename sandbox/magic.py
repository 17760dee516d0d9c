"""Magic values: how a test (or a demo) makes the sandbox succeed, decline, stall or fail.

The same table is in ``sandbox/README.md``; keep the two in step.

MB WAY (``customerPhone``, format ``<country code>#<number>``)
    * ending ``500`` (``351#912345500``) — declined by the customer: ``Declined``, ``01.106.0004``;
    * ending ``408`` — the customer never answers: ``Timeout``, ``00.110.1601``;
    * anything else well formed (``351#912345678``) — accepted: ``Success``;
    * or by the checkout amount's cents: ``.05`` — declined, ``.08`` — never answered (``Timeout``);
    * above ``5000.00`` — the purchase is refused (HTTP 400, ``12.110.1301``): MB WAY's limit.

MULTIBANCO entity
    * a ``paymentReference.entity`` other than the client's (``24000`` by default) — the
      reference generation is refused (HTTP 400, ``12.110.1301``): the entity is not active.

Cards (``cardInfo.PAN``; any future ``validationDate``, any ``secureCode``)
    * ``4000000000000002``, ``5555555555554444`` — success;
    * ``4000000000000010`` — declined by the issuer: ``Declined``, ``E0119``;
    * ``4000000000000069`` — expired card: ``Declined``, ``E0119``;
    * ``4000000000000119`` — processing error: ``Error``, ``90.000.0001``;
    * ``4000000000003220`` — 3-D Secure: ``Partial`` with an ``actionResponse``; a second
      ``card/purchase`` with ``actionProcessed.executed: true`` completes it (``false`` declines);
    * any other Luhn-valid number — success; a number failing the Luhn check — HTTP 400.

MULTIBANCO references (the checkout amount's cents)
    * ``.11`` — paid after the merchant's customer delay;
    * ``.22`` — expires after the merchant's customer delay;
    * anything else — stays ``UNPAID`` until paid through the control API, cancelled, or past its
      ``finalDatetime`` (then ``Expired``).

Headers, on any POST (``X-Sandbox-Delay`` on GET too)
    * ``X-Sandbox-Delay: <seconds>`` — answer after that long (0 to 30, decimals allowed);
    * ``X-Sandbox-Outcome: decline`` — the operation or payment is declined (``E0119``) and the
      declined notification is sent;
    * ``X-Sandbox-Outcome: timeout`` — the request *is processed* (money moves, notifications go)
      but the answer is HTTP 408: the lost-answer case an idempotent client must survive;
    * ``X-Sandbox-Outcome: error`` — nothing happens; HTTP 500 with ``90.000.0001``;
    * ``X-Sandbox-Outcome: success`` — MB WAY and cards succeed whatever the phone or card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

MAX_DELAY_SECONDS: Final = 30.0
OUTCOMES: Final = ("success", "decline", "timeout", "error")

PHONE_OK: Final = "351#912345678"
PHONE_DECLINED: Final = "351#912345500"
PHONE_TIMEOUT: Final = "351#912345408"

CARD_OK: Final = "4000000000000002"
CARD_OK_MASTERCARD: Final = "5555555555554444"
CARD_DECLINED: Final = "4000000000000010"
CARD_EXPIRED: Final = "4000000000000069"
CARD_ERROR: Final = "4000000000000119"
CARD_3DS: Final = "4000000000003220"

MBWAY_DECLINED_CENTS: Final = 5
MBWAY_TIMEOUT_CENTS: Final = 8
MBWAY_MAX_AMOUNT: Final = Decimal("5000.00")

REFERENCE_PAID_CENTS: Final = 11
REFERENCE_EXPIRED_CENTS: Final = 22

_PHONE = re.compile(r"^(\d{1,3})#(\d{6,15})$")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # a PaymentStatus value
    code: str
    message: str
    description: str


SUCCESS = Outcome("Success", "000", "Success", "Success")
MBWAY_DECLINED = Outcome("Declined", "01.106.0004", "Declined", "The customer declined the MB WAY payment.")
MBWAY_TIMEOUT = Outcome("Timeout", "00.110.1601", "Timeout", "The customer did not confirm the MB WAY payment in time.")
CARD_DECLINED_OUTCOME = Outcome("Declined", "E0119", "Declined", "The card issuer declined the payment.")
CARD_EXPIRED_OUTCOME = Outcome("Declined", "E0119", "Declined", "The card is expired.")
CARD_ERROR_OUTCOME = Outcome("Error", "90.000.0001", "Error", "Exception while processing the card payment.")
CARD_3DS_FAILED = Outcome("Declined", "E0119", "Declined", "3-D Secure authentication failed.")
FORCED_DECLINE = Outcome("Declined", "E0119", "Declined", "Declined on request (X-Sandbox-Outcome: decline).")


def valid_phone(phone: str) -> bool:
    return bool(_PHONE.match(phone))


def mbway_outcome(phone: str, amount: Decimal | None = None) -> Outcome:
    if phone.endswith("500"):
        return MBWAY_DECLINED
    if phone.endswith("408"):
        return MBWAY_TIMEOUT
    cents = int((amount * 100) % 100) if amount is not None else -1
    if cents == MBWAY_DECLINED_CENTS:
        return MBWAY_DECLINED
    if cents == MBWAY_TIMEOUT_CENTS:
        return MBWAY_TIMEOUT
    return SUCCESS


def luhn_ok(pan: str) -> bool:
    if not pan.isdigit() or not 12 <= len(pan) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(pan)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_outcome(pan: str) -> Outcome | None:
    """The outcome of a card, or ``None`` for the 3-D Secure card (the answer is ``Partial``)."""
    if pan == CARD_3DS:
        return None
    return {
        CARD_DECLINED: CARD_DECLINED_OUTCOME,
        CARD_EXPIRED: CARD_EXPIRED_OUTCOME,
        CARD_ERROR: CARD_ERROR_OUTCOME,
    }.get(pan, SUCCESS)


def mask_pan(pan: str) -> str:
    return f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}"


def reference_outcome(amount: Decimal) -> str:
    """``pay``, ``expire`` or ``""`` (wait) for a reference of this amount."""
    cents = int((amount * 100) % 100)
    if cents == REFERENCE_PAID_CENTS:
        return "pay"
    if cents == REFERENCE_EXPIRED_CENTS:
        return "expire"
    return ""
