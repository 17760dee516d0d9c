"""Template tags other apps' pages use to show reconciliation, without importing its pages."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils import timezone

from reconciliation import selectors

register = template.Library()


@register.filter(name="age_days")
def age_days(value: date | None) -> str:
    if value is None:
        return ""
    return str(max(0, (timezone.localdate() - value).days))


@register.inclusion_tag("reconciliation/_settlement_panel.html", takes_context=True)
def settlement_panel(context, transaction):
    """The settlement of one transaction (date, payout, fee, net, exceptions), for its page.
    Renders nothing for people who may not reconcile."""
    access = context.get("access") or getattr(context.get("request"), "access", None)
    settlement = None
    if access is not None and transaction is not None:
        settlement = selectors.settlement_for_transaction(access=access, transaction=transaction)
    return {"settlement": settlement, "access": access, "txn": transaction}


@register.inclusion_tag("reconciliation/_settlement_filter.html", takes_context=True)
def settlement_filter_field(context, filters):
    """The transaction list's "settlement" filter, for people who may reconcile."""
    from backoffice.roles import Capability
    from payments.selectors.listing import SETTLEMENT_CHOICES

    access = context.get("access") or getattr(context.get("request"), "access", None)
    return {
        "show": access is not None and access.can(Capability.RECONCILE),
        "choices": SETTLEMENT_CHOICES,
        "value": getattr(filters, "settlement", ""),
    }
