"""When an unacknowledged delivery is tried again, and when it is given up. Written once, here.

The default is SIBS's own Webhook Retry System (PROTOCOL.md §1.4), so a merchant moving from
SIBS's notifications to ours sees the same rhythm: after the first, immediate try, retries 0-4
come every 5 minutes, 5-8 hourly, 9-13 every 2 hours, 14-19 every 4 hours, 20-26 every 6 hours,
27-34 every 12 hours and 35-43 daily, stopped at 44 tries (about 16 days), and never more than two
months after the first. ``WEBHOOK_RETRY_POLICY=exponential`` doubles from one minute instead
(1, 2, 4... minutes, at most a day apart). ``WEBHOOK_MAX_ATTEMPTS`` and ``WEBHOOK_MAX_AGE_DAYS``
cap either.

The counts are per *cycle*: a resend or a recovery starts a new one (``cycle_attempts``,
``cycle_started_at`` on the delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

_M = timedelta(minutes=1)
_H = timedelta(hours=1)

# (retries in this tier, wait before each): SIBS's tiers 0 to 6.
SIBS_TIERS: tuple[tuple[int, timedelta], ...] = (
    (5, 5 * _M),
    (4, 1 * _H),
    (5, 2 * _H),
    (6, 4 * _H),
    (7, 6 * _H),
    (8, 12 * _H),
    (9, 24 * _H),
)
# SIBS's table numbers 44 entries (retry counts 0-43) and says 44 attempts; with the first try
# made at once, the 44th try is the 8th daily one and the 9th daily wait is never used.
SIBS_TRIES = sum(count for count, _wait in SIBS_TIERS)  # 44
EXPONENTIAL_CAP = 24 * _H


def sibs_wait(tries_done: int) -> timedelta | None:
    """Wait before the next try after ``tries_done`` unacknowledged tries (None: no more)."""
    retry = tries_done - 1  # SIBS numbers the retries from 0, after the first try
    if retry < 0:
        return timedelta(0)
    for count, wait in SIBS_TIERS:
        if retry < count:
            return wait
        retry -= count
    return None


def exponential_wait(tries_done: int) -> timedelta | None:
    if tries_done <= 0:
        return timedelta(0)
    return min(_M * (2 ** min(tries_done - 1, 20)), EXPONENTIAL_CAP)


@dataclass(frozen=True)
class RetryPolicy:
    name: str
    max_attempts: int
    max_age: timedelta

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            name=settings.WEBHOOK_RETRY_POLICY,
            max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
            max_age=timedelta(days=settings.WEBHOOK_MAX_AGE_DAYS),
        )

    def wait(self, tries_done: int) -> timedelta | None:
        return exponential_wait(tries_done) if self.name == "exponential" else sibs_wait(tries_done)

    def next_attempt(self, *, tries_done: int, cycle_started_at: datetime, now: datetime) -> datetime | None:
        """When to try again after ``tries_done`` failed tries in this cycle, or None to give up."""
        if tries_done >= self.max_attempts:
            return None
        wait = self.wait(tries_done)
        if wait is None:
            return None
        at = now + wait
        if at > cycle_started_at + self.max_age:
            return None
        return at

    def plan(self, *, start: datetime) -> list[datetime]:
        """Every try time of a delivery that is never acknowledged and always tried on time."""
        times = [start]
        while True:
            at = self.next_attempt(tries_done=len(times), cycle_started_at=start, now=times[-1])
            if at is None:
                return times
            times.append(at)
