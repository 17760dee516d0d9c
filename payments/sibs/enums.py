"""Enumerations of the SIBS Gateway v2 wire format.

Every enum is a ``django.db.models.TextChoices`` whose *value* is the exact string SIBS puts on
the wire and whose *label* is a lazy translation, so the classes can be used as model field
``choices`` as they are. Importing ``django.db.models`` does not need configured settings, and the
labels are only evaluated when rendered, so this module stays usable from plain Python.

SIBS publishes no complete catalogue (PROTOCOL.md §3, §7): new values appear without notice and
FENIX had to make its parser ignore unknown fields after one such change. So values arriving from
the wire go through :func:`coerce` (or one of the ``parse_*`` wrappers), which returns the enum
member when the value is known and otherwise keeps the raw string instead of failing.
"""

from __future__ import annotations

import re
from typing import TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "AmountQualifier",
    "MandateAction",
    "MandateActionStatus",
    "MandateStatus",
    "MandateType",
    "MitType",
    "PaymentMethod",
    "PaymentStatus",
    "PaymentType",
    "ReferenceStatus",
    "TokenType",
    "coerce",
    "parse_payment_method",
    "parse_payment_status",
    "parse_payment_type",
    "status_precedence",
    "status_supersedes",
]


class PaymentStatus(models.TextChoices):
    """``paymentStatus`` — mixed-case strings on the wire (PROTOCOL.md §3.1).

    ``Expired`` is not in the official list but FENIX treats it as a final state for MULTIBANCO
    references and MB WAY requests, so it is modelled here too.
    """

    SUCCESS = "Success", _("Success")
    PENDING = "Pending", _("Pending")
    IN_PROCESSING = "InProcessing", _("In processing")
    # Partial means "an action is pending on the customer's side" (typically 3-D Secure), not a
    # partially paid amount.
    PARTIAL = "Partial", _("Action pending")
    DECLINED = "Declined", _("Declined")
    TIMEOUT = "Timeout", _("Timed out")
    ERROR = "Error", _("Error")
    EXPIRED = "Expired", _("Expired")

    @property
    def is_final(self) -> bool:
        """True when SIBS will not move this transaction to another state on its own."""
        return self in _FINAL_STATUSES

    @property
    def precedence(self) -> int:
        """Rank used to decide whether a later notification may overwrite the stored status.

        Notifications arrive in any order and are re-sent after outages (PROTOCOL.md §1.4), so
        the stored status must only ever move "up". See :func:`status_supersedes`.
        """
        return _STATUS_PRECEDENCE[self]


_FINAL_STATUSES = frozenset(
    {
        PaymentStatus.SUCCESS,
        PaymentStatus.DECLINED,
        PaymentStatus.TIMEOUT,
        PaymentStatus.ERROR,
        PaymentStatus.EXPIRED,
    }
)

# Non-final states rank by how far the flow has got (Pending -> 3DS action -> processing).
# All failure states share one rank so that the *first* final failure recorded stays (a re-sent
# Timeout does not replace a Declined, nor the reverse). Success ranks above everything: a
# Success that arrives after a failure means money moved (e.g. a reference paid after SIBS
# marked it expired) and must be visible rather than hidden behind the earlier failure.
_STATUS_PRECEDENCE: dict[PaymentStatus, int] = {
    PaymentStatus.PENDING: 10,
    PaymentStatus.PARTIAL: 20,
    PaymentStatus.IN_PROCESSING: 30,
    PaymentStatus.DECLINED: 50,
    PaymentStatus.TIMEOUT: 50,
    PaymentStatus.ERROR: 50,
    PaymentStatus.EXPIRED: 50,
    PaymentStatus.SUCCESS: 100,
}

# A status string we do not know ranks below every known one: it never replaces a known status,
# and any known status replaces it.
UNKNOWN_STATUS_PRECEDENCE = 0


