"""Periods of scheduled extracts: previous day, week or month, half-open, in a chosen zone.

A period is ``[start, end)`` between two local midnights, so consecutive periods share their
bound: no gap, no overlap. Midnights are built from calendar dates in the zone (never by adding
24 hours), so the day daylight-saving time starts is 23 hours long and the day it ends is 25,
as the clock on the wall says. A local midnight that does not exist in some zone (a DST jump
at 00:00) is resolved by ``zoneinfo`` to the instant the clock actually shows after the jump.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LISBON = ZoneInfo("Europe/Lisbon")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Through UTC and back: a non-existent wall time becomes the real instant.
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).astimezone(zone)


def _end_day(frequency: str, today: date) -> date:
    if frequency == "daily":
        return today
    if frequency == "weekly":
        return today - timedelta(days=today.weekday())  # this Monday
    if frequency == "monthly":
        return today.replace(day=1)
    raise ValueError(frequency)


def _start_day(frequency: str, end_day: date) -> date:
    if frequency == "daily":
        return end_day - timedelta(days=1)
    if frequency == "weekly":
        return end_day - timedelta(days=7)
    return (end_day - timedelta(days=1)).replace(day=1)


def previous_period(frequency: str, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The last whole period before ``now`` in ``zone``, as UTC instants (subtracting two aware
    datetimes of one ``ZoneInfo`` gives wall-clock, not elapsed, time: UTC avoids the trap)."""
    end_day = _end_day(frequency, now.astimezone(zone).date())
    start = local_midnight(_start_day(frequency, end_day), zone)
    return start.astimezone(UTC), local_midnight(end_day, zone).astimezone(UTC)


def due_at(period_end: datetime, zone: ZoneInfo, hour: int) -> datetime:
    """When the extract of a period ending at ``period_end`` is made: at ``hour`` (Lisbon) on
    the day the period ends, and never before it has ended."""
    day = period_end.astimezone(zone).date()
    at = datetime.combine(day, time(hour), tzinfo=LISBON).astimezone(UTC)
    return max(at, period_end.astimezone(UTC))
