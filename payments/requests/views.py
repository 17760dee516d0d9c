"""Pages of payment requests: the list, the new-request form, the live status panel, the printable
MULTIBANCO slip and the waiting-for-payment board. Each view parses, checks access, calls one
service or selector, and renders."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.middleware import passive_request
from backoffice.roles import Capability
from payments.requests import selectors, services
from payments.requests.emails import format_reference
from payments.requests.forms import PaymentRequestForm
from payments.requests.models import PaymentRequest, RequestMethod

POLL_SECONDS = 2


def _detail_url(request: HttpRequest, pr: PaymentRequest) -> str:
    return reverse("payment_requests:detail", kwargs={"merchant": request.access.merchant.slug, "pk": pr.pk})


def _panel_context(request: HttpRequest, pr: PaymentRequest) -> dict:
    status = selectors.request_status(pr)
    txn = pr.transaction
    transaction_url = ""
    if txn is not None and request.access.can(Capability.VIEW_TRANSACTIONS):
        transaction_url = reverse(
            "payments:transaction",
            kwargs={"merchant": request.access.merchant.slug, "transaction_id": txn.transaction_id},
        )
    return {
        "pr": pr,
        "status": status,
        "reference": format_reference(pr.reference_number),
        "poll_seconds": POLL_SECONDS,
        "panel_url": reverse("payment_requests:panel", kwargs={"merchant": request.access.merchant.slug, "pk": pr.pk}),
        "transaction_url": transaction_url,
        "can_remind": bool(
            pr.method == RequestMethod.REFERENCE
            and status.code == "awaiting_payment"
            and pr.customer_email
            and request.access.can(Capability.REQUEST_PAYMENTS)
        ),
    }


@require_GET
@merchant_view(Capability.REQUEST_PAYMENTS)
def index(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.payment_request_list(access=request.access)[:100])
    return render(
        request,
        "payments/requests/index.html",
        {"active": "payment_requests", "rows": [(pr, selectors.request_status(pr)) for pr in rows]},
    )


@require_http_methods(["GET", "POST"])
@merchant_view(Capability.REQUEST_PAYMENTS)
def new(request: HttpRequest) -> HttpResponse:
    access = request.access
    terminals = list(selectors.request_terminals(access=access))
    form = PaymentRequestForm(
        request.POST or None, terminals=selectors.request_terminals(access=access), merchant=access.merchant
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.payment_request_create(
                access=access,
                actor=actor_from_request(request),
                terminal=data["terminal"],
                method=data["method"],
                amount=data["amount"],
                order_reference=data["order_reference"],
                description=data["description"],
                phone=data["phone"],
                reference_entity=data["reference_entity"],
                valid_until=form.valid_until() if data["method"] == RequestMethod.REFERENCE else None,
                customer_email=data["customer_email"],
                language=data["language"],
                idempotency_key=data["idempotency_key"],
            )
        except services.PaymentRequestError as error:
            form.add_service_error(error)
        else:
            return redirect(_detail_url(request, result.request))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "payments/requests/new.html",
        {"active": "payment_requests", "form": form, "has_terminals": bool(terminals)},
        status=status,
    )


@require_GET
@merchant_view(Capability.REQUEST_PAYMENTS)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    pr = selectors.payment_request_get(access=request.access, pk=pk)
    response = render(
        request, "payments/requests/detail.html", {"active": "payment_requests", **_panel_context(request, pr)}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@passive_request
@merchant_view(Capability.REQUEST_PAYMENTS)
def panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The live status panel, polled by the detail page while the request is open. Asks SIBS
    (throttled) when no notification has settled it yet."""
    pr = selectors.payment_request_get(access=request.access, pk=pk)
    if not selectors.request_status(pr).final:
        pr = services.payment_request_refresh(access=request.access, request=pr)
    response = render(request, "payments/requests/_panel.html", _panel_context(request, pr))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@merchant_view(Capability.REQUEST_PAYMENTS)
def refresh(request: HttpRequest, pk: int) -> HttpResponse:
    pr = selectors.payment_request_get(access=request.access, pk=pk)
    pr = services.payment_request_refresh(access=request.access, request=pr, force=True)
    status = selectors.request_status(pr)
    messages.info(request, _("Status of %(order)s: %(status)s") % {"order": pr.order_reference, "status": status.label})
    return redirect(_back(request, pr))


@require_POST
@merchant_view(Capability.REQUEST_PAYMENTS)
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    pr = selectors.payment_request_get(access=request.access, pk=pk)
    try:
        services.payment_request_remind(access=request.access, actor=actor_from_request(request), request=pr)
    except services.PaymentRequestError as error:
        messages.warning(request, error.message)
    else:
        messages.success(request, _("Reminder e-mailed to %(email)s.") % {"email": pr.customer_email})
    return redirect(_back(request, pr))


def _back(request: HttpRequest, pr: PaymentRequest) -> str:
    if request.POST.get("next") == "board":
        return reverse("payment_requests:waiting", kwargs={"merchant": request.access.merchant.slug})
    return _detail_url(request, pr)


@require_GET
@merchant_view(Capability.REQUEST_PAYMENTS)
def slip(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable payment slip for a MULTIBANCO reference."""
    pr = selectors.payment_request_get(access=request.access, pk=pk)
    if pr.method != RequestMethod.REFERENCE or not pr.reference_number:
        raise PermissionDenied(_("Only a generated MULTIBANCO reference has a payment slip."))
    return render(
        request,
        "payments/requests/slip.html",
        {"pr": pr, "reference": format_reference(pr.reference_number), "printed_at": timezone.now()},
    )


@require_GET
@merchant_view(Capability.REQUEST_PAYMENTS)
def waiting(request: HttpRequest) -> HttpResponse:
    board = selectors.waiting_board(access=request.access)
    groups = [
        ("expired", _("Expired, not paid"), board.expired),
        ("today", _("Expiring today"), board.today),
        ("week", _("Expiring this week"), board.this_week),
        ("later", _("Expiring later"), board.later),
    ]
    return render(
        request,
        "payments/requests/waiting.html",
        {
            "active": "payment_requests",
            "board": board,
            "groups": groups,
            "now": timezone.now(),
        },
    )
