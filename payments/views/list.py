"""The transaction list page, its tab counts, its live feed, and saved views.

- ``transactions``: the page (or, for htmx, just its results) for the filters in the URL.
- ``transactions_counts``: the status tabs with their counts, loaded after the page (htmx).
- ``transactions_live``: polled by the page every 1.5 s; JSON with the rows written since the
  token it was given (bounded, indexed: see ``payments.selectors.listing.live_changes``), each rendered
  as the row the page shows, and whether it matches the page's filters.
- ``saved_view_*``: save the current filters under a name, rename, delete.

Filters, search and pages all come from ``payments.selectors.listing``; the API uses the same.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.middleware import passive_request
from backoffice.roles import Capability
from payments.selectors import listing, saved_views
from payments.selectors.totals import MONEY_OUT, list_totals
from payments.services import saved_views as saved_view_services
from payments.sibs.enums import PaymentMethod, PaymentType

LIVE_POLL_MS = 1500
ROW_TEMPLATE = "payments/_transaction_row.html"


# What reverse() leaves unquoted in a path segment (django.urls.resolvers: RFC 3986 sub-delims
# plus "~:@"; "/" never appears here).
URL_SAFE = "!$&'()*+,;=~:@"


def _detail_prefix(access) -> str:
    """``/m/<merchant>/transactions/``: the detail link of a row is this plus its quoted id."""
    return reverse("payments:transactions", kwargs={"merchant": access.merchant.slug})


def _detail_url(prefix: str, txn) -> str:
    # What reverse() gives for payments:transaction, without resolving it once per row; an id no
    # URL can carry (a "/", or empty) is shown without a link rather than failing the page.
    tid = txn.transaction_id or ""
    if not tid or "/" in tid:
        return ""
    return f"{prefix}{quote(tid, safe=URL_SAFE)}/"


def _row_context(access, txn, prefix: str | None = None) -> dict:
    return {
        "t": txn,
        "merchant_slug": access.merchant.slug,
        "detail_url": _detail_url(prefix or _detail_prefix(access), txn),
        "row_key": listing.row_key(txn),
        "row_version": listing.row_version(txn),
        "method_label": _METHOD_LABELS.get(txn.payment_method, txn.payment_method),
        # A plain payment is just its method; anything else (a refund, a capture…) says what it is.
        "type_label": ""
        if txn.payment_type in PLAIN_PAYMENTS
        else _TYPE_LABELS.get(txn.payment_type, txn.payment_type),
        "money_out": txn.payment_type in MONEY_OUT,
    }


_METHOD_LABELS = {m.value: m.label for m in PaymentMethod}
_TYPE_LABELS = {t.value: t.label for t in PaymentType}
PLAIN_PAYMENTS = {PaymentType.PURCHASE, PaymentType.REFERENCE_PAYMENT, None, ""}


def _results_context(request: HttpRequest) -> dict:
    access = request.access
    filters, errors, form = listing.parse_filters(request.GET, access=access)
    notice = ""
    cursor = None
    raw_cursor = request.GET.get("cursor", "")
    if raw_cursor:
        try:
            cursor = listing.Cursor.decode(raw_cursor)
        except listing.InvalidCursor:
            notice = _("That page link is not valid (it may have been cut or changed): showing the first page.")
    page = listing.transaction_page(access=access, filters=filters, cursor=cursor)
    base = reverse("payments:transactions", kwargs={"merchant": access.merchant.slug})
    query = filters.query()
    tabs = [
        {"key": tab.value, "label": tab.label, "query": filters.query(without=("tab",), tab=tab.value)}
        for tab in listing.Tab
    ]
    field_labels = {name: form.fields[name].label or name for name in form.fields}
    return {
        "filters": filters,
        "errors": errors,
        "error_list": [(field_labels.get(name, name), msgs) for name, msgs in errors.items()],
        "form": form,
        "page": page,
        "rows": [_row_context(access, t, base) for t in page.rows],
        "notice": notice,
        "list_url": base,
        "query": query,
        "first_page_url": f"{base}?{query}" if query else base,
        "current_url": f"{base}?{filters.query(cursor=raw_cursor)}"
        if cursor
        else (f"{base}?{query}" if query else base),
        "next_url": f"{base}?{filters.query(cursor=page.next_cursor)}" if page.next_cursor else "",
        "prev_url": f"{base}?{filters.query(cursor=page.prev_cursor)}" if page.prev_cursor else "",
        "tabs": tabs,
        "counts_url": reverse("payments:transactions_counts", kwargs={"merchant": access.merchant.slug})
        + (f"?{query}" if query else ""),
        "live_url": reverse("payments:transactions_live", kwargs={"merchant": access.merchant.slug})
        + (f"?{query}" if query else ""),
        "live_since": listing.live_start_token(),
        "live_prepend": not filters.is_filtered and cursor is None,
        "top_key": listing.row_key(page.rows[0]) if page.rows and page.is_first else 0,
        "live_poll_ms": LIVE_POLL_MS,
    }


@require_GET
@merchant_view(Capability.VIEW_TRANSACTIONS)
def transactions(request: HttpRequest) -> HttpResponse:
    context = _results_context(request)
    if request.htmx and request.htmx.target == "txn-results":
        response = render(request, "payments/_transaction_results.html", {**context, "oob": True})
        # The address bar gets the normalised query (no empty fields), like a bookmark would.
        response["HX-Push-Url"] = context["current_url"]
        return response
    form = context["form"]
    filters = context["filters"]
    selected = {
        "store": {str(pk) for pk in filters.store_ids},
        "terminal": {str(t.terminal_id) for t in form.terminals if t.pk in filters.terminal_pks},
        "method": set(filters.methods),
        "type": set(filters.types),
        "status": set(filters.states),
    }
    context.update(
        active="transactions",
        periods=listing.Period.choices,
        main_choices=[
            _multi("status", form.fields["status"].label, form.fields["status"].choices, selected),
            _multi("method", form.fields["method"].label, PaymentMethod.choices, selected),
        ],
        more_choices=[
            *(
                [_multi("store", form.fields["store"].label, [(str(s.pk), s.name) for s in form.stores], selected)]
                if len(form.stores) > 1
                else []
            ),
            _multi(
                "terminal",
                form.fields["terminal"].label,
                [(str(t.terminal_id), f"{t.terminal_id} · {t.name}") for t in form.terminals],
                selected,
            ),
            _multi("type", form.fields["type"].label, PaymentType.choices, selected),
        ],
        more_open=bool(selected["store"] or selected["terminal"] or selected["type"] or filters.currency)
        or bool(filters.settlement)
        or filters.amount_min is not None
        or filters.amount_max is not None,
        saved=_saved_context(request, context["query"]),
    )
    return render(request, "payments/transactions.html", context)


def _multi(name: str, label, choices, selected: dict[str, set[str]]) -> dict:
    """A filter that takes several values: a menu of checkboxes, summed up in one line."""
    options = [{"value": str(value), "label": text, "checked": str(value) in selected[name]} for value, text in choices]
    chosen = [str(o["label"]) for o in options if o["checked"]]
    if not chosen:
        summary = _("Any")
    elif len(chosen) == 1:
        summary = chosen[0]
    else:
        summary = f"{chosen[0]} +{len(chosen) - 1}"
    return {"name": name, "label": label, "options": options, "summary": summary, "count": len(chosen)}


def _saved_context(request: HttpRequest, current_query: str) -> list[dict]:
    access = request.access
    return [
        {
            "view": view,
            "mine": view.owner_id == access.user.pk,
            "can_manage": saved_views.can_manage(access, view),
            "active": view.query == current_query,
        }
        for view in saved_views.saved_view_list(access=access)
    ]


@require_GET
@passive_request
@merchant_view(Capability.VIEW_TRANSACTIONS)
def transactions_counts(request: HttpRequest) -> HttpResponse:
    access = request.access
    filters, _errors, _form = listing.parse_filters(request.GET, access=access, choices=False)
    counts = {c.key: c for c in listing.tab_counts(access=access, filters=filters)}
    base = reverse("payments:transactions", kwargs={"merchant": access.merchant.slug})
    tabs = [
        {
            "key": tab.value,
            "label": tab.label,
            "query": filters.query(without=("tab",), tab=tab.value),
            "count": counts[tab.value],
        }
        for tab in listing.Tab
    ]
    # Finance asked for the totals of what they filter: count and net sum per currency.
    totals = list_totals(access=access, filters=filters) if filters.is_filtered else None
    return render(
        request,
        "payments/_transaction_tabs.html",
        {"tabs": tabs, "filters": filters, "list_url": base, "counted": True, "totals": totals},
    )


@require_GET
@passive_request
@merchant_view(Capability.VIEW_TRANSACTIONS)
def transactions_live(request: HttpRequest) -> HttpResponse:
    access = request.access
    filters, _errors, _form = listing.parse_filters(request.GET, access=access, choices=False)
    try:
        batch = listing.live_changes(access=access, filters=filters, token=request.GET.get("since", ""))
    except listing.InvalidCursor:
        return JsonResponse({"error": "invalid_since", "since": listing.live_start_token()}, status=400)
    template = get_template(ROW_TEMPLATE)
    prefix = _detail_prefix(access)
    rows = []
    for txn in batch.rows:
        context = _row_context(access, txn, prefix)
        rows.append(
            {
                "pk": txn.pk,
                "key": context["row_key"],
                "v": context["row_version"],
                "match": txn.pk in batch.matching_pks,
                "html": template.render(context),
            }
        )
    response = JsonResponse({"since": batch.token, "more": batch.more, "rows": rows})
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- saved views


def _back(request: HttpRequest, query: str = "") -> HttpResponse:
    base = reverse("payments:transactions", kwargs={"merchant": request.access.merchant.slug})
    return redirect(f"{base}?{query}" if query else base)


def _problem(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, ValidationError):
        text = " ".join(m for msgs in exc.message_dict.values() for m in msgs) if hasattr(exc, "error_dict") else ""
        messages.error(request, text or " ".join(exc.messages))
    else:
        messages.error(request, str(exc) or _("You cannot do this."))


@require_POST
@merchant_view(Capability.VIEW_TRANSACTIONS)
def saved_view_create(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")[:4000]
    try:
        view = saved_view_services.saved_view_create(
            access=request.access,
            actor=actor_from_request(request),
            name=request.POST.get("name", ""),
            query=query,
            shared=request.POST.get("shared") in ("1", "on", "true"),
        )
    except (ValidationError, PermissionDenied) as exc:
        _problem(request, exc)
        normalised, _errors = listing.normalise_query(query, access=request.access)
        return _back(request, normalised)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return _back(request, view.query)


@require_POST
@merchant_view(Capability.VIEW_TRANSACTIONS)
def saved_view_rename(request: HttpRequest, pk: int) -> HttpResponse:
    view = saved_views.saved_view_get(access=request.access, pk=pk)
    try:
        saved_view_services.saved_view_rename(
            access=request.access, actor=actor_from_request(request), view=view, name=request.POST.get("name", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        _problem(request, exc)
    else:
        messages.success(request, _("View renamed to “%(name)s”.") % {"name": view.name})
    return _back(request, view.query)


@require_POST
@merchant_view(Capability.VIEW_TRANSACTIONS)
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = saved_views.saved_view_get(access=request.access, pk=pk)
    name = view.name
    try:
        saved_view_services.saved_view_delete(access=request.access, actor=actor_from_request(request), view=view)
    except PermissionDenied as exc:
        _problem(request, exc)
        return _back(request, view.query)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": name})
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return _back(request)
