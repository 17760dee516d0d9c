"""The sections of the backoffice, in menu order, and who sees each."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backoffice.roles import Capability


@dataclass(frozen=True)
class Section:
    key: str
    label: Promise
    url_name: str
    capability: Capability
    # What the section will hold, shown while it has nothing yet.
    promise: Promise
    # A function (dotted path) of the access giving a number to show next to the name (0: none).
    count: str = ""


SECTIONS: tuple[Section, ...] = (
    Section(
        "transactions",
        _("Transactions"),
        "payments:transactions",
        Capability.VIEW_TRANSACTIONS,
        _(
            "Every payment the gateway reports appears here in real time: search, filters, and a timeline "
            "for each transaction, with refund, capture and cancel for the roles allowed to."
        ),
    ),
    Section(
        "payment_requests",
        _("Payment requests"),
        "payment_requests:index",
        Capability.REQUEST_PAYMENTS,
        _("Ask a customer to pay by MB WAY or with a MULTIBANCO reference, and follow what is still unpaid."),
    ),
    Section(
        "approvals",
        _("Awaiting approval"),
        "payments:approvals",
        Capability.OPERATE_PAYMENTS,
        _("Refunds above the four-eyes threshold, waiting for a second person to approve or reject them."),
        count="payments.approvals.selectors.awaiting_count",
    ),
    Section(
        "dashboards",
        _("Dashboards"),
        "payments:dashboards",
        Capability.VIEW_DASHBOARDS,
        _("Volumes, amounts and approval rates by day, method and store."),
    ),
    Section(
        "extracts",
        _("Extracts"),
        "extracts:index",
        Capability.EXPORT_TRANSACTIONS,
        _("Download transactions as CSV or XLSX for any period, in the time zone you choose."),
    ),
    Section(
        "reconciliation",
        _("Reconciliation"),
        "reconciliation:index",
        Capability.RECONCILE,
        _("Import SIBS settlement files and match every payout line to its transactions."),
    ),
    Section(
        "payment_methods",
        _("Payment methods"),
        "payments:methods",
        Capability.MANAGE_PAYMENT_METHODS,
        _("The payment methods active on each terminal, gateway credentials, and requests for new methods."),
    ),
    Section(
        "webhooks",
        _("Webhooks"),
        "webhooks:index",
        Capability.MANAGE_WEBHOOKS,
        _(
            "Where the backoffice relays each transaction notification to your systems, with a delivery "
            "log, retries and a daily digest of failures."
        ),
    ),
    Section(
        "qrexpress",
        _("QR Code Express"),
        "qrexpress:index",
        Capability.VIEW_QREXPRESS,
        _("Your QR Code Express products, their stock, and the purchases made with them."),
    ),
    Section(
        "users",
        _("Users"),
        "backoffice:users",
        Capability.MANAGE_USERS,
        _("The people with access to this merchant."),
    ),
    Section(
        "api_keys",
        _("API keys"),
        "backoffice:api_keys",
        Capability.MANAGE_API_KEYS,
        _("Keys for your systems to use the API."),
    ),
    Section(
        "audit",
        _("Audit"),
        "backoffice:audit",
        Capability.VIEW_AUDIT,
        _("Every change made in this merchant: who, what, when and from where."),
    ),
)

BY_KEY = {s.key: s for s in SECTIONS}
