"""A disabled webhook's deliveries are paused, resume when it is enabled, and age out; what the
delivery log shows; the e-mail language default; the per-endpoint cap under concurrent claims."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from backoffice.models import Merchant
from payments.sibs.envelope import generate_secret
from tests.webhooks.outbound_support import make_webhook
from tests.webhooks.test_outbound_engine import _pending
from webhooks.models import DeliveryState, OutboundWebhook, WebhookDelivery
from webhooks.outbound import claim, engine, notify_given_up, sweep

PUBLIC_URL = "https://93.184.216.34/sibs-hook"


def url(name: str, **kwargs) -> str:
    return reverse(f"webhooks:{name}", kwargs={"merchant": "loja", **kwargs})


# --------------------------------------------------------------------------- paused deliveries


def test_a_disabled_webhooks_deliveries_wait_and_resume_when_it_is_enabled(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    delivery = _pending(webhook)
    OutboundWebhook.objects.filter(pk=webhook.pk).update(is_active=False)

    assert claim(limit=10) == []
    counts = sweep()
    delivery.refresh_from_db()
    assert counts["sent"] == 0 and delivery.state == DeliveryState.PENDING and delivery.attempts == 0
    assert loopback_endpoint.received == []

    OutboundWebhook.objects.filter(pk=webhook.pk).update(is_active=True)
    counts = sweep()

    delivery.refresh_from_db()
    assert counts["delivered"] == 1 and delivery.state == DeliveryState.DELIVERED


def test_paused_deliveries_are_given_up_at_the_maximum_age_without_a_give_up_mail(world, settings):
    settings.WEBHOOK_MAX_AGE_DAYS = 61
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), is_active=False)
    old, recent = _pending(webhook), _pending(webhook)
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=old.pk).update(cycle_started_at=now - timedelta(days=61, minutes=1))
    WebhookDelivery.objects.filter(pk=recent.pk).update(cycle_started_at=now - timedelta(days=60))
    active = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), name="other", types=["card"])
    running = _pending(active)
    WebhookDelivery.objects.filter(pk=running.pk).update(
        cycle_started_at=now - timedelta(days=90), next_attempt_at=now + timedelta(hours=1)
    )

    assert engine.give_up_paused(now=now) == 1
    assert engine.give_up_paused(now=now) == 0  # once

    old.refresh_from_db()
    recent.refresh_from_db()
    running.refresh_from_db()
    assert old.state == DeliveryState.FAILED and old.failed_at == now and old.next_attempt_at is None
    assert old.last_error == engine.PAUSED_GIVEN_UP
    assert recent.state == DeliveryState.PENDING
    assert running.state == DeliveryState.PENDING  # an active webhook's delivery follows its own schedule
    assert notify_given_up() == 0 and mail.outbox == []  # disabling was a decision, not a failure


def test_the_sweep_ages_paused_deliveries_out(world, settings):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), is_active=False)
    delivery = _pending(webhook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        cycle_started_at=timezone.now() - timedelta(days=settings.WEBHOOK_MAX_AGE_DAYS + 1)
    )
    assert sweep()["given_up_paused"] == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED


def test_the_pages_say_a_delivery_is_paused(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), is_active=False)
    delivery = _pending(webhook)
    client = login(world.alice)

    detail = client.get(url("detail", pk=webhook.pk)).content.decode()
    assert 'data-testid="paused"' in detail and "1 delivery is paused while this webhook is disabled" in detail

    log = client.get(url("deliveries", pk=webhook.pk)).content.decode()
    assert 'data-state="paused"' in log and "paused while the webhook is disabled" in log

    page = client.get(url("delivery", pk=delivery.pk)).content.decode()
    assert "Paused: the webhook is disabled" in page
    assert "enable it to resend" in page and 'data-testid="resend"' not in page

    OutboundWebhook.objects.filter(pk=webhook.pk).update(is_active=True)
    detail = client.get(url("detail", pk=webhook.pk)).content.decode()
    assert 'data-testid="paused"' not in detail
    log = client.get(url("deliveries", pk=webhook.pk)).content.decode()
    assert 'data-state="paused"' not in log


# --------------------------------------------------------------------------- the log


def test_the_log_shows_the_http_status_once(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    now = timezone.now()
    common = {"webhook": webhook, "merchant": world.loja, "notification_type": "mbway", "attempts": 1}
    WebhookDelivery.objects.create(
        notification_id="n-500",
        last_http_status=500,
        last_error="not acknowledged: HTTP status 500, expected 200",
        next_attempt_at=now,
        **common,
    )
    WebhookDelivery.objects.create(
        notification_id="n-200",
        last_http_status=200,
        last_error="not acknowledged: notificationID does not echo the notification sent",
        next_attempt_at=now,
        **common,
    )

    html = login(world.alice).get(url("deliveries", pk=webhook.pk)).content.decode()

    # the status once, in the error's words ("the answer was HTTP 500 instead of 200")
    assert html.count("HTTP 500") == 1 and "HTTP status 500" not in html
    assert "HTTP 200" in html and "does not echo" in html  # a status the error does not name is shown


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize("language", ["en", "pt"])
def test_a_new_webhook_writes_in_the_merchants_language_by_default(world, login, language):
    Merchant.objects.filter(pk=world.loja.pk).update(language=language)
    html = login(world.alice).get(url("create")).content.decode()
    assert f'<option value="{language}" selected>' in html


# --------------------------------------------------------------------------- the cap under concurrency


@pytest.mark.postgres
def test_two_workers_claiming_at_once_never_exceed_the_per_endpoint_cap(transactional_db, world, settings):
    """A claim in progress elsewhere holds the webhook; this claim waits for it and then counts
    its leases, instead of counting before they are committed and claiming the cap again."""
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    busy = make_webhook(world.loja, url="http://127.0.0.1:9/a", key=generate_secret(), name="busy")
    other = make_webhook(world.loja, url="http://127.0.0.1:9/b", key=generate_secret(), name="other", types=["card"])
    busy_rows = [_pending(busy) for _ in range(5)]
    _pending(other)
    first_holds = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first_worker() -> None:
        # What claim() does on PostgreSQL, stopped before its commit.
        try:
            with transaction.atomic():
                taken = [d.pk for d in busy_rows[:2]]
                list(WebhookDelivery.objects.select_for_update().filter(pk__in=taken).values_list("pk"))
                list(OutboundWebhook.objects.select_for_update(no_key=True).filter(pk=busy.pk).values_list("pk"))
                lease_end = timezone.now() + engine.lease_duration()
                WebhookDelivery.objects.filter(pk__in=taken).update(
                    lease_token="first", leased_until=lease_end, next_attempt_at=lease_end
                )
                first_holds.set()
                release.wait(10)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert first_holds.wait(10)
    result: list = []
    second = threading.Thread(target=lambda: (result.append(claim(limit=10)), connection.close()))
    second.start()
    second.join(1.0)
    assert second.is_alive()  # waits for the first claim to commit
    release.set()
    thread.join(10)
    second.join(10)

    assert not errors
    (claimed,) = result
    assert [d.webhook.name for d in claimed] == ["other"]  # the busy endpoint is at its cap already
    leased = WebhookDelivery.objects.filter(webhook=busy, leased_until__gt=timezone.now()).count()
    assert leased == 2


# --------------------------------------------------------------------------- a broker that is down


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing for real, to a broker address where nothing listens (port 1 on loopback)."""
    from backoffice.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    yield


def test_delay_raising_with_the_broker_down_leaves_the_delivery_for_the_sweep(
    world, loopback_endpoint, broker_down, django_capture_on_commit_callbacks
):
    from tests.webhooks.support import notification, store
    from webhooks.inbound import services
    from webhooks.tasks import deliver_webhooks

    make_webhook(world.loja, endpoint=loopback_endpoint)
    with pytest.raises(OperationalError, match="onnect"):  # the broker is really unreachable
        deliver_webhooks.delay([1])

    inbound = store(world.loja, notification())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_process(inbound_id=inbound.pk) == "processed"

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0
    assert loopback_endpoint.received == []

    counts = sweep()

    delivery.refresh_from_db()
    assert counts["delivered"] == 1 and delivery.state == DeliveryState.DELIVERED
    assert loopback_endpoint.received_ids() == [delivery.notification_id]
