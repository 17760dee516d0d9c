"""Purchases as CSV (separator ";", UTF-8 with BOM, dates in Europe/Lisbon), for spreadsheets.

There is no shared extracts engine yet; when there is, this dataset moves into it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from qrexpress.models import Purchase

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must never run what a buyer typed as a formula.
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _address(parts: dict, keys: tuple[str, ...]) -> str:
    return ", ".join(str(parts.get(k, "")).strip() for k in keys if str(parts.get(k, "")).strip())


def purchases_csv(purchases: Iterable[Purchase], *, personal: bool) -> Iterator[str]:
    """Yields the file line by line (streamed: an export never holds every row in memory)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = [
        _("Date"),
        _("Transaction"),
        _("QR Code ID"),
        _("Product"),
        _("Quantity"),
        _("Units sold without stock"),
        _("Unit price"),
        _("Shipping"),
        _("Amount"),
        _("Currency"),
        _("Fulfilment"),
    ]
    if personal:
        header += [_("Tax number"), _("Billing address"), _("Ship to"), _("Shipping address"), _("Phone"), _("E-mail")]
    writer.writerow(header)
    yield "\ufeff" + out.getvalue()
    for purchase in purchases:
        out.seek(0)
        out.truncate()
        row = [
            timezone.localtime(purchase.purchased_at).strftime("%Y-%m-%d %H:%M:%S"),
            purchase.transaction.transaction_id,
            purchase.qr_code_id,
            purchase.product.product_name if purchase.product else purchase.product_name,
            purchase.quantity,
            purchase.oversold_units,
            purchase.unit_amount,
            purchase.expedition_amount,
            purchase.amount,
            purchase.currency,
            purchase.get_fulfilment_display(),
        ]
        if personal:
            row += [
                purchase.billing_tin,
                _address(
                    purchase.billing_address,
                    ("billingAddressLine1", "billingAddressLine2", "billingAddressPostalCode", "billingAddressCity"),
                ),
                purchase.shipping_name,
                _address(
                    purchase.shipping_address,
                    (
                        "expeditionAddressLine1",
                        "expeditionAddressLine2",
                        "expeditionAddressPostalCode",
                        "expeditionAddressCity",
                    ),
                ),
                purchase.phone,
                purchase.email,
            ]
        writer.writerow([_cell(v) for v in row])
        yield out.getvalue()
