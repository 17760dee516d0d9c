"""Which notification type (as chosen on a webhook) a SIBS notification belongs to.

SIBS Backoffice lets a webhook subscribe per type: MB WAY, MULTIBANCO reference, card (key
entered), token, authorised payments (MB WAY mandates), QR Code Express and XPAY. The payload
carries no such field, so the type is read from ``paymentMethod`` and the blocks that only some
notifications carry:

* an ``mbwayMandate`` block, or ``paymentMethod`` ``MANDATE`` (a collection under a mandate):
  authorised payments, whatever the method says;
* a ``financialOperation`` block (a static QR code purchase), or ``STATIC_QRCODE``/``QRCODE``:
  QR Code Express;
* otherwise the method: ``MBWAY``, ``REFERENCE``, ``CARD``, ``TOKEN``, ``XPAY``.

A payload none of these describe gets ``None`` and is relayed nowhere (and logged): SIBS may add
a method, and guessing would send a merchant notifications it did not subscribe to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhooks.models import NotificationType

_BY_METHOD = {
    "MBWAY": NotificationType.MBWAY,
    "REFERENCE": NotificationType.REFERENCE,
    "CARD": NotificationType.CARD,
    "TOKEN": NotificationType.TOKEN,
    "MANDATE": NotificationType.AUTHORISED_PAYMENTS,
    "STATIC_QRCODE": NotificationType.QR_EXPRESS,
    "QRCODE": NotificationType.QR_EXPRESS,
    "XPAY": NotificationType.XPAY,
}


def classify(payload: Mapping[str, Any]) -> NotificationType | None:
    """The notification type of a decoded notification, or None when it is not recognised."""
    if not isinstance(payload, Mapping):
        return None
    if isinstance(payload.get("mbwayMandate"), Mapping):
        return NotificationType.AUTHORISED_PAYMENTS
    if isinstance(payload.get("financialOperation"), Mapping):
        return NotificationType.QR_EXPRESS
    method = payload.get("paymentMethod")
    if isinstance(method, str):
        return _BY_METHOD.get(method.strip().upper())
    return None