class PaymentType(models.TextChoices):
    """``paymentType`` (PROTOCOL.md §3.2). No official catalogue exists; the meanings of the
    last five codes are inferred from integrators' code, hence the cautious labels."""

    PURCHASE = "PURS", _("Purchase")
    AUTHORISATION = "AUTH", _("Authorisation")
    CAPTURE = "CAPT", _("Capture")
    REFUND = "RFND", _("Refund")
    AUTHORISATION_CANCELLATION = "CAUT", _("Authorisation cancellation")
    REFERENCE_PAYMENT = "PREF", _("MULTIBANCO reference payment")
    MERCHANT_INITIATED = "MITR", _("Merchant-initiated transaction")
    MBWAY_CASH_OUT = "CSHT", _("MB WAY cash-out")
    MBWAY_CANCELLATION = "CMBW", _("MB WAY cancellation")
    REFERENCE_CANCELLATION = "CPRF", _("Payment reference cancellation")
    REVERSAL = "RVSL", _("Reversal")

    @property
    def is_operation_on_original(self) -> bool:
        """True for operations that act on an earlier transaction (refund, capture,
        cancellation, annulment) rather than start a payment of their own.

        This matters because annulments arrive with ``paymentStatus: "Success"`` and look like
        payments unless the type is checked (FENIX #qubIT-Fenix-6101).
        """
        return self in _OPERATIONS_ON_ORIGINAL

    @property
    def is_cancellation(self) -> bool:
        """True for cancellations, annulments and reversals (no money is collected)."""
        return self in _CANCELLATIONS

    @property
    def is_payment(self) -> bool:
        """True for types that start a payment from the customer (purchase, authorisation,
        MULTIBANCO reference payment, merchant-initiated charge)."""
        return self in _PAYMENTS

    @property
    def collects_on_success(self) -> bool:
        """True when a ``Success`` of this type means money was collected.

        ``AUTH`` is a payment but only reserves funds (and is also used for token generation
        and zero-amount CIT set-ups); FENIX counts only ``PURS``/``PREF`` with ``Success`` as
        paid. ``MITR`` is a direct charge of a stored credential.
        """
        return self in _COLLECTING


_CANCELLATIONS = frozenset(
    {
        PaymentType.AUTHORISATION_CANCELLATION,
        PaymentType.MBWAY_CANCELLATION,
        PaymentType.REFERENCE_CANCELLATION,
        PaymentType.REVERSAL,
    }
)
_OPERATIONS_ON_ORIGINAL = _CANCELLATIONS | {PaymentType.CAPTURE, PaymentType.REFUND}
_PAYMENTS = frozenset(
    {
        PaymentType.PURCHASE,
        PaymentType.AUTHORISATION,
        PaymentType.REFERENCE_PAYMENT,
        PaymentType.MERCHANT_INITIATED,
    }
)
_COLLECTING = frozenset({PaymentType.PURCHASE, PaymentType.REFERENCE_PAYMENT, PaymentType.MERCHANT_INITIATED})


class PaymentMethod(models.TextChoices):
    """``paymentMethod`` (PROTOCOL.md §3.3). Executed MB WAY authorised-payment collections are
    reported as ``MANDATE``; ``QRCODE`` is only seen in a checkout request."""

    CARD = "CARD", _("Card")
    MBWAY = "MBWAY", _("MB WAY")
    REFERENCE = "REFERENCE", _("MULTIBANCO reference")
    TOKEN = "TOKEN", _("Card token")
    STATIC_QRCODE = "STATIC_QRCODE", _("Static QR code")
    MANDATE = "MANDATE", _("MB WAY authorised payment")
    XPAY = "XPAY", _("Wallet (XPAY)")
    QRCODE = "QRCODE", _("QR code")


class TokenType(models.TextChoices):
    """``token.tokenType``: an MB WAY phone alias or a stored card."""

    MOBILE_PHONE = "MobilePhone", _("Mobile phone (MB WAY)")
    CARD = "Card", _("Card")


class ReferenceStatus(models.TextChoices):
    """``paymentReference.status``. A webhook may say ``Success`` while the reference is still
    ``UNPAID`` (FENIX raises an error to investigate), so both are kept separately."""

    PAID = "PAID", _("Paid")
    UNPAID = "UNPAID", _("Unpaid")


class MitType(models.TextChoices):
    """``merchantInitiatedTransaction.type``."""

    UNSCHEDULED = "UCOF", _("Unscheduled credential on file")
    RECURRING = "RCRR", _("Recurring")


