"""Business days in Portugal: weekends and national public holidays skipped.

The holiday calendar comes from the ``holidays`` package (kept up to date by its maintainers,
including the holidays restored in 2016), not from a list written here.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _portugal(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PT", years=year).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _portugal(day.year)


def add_business_days(day: date, count: int) -> date:
    """The day ``count`` business days after ``day`` (``day`` itself need not be one)."""
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def overdue_until(today: date, business_days: int) -> date:
    """The latest transaction date whose settlement is overdue on ``today``: a transaction of
    day D is expected until the end of the ``business_days``-th business day after D."""
    day = today - timedelta(days=1)
    while add_business_days(day, business_days) >= today:
        day -= timedelta(days=1)
    return day
