"""The charts: plotly figures built here, with the table of the numbers each one draws, the CSV
of those numbers, and where a click on each bar or point leads (the transaction list with the
same filters, narrowed to that bar).

Colours are the Okabe-Ito palette (distinct for the common kinds of colour blindness), and
every series also differs by position or line style, never by colour alone. Numbers follow the
language: ``1 234,56 €`` in Portuguese, ``€1,234.56`` in English.
"""

from __future__ import annotations

import csv
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import plotly.graph_objects as go
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from common.money import NNBSP, format_money
from payments.dashboards.models import DelayBand, Grain, Kind, Outcome
from payments.dashboards.periods import Query, Window
from payments.dashboards.selectors import Cockpit, History, Totals
from payments.dashboards.services import LISBON
from payments.models import TransactionState
from payments.sibs.enums import PaymentMethod, PaymentType
from payments.sibs.errors import describe

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
METHOD_COLOURS = {m.value: PALETTE[i % len(PALETTE)] for i, m in enumerate(PaymentMethod)}
COMPARE_COLOUR = "#444444"

# The list filters a drill-down adds for "successful payments" (see selectors' definitions).
SUCCESS_STATES = [
    TransactionState.PAID,
    TransactionState.PARTIALLY_REFUNDED,
    TransactionState.REFUNDED,
    TransactionState.AUTHORISED,
]
PAYMENT_TYPES = [
    PaymentType.PURCHASE,
    PaymentType.REFERENCE_PAYMENT,
    PaymentType.MERCHANT_INITIATED,
    PaymentType.AUTHORISATION,
]


# --------------------------------------------------------------------------- formatting


_current = threading.local()


def language() -> str:
    """``pt`` or ``en``: read once per page (a page formats a couple of thousand numbers)."""
    cached = getattr(_current, "language", None)
    if cached:
        return cached
    return "pt" if (translation.get_language() or "en").startswith("pt") else "en"


@contextmanager
def one_language():
    _current.language = None
    _current.language = language()
    try:
        yield _current.language
    finally:
        _current.language = None


def fmt_int(n: int | None) -> str:
    if n is None:
        return "—"
    sep = NNBSP if language() == "pt" else ","
    return f"{n:,}".replace(",", sep)


def fmt_pct(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:.1f}"
    return (text.replace(".", ",") + NNBSP + "%") if language() == "pt" else text + "%"


def hour_labels(hours: list[datetime], pattern: str = "%d/%m %H:%M") -> list[str]:
    """Lisbon clock times; the hour that repeats when summer time ends gets its zone (WEST, then
    WET) so the two bars stay two."""
    labels = [h.astimezone(LISBON).strftime(pattern) for h in hours]
    repeated = {label for label in labels if labels.count(label) > 1}
    return [
        f"{label} {h.astimezone(LISBON):%Z}" if label in repeated else label
        for label, h in zip(labels, hours, strict=True)
    ]


def labels_for(buckets: list[datetime], grain: str) -> list[str]:
    if grain == Grain.HOUR:
        return hour_labels(buckets)
    return [bucket_label(b, grain) for b in buckets]


def bucket_label(start: datetime, grain: str) -> str:
    local = start.astimezone(LISBON)
    if grain == Grain.HOUR:
        return local.strftime("%d/%m %H:%M %Z")
    if grain == Grain.DAY:
        return local.strftime("%d/%m/%Y")
    if grain == Grain.WEEK:
        return _("week of %(day)s") % {"day": local.strftime("%d/%m/%Y")}
    return local.strftime("%m/%Y")


def method_label(method: str) -> str:
    try:
        return str(PaymentMethod(method).label)
    except ValueError:
        return method or _("(none)")


def _layout(*, money_axis: bool = False, currency: str = "EUR", **extra) -> dict:
    pt = language() == "pt"
    layout = {
        "separators": ", " if pt else ".,",
        "margin": {"l": 56, "r": 16, "t": 8, "b": 48},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.2},
        "hovermode": "closest",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "yaxis": {"rangemode": "tozero", "gridcolor": "#ddd"},
        "xaxis": {"type": "category"},
    }
    if money_axis:
        layout["yaxis"]["ticksuffix" if pt else "tickprefix"] = (" €" if pt else "€") if currency == "EUR" else ""
    layout.update(extra)
    return layout