class AmountQualifier(models.TextChoices):
    """``merchantInitiatedTransaction.amountQualifier``."""

    DEFAULT = "DEFAULT", _("Default")
    ESTIMATED = "ESTIMATED", _("Estimated")
    ACTUAL = "ACTUAL", _("Actual")


class MandateAction(models.TextChoices):
    """``mbwayMandate.mandateAction`` (MB WAY authorised payments)."""

    CREATION = "CRTN", _("Creation")
    SUSPENSION = "SSPN", _("Suspension")
    REACTIVATION = "RCTV", _("Reactivation")
    LIMITS_UPDATE = "LMUP", _("Limits update")
    CANCELLATION = "CNCL", _("Cancellation")


class MandateActionStatus(models.TextChoices):
    """``mbwayMandate.mandateActionStatus``."""

    SUCCESS = "SCCS", _("Successful")
    REJECTED = "RJCT", _("Rejected")
    REFUSED = "RFSD", _("Refused")


class MandateStatus(models.TextChoices):
    """``mandateStatus`` of a mandate inquiry."""

    ACTIVE = "ACTV", _("Active")
    SUSPENDED = "SSPN", _("Suspended")
    EXPIRED = "EXPR", _("Expired")
    CANCELLED = "CNCL", _("Cancelled")


class MandateType(models.TextChoices):
    """Mandate type. Webhooks say ``SBSC`` while requests use the long words — same concept,
    two spellings, both kept."""

    SUBSCRIPTION_CODE = "SBSC", _("Subscription")
    SUBSCRIPTION = "SUBSCRIPTION", _("Subscription")
    ONE_CLICK = "ONECLICK", _("One-click")


E = TypeVar("E", bound=models.TextChoices)

_SEPARATORS = re.compile(r"[\s_\-]+")


def _normalise(text: str) -> str:
    return _SEPARATORS.sub("", text).casefold()


def coerce(enum_cls: type[E], value: str | None) -> E | str | None:
    """Map a wire value to a member of ``enum_cls``, keeping unknown values as raw strings.

    Matching is exact first, then insensitive to case, spaces, ``_`` and ``-``: DOC-PT lists
    statuses in capitals (``IN PROCESSING``) and the international gateway sends ``PENDING``,
    and no two known values of one enum collide under that folding. Surrounding whitespace is
    stripped; an empty string becomes ``None``. Never raises for unknown strings — SIBS adds
    values without notice and a new one must not stop a notification from being processed.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{enum_cls.__name__} values are strings, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    try:
        return enum_cls(text)
    except ValueError:
        pass
    wanted = _normalise(text)
    for member in enum_cls:
        if _normalise(member.value) == wanted:
            return member
    return text


def parse_payment_status(value: str | None) -> PaymentStatus | str | None:
    """:func:`coerce` for ``paymentStatus``."""
    return coerce(PaymentStatus, value)


def parse_payment_type(value: str | None) -> PaymentType | str | None:
    """:func:`coerce` for ``paymentType``."""
    return coerce(PaymentType, value)


def parse_payment_method(value: str | None) -> PaymentMethod | str | None:
    """:func:`coerce` for ``paymentMethod``."""
    return coerce(PaymentMethod, value)


def status_precedence(status: PaymentStatus | str | None) -> int:
    """Precedence of a status as stored (enum member, raw string or ``None``)."""
    if status is None:
        return -1
    member = coerce(PaymentStatus, status) if isinstance(status, str) else status
    if isinstance(member, PaymentStatus):
        return member.precedence
    return UNKNOWN_STATUS_PRECEDENCE


def status_supersedes(incoming: PaymentStatus | str | None, current: PaymentStatus | str | None) -> bool:
    """Whether a notification carrying ``incoming`` may replace the stored ``current`` status.

    SIBS does not guarantee order and re-sends old notifications (PROTOCOL.md §1.4), so a late
    ``Pending`` must never overwrite ``Success``. Equal precedence does not supersede: a
    duplicate is a no-op and the first final failure stays. Unknown statuses rank lowest.
    """
    if incoming is None:
        return False
    return status_precedence(incoming) > status_precedence(current)
