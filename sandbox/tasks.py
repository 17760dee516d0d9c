"""Celery adapters of the sandbox gateway: thin, id-based, idle when the sandbox is off."""

from __future__ import annotations

import logging
import random
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import SandboxMerchant
from .notifications import notification_deliver, notifications_send_due
from .services import payments_resolve_due

logger = logging.getLogger(__name__)

TRAFFIC_PERIOD_SECONDS = 10  # how often beat runs generate_traffic (backoffice/celery.py)


def sandbox_tick(*, now: datetime | None = None) -> dict:
    """Let due simulated customers act, then send every due notification."""
    now = now or timezone.now()
    resolved = payments_resolve_due(now=now)
    sent = notifications_send_due(now=now)
    return {"resolved": resolved, "notifications": sent}


@shared_task(name="sandbox.deliver_notification")
def deliver_notification(notification_pk: int) -> str:
    if not settings.SANDBOX_ENABLED:
        return "disabled"
    return notification_deliver(notification_pk)


@shared_task(name="sandbox.tick")
def tick() -> dict:
    if not settings.SANDBOX_ENABLED:
        return {}
    return sandbox_tick()


def traffic_merchant() -> SandboxMerchant | None:
    """The merchant beat's demo traffic is for: the first one configured with a notification URL."""
    return SandboxMerchant.objects.exclude(notification_url="").order_by("pk").first()


def traffic_count(per_minute: int, rng: random.Random) -> int:
    """How many transactions this run makes so that, on average, ``per_minute`` happen a minute."""
    expected = per_minute * TRAFFIC_PERIOD_SECONDS / 60
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


@shared_task(name="sandbox.generate_traffic")
def generate_traffic() -> int:
    """Keep the demo alive: a few transactions every run (SANDBOX_TRAFFIC_PER_MINUTE)."""
    per_minute = settings.SANDBOX_TRAFFIC_PER_MINUTE
    if not settings.SANDBOX_ENABLED or per_minute <= 0:
        return 0
    merchant = traffic_merchant()
    if merchant is None:
        return 0
    from .traffic import run_batch

    rng = random.Random()
    tally = run_batch(merchant, count=traffic_count(per_minute, rng), rng=rng)
    for error in tally.errors:
        logger.warning("sandbox traffic: %s", error)
    return tally.total


@shared_task(name="sandbox.settlement_files")
def settlement_files() -> list[str]:
    """Yesterday's payout: each client's settlement file, written after the 00:10 UTC cut-off."""
    if not settings.SANDBOX_ENABLED:
        return []
    from django.utils import timezone

    from .settlement import write_daily_files

    return write_daily_files(timezone.now().date())