def money_hover(currency: str) -> str:
    symbol = "€" if currency == "EUR" else currency
    return "%{y:,.2f}" + NNBSP + symbol if language() == "pt" else symbol + "%{y:,.2f}"


# --------------------------------------------------------------------------- links


def _encode(params) -> str:
    return urlencode(params)


class Links:
    """URLs of the transaction list narrowed to a bar, keeping the dashboard's filters. A page
    has a link per bar and table cell (a thousand or more): the parts shared by all of them are
    encoded once."""

    def __init__(self, merchant_slug: str, query: Query):
        self.query = query
        self.base = reverse("payments:transactions", kwargs={"merchant": merchant_slug}) + "?"
        q = query
        self._stores = _encode([("store", s) for s in q.store_ids])
        self._terminals = _encode([("terminal", t) for t in q.terminal_numbers])
        self._methods = _encode([("method", m) for m in q.methods])
        self._currency = _encode([("currency", q.currency)])
        self._cache: dict = {}

    def _part(self, name: str, values) -> str:
        key = (name, tuple(values))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _encode([(name, str(v)) for v in values])
        return found

    def _span(self, start: datetime, end: datetime, grain: str) -> str:
        key = ("span", start, end, grain)
        found = self._cache.get(key)
        if found is None:
            if grain == Grain.HOUR:
                first = start.astimezone(LISBON).isoformat(timespec="seconds")
                last = end.astimezone(LISBON).isoformat(timespec="seconds")
            else:
                first = start.astimezone(LISBON).date().isoformat()
                last = (end - timedelta(microseconds=1)).astimezone(LISBON).date().isoformat()
            found = self._cache[key] = _encode([("from", first), ("to", last)])
        return found

    def url(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        grain: str | None = None,
        states=(),
        types=(),
        methods=None,
        store: int | None = None,
        terminal: int | None = None,
        code: str | None = None,
    ) -> str:
        q = self.query
        if start is None:
            start, end, grain = q.window.since, q.window.until, q.window.grain
        parts = [
            self._span(start, end, grain),
            self._stores if store is None else self._part("store", [store]),
            self._terminals if terminal is None else self._part("terminal", [terminal]),
            self._methods if methods is None else self._part("method", methods),
            self._part("type", types),
            self._part("status", states),
            "" if code is None else _encode([("code", code)]),
            self._currency,
        ]
        return self.base + "&".join(p for p in parts if p)

    def bucket(self, window: Window, start: datetime, **kwargs) -> str:
        # Several charts link the same bar (volume, count, success rate): built once.
        key = (start, window.grain, *((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.url(start=start, end=window.bucket_end(start), grain=window.grain, **kwargs)
        return found


# --------------------------------------------------------------------------- charts


@dataclass
class Cell:
    text: str
    value: object = None  # for the CSV (raw number, ISO date…)
    url: str = ""


@dataclass
class Chart:
    key: str
    title: str
    figure: dict
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    def table_html(self) -> str:
        """The numbers as an HTML table (what screen readers read); built here rather than in
        a template: a page has a couple of thousand cells."""
        out = ['<table><caption class="sr-only">', escape(self.title), "</caption><thead><tr>"]
        out += [f'<th scope="col">{escape(h)}</th>' for h in self.headers]
        out.append("</tr></thead><tbody>")
        for row in self.rows:
            out.append("<tr>")
            for i, cell in enumerate(row):
                text = escape(cell.text)
                if i == 0:
                    out.append(f'<th scope="row">{text}</th>')
                elif cell.url:
                    out.append(f'<td><a href="{escape(cell.url)}">{text}</a></td>')
                else:
                    out.append(f"<td>{text}</td>")
            out.append("</tr>")
        if not self.rows:
            out.append(f'<tr><td colspan="{len(self.headers)}">{escape(_("Nothing in this period."))}</td></tr>')
        out.append("</tbody></table>")
        return mark_safe("".join(out))  # noqa: S308 (every text above is escaped)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.headers)
        for row in self.rows:
            writer.writerow(["" if c.value is None else c.value for c in row])
        return out.getvalue()


# Every figure is a plotly figure (``{"data": [...], "layout": {...}}`` in plotly's schema),
# built here. With ``VALIDATE`` (the test suite) each one goes through
# ``plotly.graph_objects.Figure``, which checks every property against plotly's schema and
# fails on any it does not know; at run time that check is skipped: it costs 5 to 40 ms a
# figure, and the same code builds the same shapes.
VALIDATE = False
_TRACE_TYPES = {go.Bar: "bar", go.Scatter: "scatter"}


def _trace(cls, **kwargs) -> dict:
    return {"type": _TRACE_TYPES[cls], **kwargs}


def _figure(traces: list, layout: dict) -> dict:
    figure = {"data": traces, "layout": layout}
    if VALIDATE:
        return go.Figure(figure).to_plotly_json()
    return figure


def _money_cell(amount: Decimal, currency: str, url: str = "") -> Cell:
    return Cell(format_money(amount, currency, language()), f"{amount:.2f}", url)


def _int_cell(n: int, url: str = "") -> Cell:
    return Cell(fmt_int(n), n, url)


def _iso(start: datetime, grain: str) -> str:
    local = start.astimezone(LISBON)
    return local.isoformat(timespec="minutes") if grain == Grain.HOUR else local.date().isoformat()


def volume_chart(h: History, links: Links, *, counts: bool) -> Chart:
    """Gross volume (or successful payments) per bucket, stacked by method; the comparison as a line."""
    q, window = h.query, h.query.window
    labels = labels_for(h.buckets, window.grain)
    traces = []
    for i, method in enumerate(h.methods):
        values = [
            (h.series[b].successes(method) if counts else float(h.series[b].gross(method))) if b in h.series else 0
            for b in h.buckets
        ]
        traces.append(
            _trace(
                go.Bar,
                name=method_label(method),
                x=labels,
                y=values,
                marker={"color": METHOD_COLOURS.get(method, PALETTE[i % len(PALETTE)])},
                customdata=[
                    links.bucket(window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES, methods=[method])
                    for b in h.buckets
                ],
                hovertemplate=("%{y:,}" if counts else money_hover(q.currency)) + "<extra>%{fullData.name}</extra>",
            )
        )
    compare = []
    if h.compare_buckets:
        compare = [
            (h.compare_series[b].successes() if counts else float(h.compare_series[b].gross()))
            if b in h.compare_series
            else 0
            for b in h.compare_buckets[: len(h.buckets)]
        ]
        traces.append(
            _trace(
                go.Scatter,
                name=compare_name(q),
                x=labels[: len(compare)],
                y=compare,
                mode="lines+markers",
                line={"color": COMPARE_COLOUR, "dash": "dash"},
                customdata=[
                    links.bucket(q.compare_window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES)
                    for b in h.compare_buckets[: len(compare)]
                ],
            )
        )
    figure = _figure(traces, _layout(money_axis=not counts, currency=q.currency, barmode="stack"))
    headers = [
        _("Period"),
        *[method_label(m) for m in h.methods],
        _("Total"),
        compare_name(q) if h.compare_buckets else "",
    ]
    rows = []
    for i, b in enumerate(h.buckets):
        t = h.series.get(b) or Totals()
        row = [Cell(labels[i], _iso(b, window.grain))]
        for m in h.methods:
            url = links.bucket(window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES, methods=[m])
            row.append(_int_cell(t.successes(m), url) if counts else _money_cell(t.gross(m), q.currency, url))
        url = links.bucket(window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES)
        row.append(_int_cell(t.successes(), url) if counts else _money_cell(t.gross(), q.currency, url))
        if h.compare_buckets:
            c = h.compare_series.get(h.compare_buckets[i]) if i < len(h.compare_buckets) else None
            c = c or Totals()
            row.append(_int_cell(c.successes()) if counts else _money_cell(c.gross(), q.currency))
        rows.append(row)
    if not h.compare_buckets:
        headers = headers[:-1]
    title = _("Successful payments") if counts else _("Gross volume")
    return Chart("count" if counts else "volume", title, figure, headers, rows)


def compare_name(q: Query) -> str:
    if q.comparison == "year":
        return _("Same period a year earlier")
    return _("Previous period")


def success_chart(h: History, links: Links) -> Chart:
    q, window = h.query, h.query.window
    labels = labels_for(h.buckets, window.grain)
    rates = [h.series[b].success_rate() if b in h.series else None for b in h.buckets]
    traces = [
        _trace(
            go.Scatter,
            name=_("Success rate"),
            x=labels,
            y=[None if r is None else round(r * 100, 2) for r in rates],
            mode="lines+markers",
            line={"color": PALETTE[2]},
            customdata=[links.bucket(window, b, types=PAYMENT_TYPES) for b in h.buckets],
            hovertemplate="%{y:.1f} %<extra></extra>",
        )
    ]
    if h.compare_buckets:
        compare = [
            h.compare_series[b].success_rate() if b in h.compare_series else None
            for b in h.compare_buckets[: len(h.buckets)]
        ]
        traces.append(
            _trace(
                go.Scatter,
                name=compare_name(q),
                x=labels[: len(compare)],
                y=[None if r is None else round(r * 100, 2) for r in compare],
                mode="lines",
                line={"color": COMPARE_COLOUR, "dash": "dash"},
                customdata=[links.bucket(q.compare_window, b, types=PAYMENT_TYPES) for b in h.compare_buckets],
            )
        )
    layout = _layout()
    layout["yaxis"] = {"range": [0, 100], "ticksuffix": " %", "gridcolor": "#ddd"}
    headers = [
        _("Period"),
        _("Successful"),
        _("Declined"),
        _("Success rate"),
        _("Technical errors"),
        _("Never answered"),
    ]
    rows = []
    for i, b in enumerate(h.buckets):
        t = h.series.get(b) or Totals()
        rate = t.success_rate()
        rows.append(
            [
                Cell(labels[i], _iso(b, window.grain)),
                _int_cell(t.successes(), links.bucket(window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES)),
                _int_cell(
                    t.declines(), links.bucket(window, b, states=[TransactionState.DECLINED], types=PAYMENT_TYPES)
                ),
                Cell(fmt_pct(rate), "" if rate is None else f"{rate:.4f}"),
                _int_cell(t.errors(), links.bucket(window, b, states=[TransactionState.FAILED], types=PAYMENT_TYPES)),
                _int_cell(
                    t.unanswered(), links.bucket(window, b, states=[TransactionState.EXPIRED], types=PAYMENT_TYPES)
                ),
            ]
        )
    note = _(
        "Success rate = successful ÷ (successful + declined). Technical errors and MB WAY requests the customer "
        "never answered are counted beside it, not in it; MULTIBANCO references count once paid."
    )
    return Chart("success", _("Success rate"), _figure(traces, layout), headers, rows, note)


def places_chart(h: History, links: Links, *, names: dict, terminals: bool) -> Chart:
    q = h.query
    items = h.terminals if terminals else h.stores
    items = sorted(items, key=lambda it: -it["totals"].gross())

    def label(it) -> str:
        if terminals:
            return names["terminals"].get(it["terminal_id"], _("Unknown terminal"))
        return names["stores"].get(it["store_id"], _("No store (terminal unknown)"))

    def url(it, states=SUCCESS_STATES) -> str:
        number = names["terminal_numbers"].get(it["terminal_id"]) if terminals else None
        if terminals and number is None:
            return ""
        store = None if terminals else it["store_id"]
        if not terminals and store is None:
            return ""
        return links.url(states=states, types=PAYMENT_TYPES, store=store, terminal=number)

    traces = [
        _trace(
            go.Bar,
            name=_("Gross volume"),
            y=[label(it) for it in items],
            x=[float(it["totals"].gross()) for it in items],
            orientation="h",
            marker={"color": PALETTE[0]},
            customdata=[url(it) for it in items],
            hovertemplate=money_hover(q.currency).replace("%{y", "%{x") + "<extra></extra>",
        )
    ]
    layout = _layout(height=max(160, 40 * len(items) + 60))
    layout["xaxis"] = {"rangemode": "tozero", "gridcolor": "#ddd"}
    layout["yaxis"] = {"type": "category", "autorange": "reversed", "automargin": True}
    headers = [_("Terminal") if terminals else _("Store"), _("Successful"), _("Gross volume"), _("Success rate")]
    rows = [
        [
            Cell(label(it), label(it)),
            _int_cell(it["totals"].successes(), url(it)),
            _money_cell(it["totals"].gross(), q.currency, url(it)),
            Cell(fmt_pct(it["totals"].success_rate()), f"{it['totals'].success_rate() or 0:.4f}"),
        ]
        for it in items
    ]
    key, title = ("terminals", _("By terminal")) if terminals else ("stores", _("By store"))
    return Chart(key, title, _figure(traces, layout), headers, rows)


def declines_chart(h: History, links: Links) -> Chart:
    q = h.query
    total = sum(r["n"] for r in h.declines) or 1
    lang = "pt-PT" if language() == "pt" else "en"
    top = h.declines[:10]

    def words(code: str) -> str:
        return describe(code, language=lang).merchant_message if code else _("No code given")

    def url(row) -> str:
        state = TransactionState.DECLINED if row["outcome"] == Outcome.DECLINED else TransactionState.FAILED
        return links.url(states=[state], types=PAYMENT_TYPES, code=row["return_code"])

    traces = [
        _trace(
            go.Bar,
            name=_("Declines and errors"),
            y=[f"{r['return_code'] or '—'}" for r in top],
            x=[r["n"] for r in top],
            orientation="h",
            marker={"color": PALETTE[5]},
            customdata=[url(r) for r in top],
            text=[words(r["return_code"])[:60] for r in top],
            hovertemplate="%{y}: %{x:,}<br>%{text}<extra></extra>",
        )
    ]
    layout = _layout(height=max(160, 36 * len(top) + 60))
    layout["xaxis"] = {"rangemode": "tozero", "gridcolor": "#ddd"}
    layout["yaxis"] = {"type": "category", "autorange": "reversed", "automargin": True}
    headers = [_("Return code"), _("Meaning"), _("Outcome"), _("Count"), _("Share"), _("Amount")]
    rows = [
        [
            Cell(r["return_code"] or "—", r["return_code"]),
            Cell(words(r["return_code"]), words(r["return_code"])),
            Cell(str(Outcome(r["outcome"]).label), r["outcome"]),
            _int_cell(r["n"], url(r)),
            Cell(fmt_pct(r["n"] / total), f"{r['n'] / total:.4f}"),
            _money_cell(r["total"] or Decimal(0), q.currency),
        ]
        for r in h.declines
    ]
    return Chart("declines", _("Top decline reasons"), _figure(traces, layout), headers, rows)


def references_chart(h: History, links: Links) -> Chart:
    refs = h.references
    issued = refs.get("issued", 0)
    stages = [
        (_("Issued"), issued, []),
        (_("Paid"), refs.get(Outcome.SUCCESS, 0), SUCCESS_STATES),
        (_("Awaiting payment"), refs.get(Outcome.AWAITING, 0), [TransactionState.AWAITING_PAYMENT]),
        (_("Expired"), refs.get(Outcome.EXPIRED, 0), [TransactionState.EXPIRED]),
        (_("Cancelled"), refs.get(Outcome.CANCELLED, 0), [TransactionState.CANCELLED]),
    ]
    ref_url = {
        label: links.url(states=states, methods=[PaymentMethod.REFERENCE], types=[PaymentType.REFERENCE_PAYMENT])
        for label, _n, states in stages
    }
    delays = [(str(band.label), h.reference_delays.get(band.value, 0)) for band in DelayBand if band.value]
    traces = [
        _trace(
            go.Bar,
            name=_("References"),
            x=[s[0] for s in stages],
            y=[s[1] for s in stages],
            marker={"color": [PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[5], PALETTE[3]]},
            customdata=[ref_url[s[0]] for s in stages],
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        ),
        _trace(
            go.Bar,
            name=_("Time from issue to payment"),
            x=[d[0] for d in delays],
            y=[d[1] for d in delays],
            marker={"color": PALETTE[4]},
            xaxis="x2",
            yaxis="y2",
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        ),
    ]
    layout = _layout(showlegend=False)
    layout.update(
        {
            "grid": {"rows": 1, "columns": 2, "pattern": "independent"},
            "xaxis": {"type": "category", "domain": [0, 0.45]},
            "xaxis2": {"type": "category", "domain": [0.55, 1], "anchor": "y2"},
            "yaxis2": {"rangemode": "tozero", "anchor": "x2", "gridcolor": "#ddd"},
        }
    )
    conversion = refs.get(Outcome.SUCCESS, 0) / issued if issued else None
    headers = [_("Stage"), _("References"), _("Share of issued")]
    rows = [
        [Cell(label, label), _int_cell(n, ref_url[label]), Cell(fmt_pct(n / issued if issued else None), n)]
        for label, n, _s in stages
    ]
    rows += [
        [Cell(_("Paid in %(band)s") % {"band": label.lower()}, label), _int_cell(n), Cell("", "")]
        for label, n in delays
    ]
    note = _("Conversion (paid ÷ issued): %(rate)s.") % {"rate": fmt_pct(conversion)}
    return Chart("references", _("MULTIBANCO references"), _figure(traces, layout), headers, rows, note)


def money_chart(h: History, links: Links) -> Chart:
    q, window = h.query, h.query.window
    labels = labels_for(h.buckets, window.grain)
    refunds = [h.series[b].refunds()[0] if b in h.series else Decimal(0) for b in h.buckets]
    captures = [h.series[b].captures()[0] if b in h.series else Decimal(0) for b in h.buckets]
    nets = [h.series[b].net() if b in h.series else Decimal(0) for b in h.buckets]
    hover = money_hover(q.currency) + "<extra>%{fullData.name}</extra>"
    traces = [
        _trace(
            go.Bar,
            name=_("Refunds"),
            x=labels,
            y=[float(v) for v in refunds],
            marker={"color": PALETTE[5]},
            customdata=[
                links.bucket(window, b, types=[PaymentType.REFUND], states=[TransactionState.SUCCEEDED])
                for b in h.buckets
            ],
            hovertemplate=hover,
        ),
        _trace(
            go.Bar,
            name=_("Captures"),
            x=labels,
            y=[float(v) for v in captures],
            marker={"color": PALETTE[4]},
            customdata=[
                links.bucket(window, b, types=[PaymentType.CAPTURE], states=[TransactionState.SUCCEEDED])
                for b in h.buckets
            ],
            hovertemplate=hover,
        ),
        _trace(
            go.Scatter,
            name=_("Net volume"),
            x=labels,
            y=[float(v) for v in nets],
            mode="lines+markers",
            line={"color": PALETTE[7]},
            customdata=[links.bucket(window, b, states=SUCCESS_STATES, types=PAYMENT_TYPES) for b in h.buckets],
            hovertemplate=hover,
        ),
    ]
    figure = _figure(traces, _layout(money_axis=True, currency=q.currency, barmode="group"))
    headers = [_("Period"), _("Gross volume"), _("Refunds"), _("Net volume"), _("Captures")]
    rows = []
    for i, b in enumerate(h.buckets):
        t = h.series.get(b) or Totals()
        rows.append(
            [
                Cell(labels[i], _iso(b, window.grain)),
                _money_cell(t.gross(), q.currency),
                _money_cell(
                    t.refunds()[0],
                    q.currency,
                    links.bucket(window, b, types=[PaymentType.REFUND], states=[TransactionState.SUCCEEDED]),
                ),
                _money_cell(t.net(), q.currency),
                _money_cell(
                    t.captures()[0],
                    q.currency,
                    links.bucket(window, b, types=[PaymentType.CAPTURE], states=[TransactionState.SUCCEEDED]),
                ),
            ]
        )
    note = _("Net volume = gross volume - refunds.")
    return Chart("money", _("Refunds, captures and net volume"), figure, headers, rows, note)


def history_charts(h: History, links: Links, names: dict) -> list[Chart]:
    with one_language():
        return _history_charts(h, links, names)


def _history_charts(h: History, links: Links, names: dict) -> list[Chart]:
    return [
        volume_chart(h, links, counts=False),
        volume_chart(h, links, counts=True),
        success_chart(h, links),
        places_chart(h, links, names=names, terminals=False),
        places_chart(h, links, names=names, terminals=True),
        declines_chart(h, links),
        references_chart(h, links),
        money_chart(h, links),
    ]


def cockpit_chart(c: Cockpit, links: Links, currency: str) -> Chart:
    with one_language():
        return _cockpit_chart(c, links, currency)


def _cockpit_chart(c: Cockpit, links: Links, currency: str) -> Chart:
    labels = hour_labels(c.hours, "%H:%M")
    traces = []
    hour_window = Window(c.hours[0], c.hours[-1] + timedelta(hours=1), Grain.HOUR)
    for i, method in enumerate(c.methods):
        traces.append(
            _trace(
                go.Bar,
                name=method_label(method),
                x=labels,
                y=[float(c.by_hour[h].gross(method)) if h in c.by_hour else 0 for h in c.hours],
                marker={"color": METHOD_COLOURS.get(method, PALETTE[i % len(PALETTE)])},
                customdata=[
                    links.bucket(hour_window, h, states=SUCCESS_STATES, types=PAYMENT_TYPES, methods=[method])
                    for h in c.hours
                ],
                hovertemplate=money_hover(currency) + "<extra>%{fullData.name}</extra>",
            )
        )
    traces.append(
        _trace(
            go.Scatter,
            name=_("Successful payments"),
            x=labels,
            y=[c.by_hour[h].successes() if h in c.by_hour else 0 for h in c.hours],
            yaxis="y2",
            mode="lines+markers",
            line={"color": COMPARE_COLOUR, "dash": "dot"},
            customdata=[links.bucket(hour_window, h, states=SUCCESS_STATES, types=PAYMENT_TYPES) for h in c.hours],
        )
    )
    layout = _layout(money_axis=True, currency=currency, barmode="stack")
    layout["yaxis2"] = {"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False}
    headers = [_("Hour (Lisbon)"), *[method_label(m) for m in c.methods], _("Gross volume"), _("Successful payments")]
    rows = []
    for i, h in enumerate(c.hours):
        t = c.by_hour.get(h) or Totals()
        url = links.bucket(hour_window, h, states=SUCCESS_STATES, types=PAYMENT_TYPES)
        rows.append(
            [
                Cell(labels[i], h.astimezone(LISBON).isoformat(timespec="minutes")),
                *[_money_cell(t.gross(m), currency) for m in c.methods],
                _money_cell(t.gross(), currency, url),
                _int_cell(t.successes(), url),
            ]
        )
    return Chart("hourly", _("Last 24 hours, hour by hour"), _figure(traces, layout), headers, rows)


def change(current, before) -> dict:
    """Difference with a comparison, for a tile: text and direction."""
    if current is None or before is None:
        return {"text": "—", "direction": ""}
    if isinstance(current, float) or isinstance(before, float):
        diff = (current - before) * 100
        sep = "," if language() == "pt" else "."
        return {
            "text": f"{diff:+.1f}".replace(".", sep) + " pp",
            "direction": "up" if diff > 0 else "down" if diff < 0 else "",
        }
    if not before:
        return {"text": "—", "direction": "up" if current else ""}
    ratio = (Decimal(current) - Decimal(before)) / Decimal(before) * 100
    sep = "," if language() == "pt" else "."
    return {
        "text": f"{ratio:+.1f}".replace(".", sep) + " %",
        "direction": "up" if ratio > 0 else "down" if ratio < 0 else "",
    }


def day_label(day: date) -> str:
    return day.strftime("%d/%m/%Y")


__all__ = ["Chart", "Kind", "Links", "cockpit_chart", "history_charts"]
