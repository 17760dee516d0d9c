"""The Awaiting approval page: refunds above the four-eyes threshold, waiting for a second person."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backoffice.access import merchant_view
from backoffice.roles import Capability
from common.money import format_money
from payments.approvals import selectors


@merchant_view(Capability.OPERATE_PAYMENTS)
def awaiting_approval(request: HttpRequest) -> HttpResponse:
    access = request.access
    user = access.user
    rows = [
        {
            "op": op,
            "amount": format_money(op.amount, op.currency),
            "own": user is not None and op.requested_by_id == user.pk,
        }
        for op in selectors.awaiting_approval(access=access)[:200]
    ]
    return render(request, "payments/approvals.html", {"rows": rows, "active": "approvals"})
