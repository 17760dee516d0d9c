"""Times as people read them: Europe/Lisbon, the zone every page shows, with its abbreviation.

Storage is UTC; :func:`lisbon` gives ``22/11/2026 14:03:12 WET`` (a date ``22/11/2026``) and
:func:`lisbon_iso` the machine-readable form for ``<time datetime=…>``. Used by the template
filters of the same names and by every module that writes a time into a sentence.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

LISBON = ZoneInfo("Europe/Lisbon")
DASH = "—"


def _in_lisbon(value: dt.datetime) -> dt.datetime | None:
    """The moment in Lisbon, or None for one no calendar can show there (year 1 or 9999 moved
    across an offset leaves datetime's range)."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return value.astimezone(LISBON)
    except (OverflowError, ValueError):
        return None


def lisbon(value, with_seconds=True):
    """A datetime in Europe/Lisbon with its zone abbreviation (WET / WEST); a date as dd/mm/yyyy."""
    if value is None or value == "":
        return DASH
    if isinstance(value, dt.datetime):
        local = _in_lisbon(value)
        if local is None:
            return DASH
        pattern = "%d/%m/%Y %H:%M:%S %Z" if with_seconds else "%d/%m/%Y %H:%M %Z"
        return local.strftime(pattern)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return DASH


def lisbon_iso(value):
    """Machine-readable form for ``<time datetime=…>``."""
    if isinstance(value, dt.datetime):
        local = _in_lisbon(value)
        return "" if local is None else local.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return ""
