"""Roles and the permission matrix.

The roles follow the SIBS Backoffice profiles. Each capability names one thing a person can
do; a role is the set of capabilities it grants. Every view and API call checks a capability,
never a role name, so the matrix below is the single place that decides who may do what.
``docs/permissions.md`` is generated from it (``manage.py permissions_matrix``) and a test
keeps the two identical.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMINISTRATOR = "administrator", _("Administrator")
    OPERATOR = "operator", _("Operator")
    FINANCE = "finance", _("Finance")
    VIEWER = "viewer", _("Viewer")
    QR_MANAGER = "qr_manager", _("QR Code Manager")


class Capability(models.TextChoices):
    VIEW_TRANSACTIONS = "view_transactions", _("See transactions and their timeline")
    VIEW_RAW_PAYLOADS = "view_raw_payloads", _("See raw gateway payloads")
    OPERATE_PAYMENTS = "operate_payments", _("Refund, capture and cancel")
    REQUEST_PAYMENTS = "request_payments", _("Ask customers to pay (MB WAY, MULTIBANCO reference)")
    VIEW_DASHBOARDS = "view_dashboards", _("See dashboards")
    EXPORT_TRANSACTIONS = "export_transactions", _("Download extracts")
    RECONCILE = "reconcile", _("Reconcile settlements")
    MANAGE_PAYMENT_METHODS = "manage_payment_methods", _("Configure payment methods and gateway credentials")
    MANAGE_WEBHOOKS = "manage_webhooks", _("Configure webhooks and see deliveries")
    VIEW_QREXPRESS = "view_qrexpress", _("See QR Code Express products")
    MANAGE_QREXPRESS = "manage_qrexpress", _("Manage QR Code Express products and stock")
    MANAGE_USERS = "manage_users", _("Invite users and change their roles")
    MANAGE_API_KEYS = "manage_api_keys", _("Create and revoke API keys")
    VIEW_AUDIT = "view_audit", _("Browse the audit log")


C = Capability
MATRIX: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.ADMINISTRATOR: frozenset(Capability),
    Role.OPERATOR: frozenset(
        {C.VIEW_TRANSACTIONS, C.OPERATE_PAYMENTS, C.REQUEST_PAYMENTS, C.VIEW_DASHBOARDS, C.VIEW_QREXPRESS}
    ),
    Role.FINANCE: frozenset(
        {C.VIEW_TRANSACTIONS, C.VIEW_DASHBOARDS, C.EXPORT_TRANSACTIONS, C.RECONCILE, C.VIEW_QREXPRESS}
    ),
    Role.VIEWER: frozenset({C.VIEW_TRANSACTIONS, C.VIEW_DASHBOARDS, C.VIEW_QREXPRESS}),
    Role.QR_MANAGER: frozenset({C.VIEW_TRANSACTIONS, C.VIEW_QREXPRESS, C.MANAGE_QREXPRESS}),
}

# Who may hand out which role: nobody grants more than they hold, and only an Owner makes Owners.
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.OWNER: frozenset(Role),
    Role.ADMINISTRATOR: frozenset(Role) - {Role.OWNER},
}


def has_capability(role: str, capability: Capability) -> bool:
    try:
        return capability in MATRIX[Role(role)]
    except ValueError:
        return False


def grantable_roles(role: str) -> frozenset[Role]:
    try:
        return GRANTABLE.get(Role(role), frozenset())
    except ValueError:
        return frozenset()


def matrix_markdown() -> str:
    """The permission matrix as the Markdown table in docs/permissions.md."""
    roles = list(Role)
    lines = [
        "# Permission matrix",
        "",
        "Generated from `backoffice/roles.py` by `python manage.py permissions_matrix`; a test",
        "fails when the two disagree. Enforced on the server for every page and API call.",
        "A membership limited to some stores sees and acts on those stores only, everywhere.",
        "",
        "| Capability | " + " | ".join(str(r.label) for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for cap in Capability:
        cells = ["yes" if cap in MATRIX[r] else "—" for r in roles]
        lines.append(f"| {cap.label} (`{cap.value}`) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Granting roles",
        "",
        "- Owners may invite users with any role, including Owner.",
        "- Administrators may invite any role except Owner, and cannot change or remove an Owner.",
        "- Other roles cannot invite.",
        "",
        "## Second factor",
        "",
        "Users holding the Owner, Administrator or Operator role in any merchant must set up",
        "TOTP before they can use the backoffice (setting `MFA_REQUIRED_ROLES`). Everyone else",
        "may turn it on from their account page.",
        "",
    ]
    return "\n".join(lines)
