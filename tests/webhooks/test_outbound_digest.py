"""The daily digest of failed notifications: at the configured Lisbon hour, once per address and day."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection

from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryState, FailureDigest, WebhookDelivery
from webhooks.outbound import digest_run

# 08:00 in Lisbon is 07:00 UTC in summer (WEST), 08:00 UTC in winter (WET).
SUMMER_0700_UTC = datetime(2026, 7, 10, 7, 0, tzinfo=UTC)
WINTER_0759_UTC = datetime(2026, 1, 10, 7, 59, tzinfo=UTC)


@pytest.fixture
def failures(world, settings):
    settings.WEBHOOK_DIGEST_HOUR = 8
    from tests.webhooks.test_outbound_engine import _pending

    ops = make_webhook(world.loja, url="https://erp.loja.example/a", name="ERP", failure_email="Ops@Loja.example")
    shop = make_webhook(world.loja, url="https://shop.loja.example/b", name="Shop", failure_email="ops@loja.example")
    other = make_webhook(world.outra, url="https://outra.example/c", name="Outra", failure_email="ti@outra.example")
    rows = {}
    for name, webhook in (("ops", ops), ("shop", shop), ("other", other), ("old", ops), ("fine", ops)):
        rows[name] = _pending(webhook)
    return rows


def _fail(delivery, at, *, given_up=True):
    if given_up:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.FAILED, failed_at=at, last_attempt_at=at, attempts=44, cycle_attempts=44,
            last_error="not acknowledged: HTTP status 500, expected 200", last_http_status=500,
        )  # fmt: skip
    else:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            last_attempt_at=at, attempts=3, cycle_attempts=3, last_error="connection refused",
            next_attempt_at=at + timedelta(minutes=5),
        )  # fmt: skip


def test_nothing_before_the_hour_then_one_per_address_once(failures):
    now = SUMMER_0700_UTC
    _fail(failures["ops"], now - timedelta(hours=3))
    _fail(failures["shop"], now - timedelta(hours=1), given_up=False)
    _fail(failures["other"], now - timedelta(hours=2))
    _fail(failures["old"], now - timedelta(days=3))  # before the window
    mail.outbox.clear()

    assert digest_run(now=now - timedelta(minutes=1)) == {"sent": 0, "skipped": 0, "failed": 0}
    counts = digest_run(now=now)
    again = digest_run(now=now + timedelta(minutes=5))

    assert counts["sent"] == 2 and again["sent"] == 0
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"ops@loja.example", "ti@outra.example"}
    ops = by_address["ops@loja.example"]
    assert failures["ops"].notification_id in ops.body and failures["shop"].notification_id in ops.body
    assert failures["old"].notification_id not in ops.body and failures["fine"].notification_id not in ops.body
    assert "2" in ops.subject
    # Newest first.
    assert ops.body.index(failures["shop"].notification_id) < ops.body.index(failures["ops"].notification_id)
    assert FailureDigest.objects.filter(day=now.date(), sent_at__isnull=False).count() == 2


def test_the_hour_is_lisbon_time_in_winter_too(failures):
    _fail(failures["ops"], WINTER_0759_UTC - timedelta(hours=1))
    assert digest_run(now=WINTER_0759_UTC)["sent"] == 0  # 07:59 WET
    assert digest_run(now=WINTER_0759_UTC + timedelta(minutes=1))["sent"] == 1


def test_a_restarted_beat_next_day_covers_only_what_is_new(failures):
    day1 = SUMMER_0700_UTC
    _fail(failures["ops"], day1 - timedelta(hours=1))
    assert digest_run(now=day1)["sent"] == 1
    _fail(failures["shop"], day1 + timedelta(hours=5))
    mail.outbox.clear()
    assert digest_run(now=day1 + timedelta(days=1))["sent"] == 1
    (message,) = mail.outbox
    assert failures["shop"].notification_id in message.body
    assert failures["ops"].notification_id not in message.body


def test_a_digest_that_could_not_be_sent_is_tried_again_later_that_day(failures):
    _fail(failures["other"], SUMMER_0700_UTC - timedelta(hours=1))
    with mock.patch("webhooks.outbound.digest.send_templated", side_effect=OSError("smtp down")):
        assert digest_run(now=SUMMER_0700_UTC)["failed"] == 1
    assert not FailureDigest.objects.exists()
    mail.outbox.clear()
    assert digest_run(now=SUMMER_0700_UTC + timedelta(minutes=5))["sent"] == 1
    assert len(mail.outbox) == 1


def test_two_beats_at_once_send_one_digest(failures):
    """The (address, day) row is taken before sending: the second run finds it taken."""
    _fail(failures["other"], SUMMER_0700_UTC - timedelta(hours=1))
    FailureDigest.objects.create(address="ti@outra.example", day=SUMMER_0700_UTC.date())
    mail.outbox.clear()
    assert digest_run(now=SUMMER_0700_UTC)["sent"] == 0 and mail.outbox == []


@pytest.mark.postgres
def test_two_beats_racing_on_postgres_send_one_digest(transactional_db, failures):
    _fail(failures["other"], SUMMER_0700_UTC - timedelta(hours=1))
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait(5)
            with time_machine.travel(SUMMER_0700_UTC, tick=True):
                results.append(digest_run(now=SUMMER_0700_UTC))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r["sent"] for r in results) == 1
    assert len([m for m in mail.outbox if m.to == ["ti@outra.example"]]) == 1
