"""The retry schedule, written once in code, checked exactly and with frozen time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryState, WebhookDelivery
from webhooks.outbound import RetryPolicy, claim, pump
from webhooks.outbound.schedule import SIBS_TRIES, exponential_wait, sibs_wait

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
M, H = timedelta(minutes=1), timedelta(hours=1)


def test_sibs_tiers_exactly():
    waits = [sibs_wait(n) for n in range(1, 45)]
    assert waits[:5] == [5 * M] * 5
    assert waits[5:9] == [H] * 4
    assert waits[9:14] == [2 * H] * 5
    assert waits[14:20] == [4 * H] * 6
    assert waits[20:27] == [6 * H] * 7
    assert waits[27:35] == [12 * H] * 8
    assert waits[35:43] == [24 * H] * 8
    assert waits[43] == 24 * H  # what a 45th try would wait, never used: 44 tries
    assert SIBS_TRIES == 44


def test_the_default_policy_tries_44_times_over_about_16_days():
    plan = RetryPolicy(name="sibs", max_attempts=44, max_age=timedelta(days=61)).plan(start=START)
    assert len(plan) == 44
    assert plan[1] - plan[0] == 5 * M and plan[6] - plan[5] == H
    total = plan[-1] - plan[0]
    assert total == 25 * M + 4 * H + 10 * H + 24 * H + 42 * H + 96 * H + 8 * 24 * H
    assert timedelta(days=15) < total < timedelta(days=16)


def test_the_caps_cut_the_plan():
    assert len(RetryPolicy(name="sibs", max_attempts=7, max_age=timedelta(days=61)).plan(start=START)) == 7
    short = RetryPolicy(name="sibs", max_attempts=44, max_age=timedelta(days=2)).plan(start=START)
    assert short[-1] - START <= timedelta(days=2) and len(short) < 44


def test_exponential_policy():
    assert [exponential_wait(n) for n in (1, 2, 3, 4)] == [M, 2 * M, 4 * M, 8 * M]
    assert exponential_wait(30) == 24 * H
    plan = RetryPolicy(name="exponential", max_attempts=10, max_age=timedelta(days=61)).plan(start=START)
    assert len(plan) == 10 and plan[2] - plan[1] == 2 * M


@pytest.mark.parametrize("bad", ["hourly", ""])
def test_an_unknown_policy_stops_the_process(bad, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("WEBHOOK_RETRY_POLICY", bad)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "WEBHOOK_RETRY_POLICY" in result.stderr


def test_a_failing_delivery_follows_the_schedule_with_frozen_time(world, settings):
    """Port 9 on loopback refuses connections: every try fails; time only moves when we say."""
    settings.WEBHOOK_MAX_ATTEMPTS = 8
    webhook = make_webhook(world.loja, url="http://127.0.0.1:9/hook", key=_key())
    with time_machine.travel(START, tick=False) as clock:
        delivery = _pending(webhook)
        expected = [START]
        for _n in range(8):
            assert pump().sent == 1
            delivery.refresh_from_db()
            if delivery.state == DeliveryState.FAILED:
                break
            wait = delivery.next_attempt_at - timezone.now()
            expected.append(delivery.next_attempt_at)
            # Not due a second early...
            clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
            assert claim(limit=5) == []
            # ...due on time.
            clock.move_to(delivery.next_attempt_at)
            assert wait in (5 * M, H)
        delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 8
    assert [b - a for a, b in itertools.pairwise(expected)] == [5 * M] * 5 + [H] * 2
    times = list(delivery.attempt_log.values_list("started_at", flat=True))
    assert times == expected


def test_max_age_gives_up_even_with_tries_left(world, settings):
    settings.WEBHOOK_MAX_AGE_DAYS = 1
    webhook = make_webhook(world.loja, url="http://127.0.0.1:9/hook", key=_key())
    with time_machine.travel(START, tick=False) as clock:
        delivery = _pending(webhook)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(cycle_attempts=20, attempts=20)
        clock.move_to(START + timedelta(hours=20))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        pump()  # the next wait (6 h) would end past the day
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 21


def _key():
    from webhooks.outbound import suggest_key

    return suggest_key()


def _pending(webhook):
    from tests.webhooks.test_outbound_engine import _pending as pending

    return pending(webhook)
