"""The tabs of the Payment methods page that this capability owns: Methods (the matrix), Payment
entities, Authorised payments, Tokens; the settings of one method at one level; Check with SIBS;
requests for a new method. Each view parses, checks access, calls one service or selector, renders."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from payments.methods import selectors
from payments.methods.catalogue import SETTINGS, Method
from payments.methods.forms import EntityForm, RequestForm, SettingForm, initial_for
from payments.methods.models import CheckOutcome, RequestState
from payments.methods.resolution import MERCHANT, STORE, TERMINAL
from payments.methods.services import check as check_services
from payments.methods.services import requests as request_services
from payments.methods.services import settings as setting_services

MANAGE = Capability.MANAGE_PAYMENT_METHODS
MAX_KEY = 255


def _errors_into(form, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = "validity" if field == "reference_validity_hours" else field
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))


def _home(request: HttpRequest) -> HttpResponse:
    return redirect("payments:methods", merchant=request.access.merchant.slug)


# --------------------------------------------------------------------------- methods (matrix)


@merchant_view(MANAGE)
def matrix(request: HttpRequest) -> HttpResponse:
    access = request.access
    return render(
        request,
        "payments/methods/matrix.html",
        {
            "methods": list(Method),
            "rows": selectors.matrix(access=access),
            "requests": selectors.request_list(access=access)[:20],
            "active": "payment_methods",
            "outcomes": CheckOutcome,
        },
    )


@merchant_view(MANAGE)
def setting_edit(request: HttpRequest, scope: str, method: str) -> HttpResponse:
    access = request.access
    if method not in Method.values or len(scope) > 40:
        raise Http404
    try:
        parsed, store, terminal = selectors.scope_get(access=access, key=scope)
    except ObjectDoesNotExist:
        raise Http404 from None
    editable = not (parsed.level == MERCHANT and access.is_store_limited)
    config = selectors.configuration(access=access)
    above = selectors.inherited_at(config, parsed, terminal, method)
    effective = selectors.resolve_at(config, parsed, terminal, method)
    kwargs = {"access": access, "method": method, "inherited": above, "top": parsed.level == MERCHANT}
    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("You can only configure the stores you have access to."))
        form = SettingForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                setting_services.setting_save(
                    access=access, actor=actor_from_request(request), scope=parsed, method=method, values=form.values()
                )
            except (ValidationError, PermissionDenied) as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("%(method)s saved.") % {"method": Method(method).label})
                return _home(request)
        status = 400
    else:
        form = SettingForm(initial=initial_for(config.own(parsed, method), method), **kwargs)
    if parsed.level == TERMINAL:
        where = _("terminal %(terminal)s") % {"terminal": terminal}
    elif parsed.level == STORE:
        where = _("store %(store)s (default for its terminals)") % {"store": store}
    else:
        where = _("the whole merchant (default for every store and terminal)")
    return render(
        request,
        "payments/methods/setting.html",
        {
            "form": form,
            "method": Method(method),
            "where": where,
            "scope": parsed,
            "effective": effective,
            "has_settings": bool(SETTINGS.get(method)),
            "editable": editable,
            "checks": selectors.check_list(access=access, terminal=terminal) if terminal else [],
            "active": "payment_methods",
        },
        status=status,
    )


@require_POST
@merchant_view(MANAGE)
def terminal_check(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    try:
        terminal = selectors.terminal_get(access=access, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None
    check = check_services.terminal_check(terminal_pk=terminal.pk, actor=actor_from_request(request))
    level = {CheckOutcome.AGREES: messages.SUCCESS, CheckOutcome.DIFFERS: messages.WARNING}.get(
        check.outcome, messages.ERROR
    )
    messages.add_message(
        request,
        level,
        _("Check with SIBS, terminal %(terminal)s: %(detail)s")
        % {"terminal": terminal.terminal_id, "detail": check.detail},
    )
    return _home(request)


# --------------------------------------------------------------------------- entities


@merchant_view(MANAGE)
def entities(request: HttpRequest) -> HttpResponse:
    access = request.access
    status = 200
    form = EntityForm()
    if request.method == "POST":
        form = EntityForm(request.POST)
        if form.is_valid():
            try:
                entity = setting_services.entity_create(
                    access=access,
                    actor=actor_from_request(request),
                    entity=form.cleaned_data["entity"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:  # PermissionDenied (a store-limited person) is a 403
                _errors_into(form, exc)
            else:
                messages.success(request, _("Payment entity %(entity)s added.") % {"entity": entity.entity})
                return redirect("payments:method_entities", merchant=access.merchant.slug)
        status = 400
    return render(
        request,
        "payments/methods/entities.html",
        {"form": form, "entities": selectors.entity_list(access=access), "active": "payment_methods"},
        status=status,
    )


@require_POST
@merchant_view(MANAGE)
def entity_disable(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    try:
        entity = selectors.entity_get(access=access, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None
    try:
        setting_services.entity_disable(access=access, actor=actor_from_request(request), entity=entity)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Payment entity %(entity)s disabled.") % {"entity": entity.entity})
    return redirect("payments:method_entities", merchant=access.merchant.slug)


# --------------------------------------------------------------------------- mandates and tokens


def _printable(text: str) -> str:
    # A search box's text goes into a query: no NUL or control characters (PostgreSQL refuses NUL).
    return "".join(c for c in text if c.isprintable())


MANDATE_STATUSES = [
    ("active", _("Active")),
    ("suspended", _("Suspended")),
    ("cancelled", _("Cancelled")),
    ("expired", _("Expired")),
    ("refused", _("Refused")),
]


@merchant_view(MANAGE)
def mandates(request: HttpRequest) -> HttpResponse:
    query = _printable(request.GET.get("q", ""))[:100]
    status = request.GET.get("status", "")
    if status not in dict(MANDATE_STATUSES):
        status = ""
    return render(
        request,
        "payments/methods/mandates.html",
        {
            "mandates": selectors.mandate_list(access=request.access, query=query, status=status),
            "q": query,
            "status": status,
            "statuses": MANDATE_STATUSES,
            "active": "payment_methods",
        },
    )


@merchant_view(MANAGE)
def mandate_detail(request: HttpRequest, mandate_id: str) -> HttpResponse:
    if not 0 < len(mandate_id) <= MAX_KEY or not mandate_id.isprintable():
        raise Http404
    transactions = list(selectors.mandate_transactions(access=request.access, mandate_id=mandate_id)[:200])
    if not transactions:
        raise Http404
    return render(
        request,
        "payments/methods/linked_transactions.html",
        {
            "tab": "mandates",
            "title": _("Authorised payment %(id)s") % {"id": mandate_id},
            "transactions": transactions,
            "active": "payment_methods",
        },
    )


@merchant_view(MANAGE)
def tokens(request: HttpRequest) -> HttpResponse:
    query = _printable(request.GET.get("q", ""))[:64]
    return render(
        request,
        "payments/methods/tokens.html",
        {"tokens": selectors.token_list(access=request.access, query=query), "q": query, "active": "payment_methods"},
    )


@merchant_view(MANAGE)
def token_detail(request: HttpRequest) -> HttpResponse:
    masked = request.GET.get("token", "")
    if not 0 < len(masked) <= 64 or not masked.isprintable():
        raise Http404
    transactions = list(selectors.token_transactions(access=request.access, masked=masked)[:200])
    if not transactions:
        raise Http404
    return render(
        request,
        "payments/methods/linked_transactions.html",
        {
            "tab": "tokens",
            "title": _("Card token %(token)s") % {"token": masked},
            "transactions": transactions,
            "active": "payment_methods",
        },
    )


# --------------------------------------------------------------------------- requests


@merchant_view(MANAGE)
def request_new(request: HttpRequest) -> HttpResponse:
    access = request.access
    status = 200
    initial = {}
    if request.GET.get("method") in Method.values:
        initial["method"] = request.GET["method"]
    if request.user.is_authenticated:
        initial.update(contact_name=request.user.full_name, contact_email=request.user.email)
    form = RequestForm(access=access, initial=initial)
    if request.method == "POST":
        form = RequestForm(request.POST, access=access)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = request_services.request_create(
                    access=access,
                    actor=actor_from_request(request),
                    method=data["method"],
                    stores=list(data["stores"]),
                    terminals=list(data["terminals"]),
                    expected_volume=data["expected_volume"],
                    contact_name=data["contact_name"],
                    contact_email=data["contact_email"],
                    contact_phone=data["contact_phone"],
                    notes=data["notes"],
                )
            except (ValidationError, PermissionDenied) as exc:
                _errors_into(form, exc)
            else:
                messages.success(
                    request,
                    _("Request for %(method)s sent: the platform team will write to you at each step.")
                    % {"method": created.get_method_display()},
                )
                return _home(request)
        status = 400
    return render(
        request,
        "payments/methods/request_new.html",
        {"form": form, "active": "payment_methods", "states": RequestState},
        status=status,
    )
