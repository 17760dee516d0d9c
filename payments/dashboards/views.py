"""Dashboard pages: the 24-hour cockpit (and its live refresh) and the history analysis, each
chart with its table and its CSV (``?csv=<chart>``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from backoffice.access import merchant_view
from backoffice.middleware import passive_request
from backoffice.roles import Capability
from common.money import format_money
from payments.dashboards import figures, selectors
from payments.dashboards.models import Grain
from payments.dashboards.periods import Comparison, Preset, parse_query
from payments.dashboards.services import LISBON

LIVE_SECONDS = 5


def _csv(chart: figures.Chart, name: str) -> HttpResponse:
    response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{chart.key}.csv"'
    return response


def _chart_from(charts: list[figures.Chart], key: str) -> figures.Chart:
    for chart in charts:
        if chart.key == key:
            return chart
    raise Http404("No such chart")


def _list(access, **params) -> str:
    return f"{reverse('payments:transactions', kwargs={'merchant': access.merchant.slug})}?{urlencode(params)}"


def _currency(request: HttpRequest) -> str:
    value = (request.GET.get("currency") or "EUR").strip().upper()
    return value if len(value) == 3 and value.isalpha() else "EUR"


def _tiles(c: selectors.Cockpit, currency: str) -> list[dict]:
    def money(v):
        return format_money(v, currency)

    def tile(label, now, prev, week, fmt, key):
        return {
            "key": key,
            "label": label,
            "value": fmt(now),
            "previous": fmt(prev),
            "previous_change": figures.change(now, prev),
            "week": fmt(week),
            "week_change": figures.change(now, week),
        }

    cur, prev, week = c.current, c.previous, c.week_ago
    return [
        tile(_("Gross volume"), cur.gross(), prev.gross(), week.gross(), money, "gross"),
        tile(_("Successful payments"), cur.successes(), prev.successes(), week.successes(), figures.fmt_int, "count"),
        tile(_("Success rate"), cur.success_rate(), prev.success_rate(), week.success_rate(), figures.fmt_pct, "rate"),
        tile(_("Average ticket"), cur.average_ticket(), prev.average_ticket(), week.average_ticket(), money, "ticket"),
        tile(_("Refunds"), cur.refunds()[0], prev.refunds()[0], week.refunds()[0], money, "refunds")
        | {"extra": _("%(count)s refunds") % {"count": figures.fmt_int(cur.refunds()[1])}},
    ]


def _cockpit_context(request: HttpRequest) -> dict:
    access = request.access
    currency = _currency(request)
    selectors.refresh(access)
    c = selectors.cockpit(access, currency=currency)
    from payments.dashboards.periods import Query, Window

    first = c.hours[0]
    query = Query(
        preset=Preset.TODAY,
        window=Window(first, c.hours[-1] + (c.hours[1] - c.hours[0]), Grain.HOUR),
        comparison=Comparison.NONE,
        compare_window=None,
        currency=currency,
    )
    links = figures.Links(access.merchant.slug, query)
    version = selectors.latest_change(access)
    return {
        "cockpit": c,
        "tiles": _tiles(c, currency),
        "chart": figures.cockpit_chart(c, links, currency),
        "currency": currency,
        "open_links": {
            "mbway": _list(access, method="MBWAY", status="pending", type="PURS", currency=currency),
            "references": _list(access, method="REFERENCE", status="awaiting_payment", currency=currency),
            "capture": _list(access, tab="to_capture", currency=currency),
        },
        "open_amounts": {
            "mbway": format_money(c.mbway_waiting_amount, currency),
            "references": format_money(c.references_unpaid_amount, currency),
            "capture": format_money(c.to_capture_amount, currency),
        },
        "version": version.isoformat() if version else "",
        "live_seconds": LIVE_SECONDS,
        "now_lisbon": c.now.astimezone(LISBON),
    }


@merchant_view(Capability.VIEW_DASHBOARDS)
def cockpit(request: HttpRequest) -> HttpResponse:
    context = _cockpit_context(request)
    if "csv" in request.GET:
        return _csv(_chart_from([context["chart"]], request.GET["csv"]), "cockpit")
    context.update(active="dashboards", tab="cockpit", currencies=selectors.currencies(request.access))
    return render(request, "payments/dashboards/cockpit.html", context)


@passive_request
@merchant_view(Capability.VIEW_DASHBOARDS)
def cockpit_live(request: HttpRequest) -> HttpResponse:
    """The open cockpit's poll: one index read when nothing changed (204, nothing to swap)."""
    raw = request.GET.get("v", "")
    try:
        seen = parse_datetime(raw) if len(raw) < 40 else None
    except ValueError:  # well formed, but no such moment
        seen = None
    latest = selectors.latest_change(request.access)
    if seen is not None and latest is not None and timezone.is_aware(seen) and latest <= seen:
        return HttpResponse(status=204)
    return render(request, "payments/dashboards/_cockpit_live.html", _cockpit_context(request))


