"""A filter form datasets without a list of their own can reuse: a period in whole days
(Europe/Lisbon) and the choice of one state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

LISBON = ZoneInfo("Europe/Lisbon")
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)


@dataclass(frozen=True)
class DayFilters:
    since: datetime | None = None
    until: datetime | None = None
    state: str = ""
    query: str = ""


class DayRangeForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, states=None, **kwargs):
        super().__init__(data, **kwargs)
        if states is not None:
            self.fields["state"] = forms.ChoiceField(label=_("State"), required=False, choices=[("", "—"), *states])

    def clean(self):
        data = super().clean()
        for name in ("since", "until"):
            day = data.get(name)
            if day and not EARLIEST <= day < LATEST:
                self.add_error(name, _("Choose a date between 2000 and 2099."))
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end is before the start."))
        return data


def parse_days(params, *, states=None) -> tuple[DayFilters, dict[str, list[str]], DayRangeForm]:
    form = DayRangeForm(params, states=states)
    form.is_valid()
    errors = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
    data = form.cleaned_data if not errors else {}
    since = data.get("since")
    until = data.get("until")
    return (
        DayFilters(
            since=datetime.combine(since, time.min, tzinfo=LISBON) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=LISBON) if until else None,
            state=data.get("state") or "",
            query="&".join(f"{k}={v}" for k, v in data.items() if v),
        ),
        errors,
        form,
    )
