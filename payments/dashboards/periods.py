"""What a dashboard shows: the period, its grain, the comparison and the filters.

Periods are Lisbon calendar periods. A period is widened to whole buckets of its grain (whole
weeks, Monday to Sunday, or whole months), so that every bar counts a whole week or month; the
page says which dates it covers. The comparison is the previous period of the same length in
buckets, or the same buckets a year earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.access import Access
from payments.dashboards.models import Grain
from payments.dashboards.services import (
    HOUR,
    LISBON,
    day_start,
    hour_of,
    lisbon_midnight,
    month_start,
    next_day,
    next_month,
    next_week,
    week_start,
)
from payments.selectors.listing import visible_stores, visible_terminals
from payments.sibs.enums import PaymentMethod

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)
# Hour bars for at most this many days; day bars for at most this many.
MAX_HOUR_DAYS = 7
MAX_DAY_DAYS = 400


class Preset(models.TextChoices):
    TODAY = "today", _("Today")
    LAST_7D = "7d", _("Last 7 days")
    LAST_30D = "30d", _("Last 30 days")
    THIS_MONTH = "month", _("This month")
    LAST_MONTH = "last_month", _("Last month")
    LAST_12M = "12m", _("Last 12 months")
    CUSTOM = "custom", _("Custom")


class Comparison(models.TextChoices):
    PREVIOUS = "previous", _("Previous period")
    YEAR = "year", _("Same period a year earlier")
    NONE = "none", _("No comparison")


_STEP = {Grain.HOUR: lambda at: at + HOUR, Grain.DAY: next_day, Grain.WEEK: next_week, Grain.MONTH: next_month}
_START = {Grain.HOUR: hour_of, Grain.DAY: day_start, Grain.WEEK: week_start, Grain.MONTH: month_start}


@dataclass(frozen=True)
class Window:
    """``[since, until)`` cut into buckets of ``grain``."""

    since: datetime
    until: datetime
    grain: str

    @property
    def buckets(self) -> list[datetime]:
        out, at, step = [], self.since, _STEP[self.grain]
        while at < self.until:
            out.append(at)
            at = step(at)
        return out

    @property
    def first_day(self) -> date:
        return self.since.astimezone(LISBON).date()

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).astimezone(LISBON).date()

    def bucket_end(self, start: datetime) -> datetime:
        return _STEP[self.grain](start)

    def shifted(self, comparison: str) -> Window | None:
        """The comparison window: as many buckets, just before, or a year earlier."""
        if comparison == Comparison.PREVIOUS:
            count = len(self.buckets)
            if self.grain == Grain.HOUR:
                return Window(self.since - count * HOUR, self.since, self.grain)
            if self.grain == Grain.DAY:
                return Window(lisbon_midnight(self.first_day - timedelta(days=count)), self.since, self.grain)
            if self.grain == Grain.WEEK:
                return Window(lisbon_midnight(self.first_day - timedelta(weeks=count)), self.since, self.grain)
            day = self.first_day
            months = day.year * 12 + day.month - 1 - count
            return Window(lisbon_midnight(date(months // 12, months % 12 + 1, 1)), self.since, self.grain)
        if comparison == Comparison.YEAR:
            if self.grain == Grain.WEEK:  # 52 weeks: Mondays stay Mondays
                first = lisbon_midnight(self.first_day - timedelta(weeks=52))
                return Window(
                    first, lisbon_midnight(self.last_day + timedelta(days=1) - timedelta(weeks=52)), self.grain
                )
            start = _year_earlier(self.since)
            end = _year_earlier(self.until)
            return Window(_START[self.grain](start), end, self.grain)
        return None


def _year_earlier(moment: datetime) -> datetime:
    local = moment.astimezone(LISBON)
    day = local.date()
    try:
        day = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        day = day.replace(year=day.year - 1, day=28)
    return lisbon_midnight(day) + (local - lisbon_midnight(local.date()))


def auto_grain(first: date, last: date) -> str:
    days = (last - first).days + 1
    if days <= 2:
        return Grain.HOUR
    if days <= 92:
        return Grain.DAY
    if days <= 400:
        return Grain.WEEK
    return Grain.MONTH


def allowed_grains(first: date, last: date) -> list[str]:
    days = (last - first).days + 1
    grains = []
    if days <= MAX_HOUR_DAYS:
        grains.append(Grain.HOUR)
    if days <= MAX_DAY_DAYS:
        grains.append(Grain.DAY)
    return [*grains, Grain.WEEK, Grain.MONTH]


def preset_days(preset: str, today: date) -> tuple[date, date]:
    if preset == Preset.TODAY:
        return today, today
    if preset == Preset.LAST_7D:
        return today - timedelta(days=6), today
    if preset == Preset.LAST_30D:
        return today - timedelta(days=29), today
    if preset == Preset.THIS_MONTH:
        return today.replace(day=1), today
    if preset == Preset.LAST_MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    # 12 months: this month and the eleven before it
    months = today.year * 12 + today.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), today


def window_for(first: date, last: date, grain: str) -> Window:
    """Whole buckets of ``grain`` covering the Lisbon days ``first`` to ``last``."""
    since = _START[grain](lisbon_midnight(first))
    until = lisbon_midnight(last + timedelta(days=1))
    if grain in (Grain.WEEK, Grain.MONTH):
        end = _START[grain](until - timedelta(microseconds=1))
        until = _STEP[grain](end)
    return Window(since.astimezone(UTC) if grain == Grain.HOUR else since, until, grain)


@dataclass(frozen=True)
class Query:
    """A parsed dashboard query: the window, its comparison and the filters (already checked
    against what the person may see)."""

    preset: str
    window: Window
    comparison: str
    compare_window: Window | None
    store_ids: tuple[int, ...] = ()
    terminal_pks: tuple[int, ...] = ()
    terminal_numbers: tuple[int, ...] = ()
    methods: tuple[str, ...] = ()
    currency: str = "EUR"


class _Multi(forms.MultipleChoiceField):
    def clean(self, value):
        return list(dict.fromkeys(super().clean(value)))


class DashboardForm(forms.Form):
    period = forms.ChoiceField(required=False, choices=Preset.choices, label=_("Period"))
    grain = forms.ChoiceField(required=False, choices=Grain.choices, label=_("Bars by"))
    compare = forms.ChoiceField(required=False, choices=Comparison.choices, label=_("Compare with"))
    store = _Multi(required=False, label=_("Store"))
    terminal = _Multi(required=False, label=_("Terminal"))
    method = _Multi(required=False, choices=PaymentMethod.choices, label=_("Method"))
    currency = forms.RegexField(required=False, regex=r"^[A-Za-z]{3}$", label=_("Currency"))

    def __init__(self, data, *, access: Access):
        super().__init__(data)
        self.fields["from"] = forms.DateField(required=False, label=_("From"), input_formats=["%Y-%m-%d"])
        self.fields["to"] = forms.DateField(required=False, label=_("To"), input_formats=["%Y-%m-%d"])
        self.stores = list(visible_stores(access))
        self.terminals = list(visible_terminals(access))
        self.fields["store"].choices = [(str(s.pk), s.name) for s in self.stores]
        self.fields["terminal"].choices = [(str(t.terminal_id), f"{t.terminal_id} · {t.name}") for t in self.terminals]

    def clean(self):
        data = super().clean()
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day < LATEST:
                self.add_error(name, forms.ValidationError(_("Choose a date between 2000 and 2099."), code="range"))
        first, last = data.get("from"), data.get("to")
        if data.get("period") == Preset.CUSTOM or first or last:
            if first is None and "from" not in self.errors:
                self.add_error("from", forms.ValidationError(_("Choose the first day."), code="required"))
            if last is None and "to" not in self.errors:
                self.add_error("to", forms.ValidationError(_("Choose the last day."), code="required"))
            if first and last and first > last:
                self.add_error("to", forms.ValidationError(_("The end is before the start."), code="range"))
        return data


def parse_query(
    params, *, access: Access, now: datetime | None = None
) -> tuple[Query, dict[str, list[str]], DashboardForm]:
    """The dashboard query in ``params`` and the errors of the parameters left out. An invalid
    parameter is reported and ignored (its default applies), never guessed at."""
    form = DashboardForm(params, access=access)
    form.is_valid()
    data, errors = form.cleaned_data, {k: [str(m) for m in v] for k, v in form.errors.items()}
    today = (now or timezone.now()).astimezone(LISBON).date()
    preset = data.get("period") or Preset.LAST_30D
    if data.get("from") and data.get("to") and not ({"from", "to"} & set(errors)):
        preset, first, last = Preset.CUSTOM, data["from"], data["to"]
    else:
        if preset == Preset.CUSTOM:
            preset = Preset.LAST_30D
        first, last = preset_days(preset, today)
    allowed = allowed_grains(first, last)
    grain = data.get("grain") if "grain" not in errors else ""
    if grain and grain not in allowed:
        errors["grain"] = [str(_("Too many bars for this period: choose a longer grain."))]
        grain = ""
    grain = grain or auto_grain(first, last)
    if grain not in allowed:
        grain = allowed[0]
    window = window_for(first, last, grain)
    comparison = (data.get("compare") if "compare" not in errors else "") or Comparison.PREVIOUS
    store_pks = {str(s.pk): s.pk for s in form.stores}
    terminals = {str(t.terminal_id): t for t in form.terminals}
    chosen_terminals = [terminals[v] for v in data.get("terminal", [])] if "terminal" not in errors else []
    query = Query(
        preset=preset,
        window=window,
        comparison=comparison,
        compare_window=window.shifted(comparison),
        store_ids=tuple(store_pks[v] for v in data.get("store", [])) if "store" not in errors else (),
        terminal_pks=tuple(t.pk for t in chosen_terminals),
        terminal_numbers=tuple(t.terminal_id for t in chosen_terminals),
        methods=tuple(data.get("method", [])) if "method" not in errors else (),
        currency=((data.get("currency") or "EUR") if "currency" not in errors else "EUR").upper(),
    )
    return query, errors, form