@merchant_view(Capability.VIEW_DASHBOARDS)
def history(request: HttpRequest) -> HttpResponse:
    access = request.access
    query, errors, form = parse_query(request.GET, access=access)
    selectors.refresh(access)
    h = selectors.history(access, query)
    names = {
        "stores": {s.pk: s.name for s in form.stores},
        "terminals": {t.pk: f"{t.terminal_id} · {t.name}" for t in form.terminals},
        "terminal_numbers": {t.pk: t.terminal_id for t in form.terminals},
    }
    charts = figures.history_charts(h, figures.Links(access.merchant.slug, query), names)
    if "csv" in request.GET:
        return _csv(_chart_from(charts, request.GET["csv"]), "history")
    total, before = h.total, h.compare_total
    summary = [
        {
            "label": _("Gross volume"),
            "value": format_money(total.gross(), query.currency),
            "compare": format_money(before.gross(), query.currency),
            "change": figures.change(total.gross(), before.gross()),
        },
        {
            "label": _("Successful payments"),
            "value": figures.fmt_int(total.successes()),
            "compare": figures.fmt_int(before.successes()),
            "change": figures.change(total.successes(), before.successes()),
        },
        {
            "label": _("Success rate"),
            "value": figures.fmt_pct(total.success_rate()),
            "compare": figures.fmt_pct(before.success_rate()),
            "change": figures.change(total.success_rate(), before.success_rate()),
        },
        {
            "label": _("Refunds"),
            "value": format_money(total.refunds()[0], query.currency),
            "compare": format_money(before.refunds()[0], query.currency),
            "change": figures.change(total.refunds()[0], before.refunds()[0]),
        },
        {
            "label": _("Net volume"),
            "value": format_money(total.net(), query.currency),
            "compare": format_money(before.net(), query.currency),
            "change": figures.change(total.net(), before.net()),
        },
    ]
    context = {
        "active": "dashboards",
        "tab": "history",
        "form": form,
        "errors": errors,
        "query": query,
        "charts": charts,
        "summary": summary,
        "presets": Preset.choices,
        "grains": Grain.choices,
        "comparisons": Comparison.choices,
        "currencies": selectors.currencies(access),
        "first_day": query.window.first_day,
        "last_day": query.window.last_day,
        "compare_first": query.compare_window.first_day if query.compare_window else None,
        "compare_last": query.compare_window.last_day if query.compare_window else None,
        "compare_label": figures.compare_name(query),
        "selected_stores": {str(s) for s in query.store_ids},
        "selected_terminals": {str(t) for t in query.terminal_numbers},
        "selected_methods": set(query.methods),
        "stores": form.stores,
        "terminals": form.terminals,
        "methods": figures.PaymentMethod.choices,
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "payments/dashboards/history.html", context, status=400 if errors else 200)
