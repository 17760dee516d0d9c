"""The payment methods a terminal can offer, by their SIBS ``paymentMethod`` codes, and which
settings each one has (PROTOCOL.md §2.4, §3.3)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    MBWAY = "MBWAY", _("MB WAY")
    REFERENCE = "REFERENCE", _("MULTIBANCO reference")
    CARD = "CARD", _("Card")
    TOKEN = "TOKEN", _("Card token (one-click)")
    MANDATE = "MANDATE", _("Authorised payments (MB WAY)")
    QRCODE = "STATIC_QRCODE", _("QR Code Express")
    XPAY = "XPAY", _("XPAY (Apple Pay / Google Pay)")


# The settings each method has, by MethodSetting field. A value left empty at a level is inherited
# from the level above (terminal ← store ← merchant).
SETTINGS: dict[str, tuple[str, ...]] = {
    Method.REFERENCE: ("reference_entity", "reference_validity_hours", "reference_min_amount", "reference_max_amount"),
    Method.CARD: ("card_tokenisation", "mit_recurring_terms_url", "mit_unscheduled_terms_url"),
    Method.MANDATE: ("mandate_company_name", "mandate_terms_url"),
}
ALL_SETTINGS: tuple[str, ...] = tuple(f for fields in SETTINGS.values() for f in fields)

# What a terminal gets when nothing is configured at any level.
DEFAULTS: dict[str, object] = {
    "enabled": False,
    "reference_entity": None,
    "reference_validity_hours": 72,
    "reference_min_amount": None,
    "reference_max_amount": None,
    "card_tokenisation": False,
    "mit_recurring_terms_url": "",
    "mit_unscheduled_terms_url": "",
    "mandate_company_name": "",
    "mandate_terms_url": "",
}

# Text settings are inherited when blank, the others when NULL.
TEXT_SETTINGS = frozenset(
    {"mit_recurring_terms_url", "mit_unscheduled_terms_url", "mandate_company_name", "mandate_terms_url"}
)


def label(code: str) -> str:
    try:
        return str(Method(code).label)
    except ValueError:
        return code
