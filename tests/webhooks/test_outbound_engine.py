"""The relay engine against a real HTTP endpoint on loopback: outbox, ack check, failures,
leases, throttle, outages, give-up, e-mail webhooks, resend and recover, timeline."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from payments.models import Transaction
from payments.selectors.timeline import build
from tests.webhooks.outbound_support import make_webhook
from tests.webhooks.support import again, notification, store
from webhooks.inbound import services
from webhooks.models import DeliveryAttempt, DeliveryState, NotificationType, WebhookDelivery
from webhooks.outbound import (
    claim,
    deliveries_recover,
    delivery_resend,
    engine,
    notify_given_up,
    pump,
    send_test,
    sweep,
)
from webhooks.outbound.timeline import delivery_entries


def process(merchant, payload, capture):
    """Store and process a notification, running the after-commit enqueue (Celery is eager)."""
    inbound = store(merchant, payload)
    with capture(execute=True):
        assert services.notification_process(inbound_id=inbound.pk) == "processed"
    return inbound


# --------------------------------------------------------------------------- the happy path


def test_a_processed_notification_is_relayed_in_the_sibs_format_and_acknowledged(
    world, loopback_endpoint, django_capture_on_commit_callbacks
):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    payload = notification()

    inbound = process(world.loja, payload, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.inbound == inbound and delivery.webhook == webhook
    assert delivery.transaction == Transaction.objects.get()
    assert delivery.notification_type == NotificationType.MBWAY
    assert delivery.state == DeliveryState.DELIVERED and delivery.delivered_at is not None
    assert delivery.attempts == 1 and delivery.last_http_status == 200 and delivery.lease_token == ""
    # The merchant decrypted exactly what SIBS sent us.
    assert loopback_endpoint.received == [json.loads(inbound.plaintext)]
    headers = loopback_endpoint.headers[0]
    assert headers["Content-Type"] == "text/plain"
    assert headers["X-Initialization-Vector"] and headers["X-Authentication-Tag"]
    attempt = DeliveryAttempt.objects.get()
    assert attempt.number == 1 and attempt.acknowledged and attempt.http_status == 200
    assert payload["notificationID"] in attempt.response_excerpt


def test_the_delivery_is_written_in_the_processing_transaction_before_any_attempt(
    world, loopback_endpoint, django_capture_on_commit_callbacks
):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    inbound = store(world.loja, notification())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notification_process(inbound_id=inbound.pk)
        delivery = WebhookDelivery.objects.get()
        assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at <= timezone.now()
    assert loopback_endpoint.requests == 0
    assert callbacks  # the enqueue waits for the commit
    for callback in callbacks:
        callback()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED


def test_a_failed_processing_creates_no_delivery(world, loopback_endpoint):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    inbound = store(world.loja, notification())
    with (
        mock.patch("webhooks.inbound.services.outbound.deliveries_create", side_effect=RuntimeError("db blip")),
        pytest.raises(RuntimeError),
    ):
        services.notification_process(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.state == "received" and not WebhookDelivery.objects.exists()
    assert not Transaction.objects.exists()  # rolled back together


def test_processing_twice_relays_once(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    inbound = process(world.loja, notification(), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_process(inbound_id=inbound.pk) == "already_processed"
    created = engine.deliveries_create(inbound=inbound, payload=json.loads(inbound.plaintext))
    assert WebhookDelivery.objects.count() == 1 and created == []  # delivered ones are not returned
    assert len(loopback_endpoint.received) == 1


def test_no_webhook_or_another_type_means_no_delivery(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint, types=[NotificationType.CARD])
    make_webhook(world.outra, endpoint=loopback_endpoint, name="other merchant")
    process(world.loja, notification(), django_capture_on_commit_callbacks)  # MB WAY
    assert not WebhookDelivery.objects.exists() and loopback_endpoint.requests == 0


def test_an_unknown_payment_method_is_not_relayed(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    process(world.loja, notification(paymentMethod="TELEPATHY", token=None), django_capture_on_commit_callbacks)
    assert not WebhookDelivery.objects.exists()


def test_the_000_acknowledgement_is_accepted(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    loopback_endpoint.mode = "ack000"
    process(world.loja, notification(), django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


# --------------------------------------------------------------------------- misbehaving endpoints


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("wrong_id", 200, "notificationID does not echo"),
        ("status500", 500, "HTTP status 500"),
        ("not_json", 200, "not valid JSON"),
        ("redirect", 302, "HTTP status 302"),
        ("close", None, "closed the connection"),
        ("big", 200, "larger than"),
        ("undecryptable", 400, "HTTP status 400"),
    ],
)
def test_anything_but_the_acknowledgement_is_a_failed_attempt_retried_later(
    world, loopback_endpoint, django_capture_on_commit_callbacks, mode, status, error
):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    loopback_endpoint.mode = mode
    before = timezone.now()

    process(world.loja, notification(), django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.attempts == 1 and delivery.last_http_status == status
    assert error in delivery.last_error
    # SIBS's first tier: again in 5 minutes.
    assert before + timedelta(minutes=5) <= delivery.next_attempt_at <= timezone.now() + timedelta(minutes=5)
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.acknowledged and error in attempt.error
    if mode == "redirect":
        assert loopback_endpoint.requests == 1  # the redirect was not followed


def test_a_slow_endpoint_times_out(world, loopback_endpoint, django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_READ_TIMEOUT = 1
    loopback_endpoint.mode = "slow"
    loopback_endpoint.slow_seconds = 2.5
    make_webhook(world.loja, endpoint=loopback_endpoint)
    process(world.loja, notification(), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and "no answer within 1 s" in delivery.last_error
    attempt = DeliveryAttempt.objects.get()
    assert 900 <= attempt.duration_ms < 2500


def test_an_unreachable_endpoint_is_a_failed_attempt(world, django_capture_on_commit_callbacks):
    make_webhook(world.loja, url="http://127.0.0.1:9/hook", key=_key())  # discard port: refused
    process(world.loja, notification(), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and "connection refused" in delivery.last_error
    assert delivery.last_http_status is None


# --------------------------------------------------------------------------- outages


def test_a_broker_down_at_enqueue_leaves_the_delivery_due_for_the_sweep(
    world, loopback_endpoint, django_capture_on_commit_callbacks
):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    with mock.patch("webhooks.outbound.tasks.deliver_webhooks.apply_async", side_effect=OSError("broker down")):
        inbound = process(world.loja, notification(), django_capture_on_commit_callbacks)
    inbound.refresh_from_db()
    assert inbound.state == "processed"
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0
    assert engine.due_count() == 1

    counts = sweep()

    delivery.refresh_from_db()
    assert counts["delivered"] == 1 and delivery.state == DeliveryState.DELIVERED


def test_a_database_blip_while_recording_never_marks_delivered_and_the_sweep_sends_again(
    world, loopback_endpoint, django_capture_on_commit_callbacks
):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    with mock.patch("webhooks.outbound.engine.record", side_effect=RuntimeError("db gone")):
        process(world.loja, notification(), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert len(loopback_endpoint.received) == 1  # sent, but the answer could not be written
    assert delivery.state == DeliveryState.PENDING and delivery.lease_token
    assert not claim(limit=10)  # still leased
    later = timezone.now() + engine.lease_duration() + timedelta(seconds=1)

    (again_claimed,) = claim(limit=10, now=later)

    outcome = engine.send_one(again_claimed)
    engine.record([outcome])
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
    assert len(loopback_endpoint.received) == 2  # at least once: the merchant saw it twice


def test_a_claim_is_exclusive_until_its_lease_ends(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    with mock.patch("webhooks.outbound.tasks.deliver_webhooks.apply_async", side_effect=OSError("broker down")):
        process(world.loja, notification(), django_capture_on_commit_callbacks)
    first = claim(limit=5)
    assert len(first) == 1
    assert claim(limit=5) == []
    later = timezone.now() + engine.lease_duration() + timedelta(seconds=1)
    second = claim(limit=5, now=later)
    assert [d.pk for d in second] == [first[0].pk] and second[0].lease_token != first[0].lease_token
    # The first worker's late failure does not move the second one's schedule...
    engine.record([engine.Outcome(first[0], first[0].lease_token, timezone.now(), acknowledged=False, error="x")])
    row = WebhookDelivery.objects.get()
    assert row.lease_token == second[0].lease_token and row.state == DeliveryState.PENDING
    # ...but its acknowledgement counts: the merchant has the notification.
    engine.record([engine.Outcome(first[0], first[0].lease_token, timezone.now(), acknowledged=True)])
    row.refresh_from_db()
    assert row.state == DeliveryState.DELIVERED and row.attempts == 2


def test_the_per_endpoint_cap_leaves_room_for_other_endpoints(world, settings):
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    slow = make_webhook(world.loja, url="http://127.0.0.1:9/a", key=_key(), name="slow")
    other = make_webhook(world.loja, url="http://127.0.0.1:9/b", key=_key(), name="other", types=["card"])
    for _ in range(6):
        _pending(slow)
    _pending(other)

    claimed = claim(limit=10)

    assert sorted(d.webhook.name for d in claimed) == ["other", "slow", "slow"]
    assert [d.webhook.name for d in claim(limit=10)] == []  # slow is at its cap, other has none left


def test_an_inactive_webhook_holds_its_deliveries(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint, is_active=False)
    _pending(webhook)
    assert claim(limit=10) == []
    webhook.is_active = True
    webhook.save()
    assert pump().delivered == 1


def test_the_pump_sends_many_with_connection_reuse(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    ids = [_pending(webhook).pk for _ in range(40)]
    result = pump()
    assert result.delivered == 40 and result.sent == 40
    assert WebhookDelivery.objects.filter(pk__in=ids, state=DeliveryState.DELIVERED).count() == 40
    assert sorted(loopback_endpoint.received_ids()) == sorted(
        WebhookDelivery.objects.values_list("notification_id", flat=True)
    )


# --------------------------------------------------------------------------- giving up


def test_a_delivery_given_up_tells_the_failure_email_once(world, loopback_endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    loopback_endpoint.mode = "status500"
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint, language="en")
    delivery = _pending(webhook)
    mail.outbox.clear()

    pump()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.cycle_attempts == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    with mock.patch("webhooks.outbound.engine._notify_given_up_quietly"):  # leave it to the sweep
        result = pump()

    delivery.refresh_from_db()
    assert result.given_up == 1 and delivery.state == DeliveryState.FAILED and delivery.failed_at
    assert mail.outbox == []
    assert notify_given_up() == 1
    assert notify_given_up() == 0  # once
    (message,) = mail.outbox
    assert message.to == ["ops@loja.example"]
    assert "could not be delivered" in message.subject and webhook.name in message.subject
    assert delivery.notification_id in message.body and "HTTP 500" in message.body
    assert delivery.notification_id in message.alternatives[0][0]


def test_a_failed_give_up_email_is_retried(world, settings):
    webhook = make_webhook(world.loja, url="http://127.0.0.1:9/a", key=_key())
    delivery = _pending(webhook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, failed_at=timezone.now())
    with mock.patch("webhooks.outbound.emails.send_templated", side_effect=OSError("smtp down")):
        assert notify_given_up() == 0
    delivery.refresh_from_db()
    assert delivery.failure_notified_at is None
    mail.outbox.clear()
    assert notify_given_up() == 1 and len(mail.outbox) == 1


# --------------------------------------------------------------------------- e-mail webhooks


@pytest.mark.parametrize("language", ["en", "pt"])
def test_an_email_webhook_sends_one_readable_message_per_notification(
    world, django_capture_on_commit_callbacks, language
):
    make_webhook(world.loja, kind="email", email_to="caixa@loja.example", failure_email="", language=language)
    mail.outbox.clear()
    payload = notification()
    inbound = process(world.loja, payload, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_process(inbound_id=inbound.pk)  # again: nothing more

    (message,) = mail.outbox
    assert message.to == ["caixa@loja.example"]
    assert "Loja" in message.subject and payload["transactionID"] in message.subject
    assert payload["transactionID"] in message.body and payload["merchant"]["transactionId"] in message.body
    assert "16" in message.body and "MB WAY" in message.body
    html = message.alternatives[0][0]
    assert payload["transactionID"] in html
    # Rendered in the webhook's language (labels are translated in the translation pass; the
    # amount format already follows the language).
    assert ("16,20\u00a0€" if language == "pt" else "€16.20") in message.body
    if language == "en":
        assert "Amount: €16.20" in message.body
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


# --------------------------------------------------------------------------- test button


def test_send_test_reports_an_acknowledgement(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint, types=["reference"])
    verdict = send_test(webhook, actor=Actor(user=world.alice))
    assert verdict.reachable and verdict.ack_matched and verdict.http_status == 200 and verdict.error == ""
    assert verdict.tls == ""  # plain http on loopback
    assert loopback_endpoint.received[0]["paymentMethod"] == "REFERENCE"
    assert verdict.delivery.is_test and verdict.delivery.state == DeliveryState.DELIVERED
    assert AuditEvent.objects.filter(action="outbound_webhook.test_sent").exists()


@pytest.mark.parametrize(
    ("mode", "reachable", "status", "error"),
    [
        ("wrong_id", True, 200, "does not echo"),
        ("status500", True, 500, "HTTP status 500"),
        ("close", True, None, "closed the connection"),
    ],
)
def test_send_test_reports_what_went_wrong(world, loopback_endpoint, mode, reachable, status, error):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    loopback_endpoint.mode = mode
    verdict = send_test(webhook)
    assert (verdict.reachable, verdict.http_status, verdict.ack_matched) == (reachable, status, False)
    assert error in verdict.error
    assert verdict.delivery.state == DeliveryState.FAILED  # a test is never retried
    assert notify_given_up() == 0  # nor reported as given up


def test_send_test_to_a_closed_port_is_unreachable(world):
    webhook = make_webhook(world.loja, url="http://127.0.0.1:9/hook", key=_key())
    verdict = send_test(webhook)
    assert not verdict.reachable and not verdict.ack_matched and "refused" in verdict.error


def test_send_test_refuses_a_url_the_rules_refuse(world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    webhook = make_webhook(world.loja, url="http://127.0.0.1:8080/hook", key=_key())
    verdict = send_test(webhook)
    assert not verdict.reachable and "private" in verdict.error


def test_send_test_is_for_webhook_managers_of_the_merchant(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    with pytest.raises(PermissionDenied):
        send_test(webhook, access=Access.for_membership(world.m_victor))
    with pytest.raises(PermissionDenied):
        send_test(webhook, access=Access.for_membership(world.m_mallory))
    assert send_test(webhook, access=Access.for_membership(world.m_adam)).ack_matched


# --------------------------------------------------------------------------- resend, recover


def test_resend_sends_again_as_a_new_cycle_and_is_audited(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint)
    process(world.loja, notification(), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED

    with django_capture_on_commit_callbacks(execute=True):
        delivery_resend(delivery, Actor(user=world.adam), access=Access.for_membership(world.m_adam))

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2 and delivery.cycle_attempts == 1
    assert len(loopback_endpoint.received) == 2
    event = AuditEvent.objects.get(action="webhook_delivery.resend")
    assert event.actor == world.adam and event.before["state"] == "delivered"


def test_resend_is_refused_to_others_and_while_sending(world, loopback_endpoint):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    delivery = _pending(webhook)
    with pytest.raises(PermissionDenied):
        delivery_resend(delivery, Actor(user=world.victor), access=Access.for_membership(world.m_victor))
    with pytest.raises(PermissionDenied):
        delivery_resend(delivery, Actor(user=world.mallory), access=Access.for_membership(world.m_mallory))
    claim(limit=1)
    with pytest.raises(ValidationError):
        delivery_resend(delivery, Actor(user=world.adam))
    assert not AuditEvent.objects.filter(action="webhook_delivery.resend").exists()


def test_recover_puts_back_every_failed_delivery_since_a_moment(
    world, loopback_endpoint, django_capture_on_commit_callbacks
):
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    other = make_webhook(world.loja, endpoint=loopback_endpoint, name="other", types=["card"])
    now = timezone.now()
    old, recent, other_webhook = _pending(webhook), _pending(webhook), _pending(other)
    WebhookDelivery.objects.filter(pk=old.pk).update(state="failed", failed_at=now - timedelta(days=3))
    WebhookDelivery.objects.filter(pk__in=[recent.pk, other_webhook.pk]).update(
        state="failed", failed_at=now - timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        count = deliveries_recover(world.loja, now - timedelta(days=1), webhook=webhook, actor=Actor(user=world.alice))

    assert count == 1
    states = dict(WebhookDelivery.objects.values_list("pk", "state"))
    assert states == {old.pk: "failed", recent.pk: "delivered", other_webhook.pk: "failed"}
    event = AuditEvent.objects.get(action="webhook_delivery.recover")
    assert event.after["recovered"] == 1 and event.actor == world.alice


def test_recover_checks_its_input(world):
    webhook = make_webhook(world.outra, url="http://127.0.0.1:9/", key=_key())
    with pytest.raises(PermissionDenied):
        deliveries_recover(world.loja, timezone.now(), webhook=webhook)
    with pytest.raises(ValidationError):
        deliveries_recover(world.loja, timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationError):
        deliveries_recover(world.loja, None)
    with pytest.raises(PermissionDenied):
        deliveries_recover(world.loja, timezone.now(), access=Access.for_membership(world.m_bob))


# --------------------------------------------------------------------------- timeline


def test_deliveries_show_on_the_transaction_timeline(world, loopback_endpoint, django_capture_on_commit_callbacks):
    make_webhook(world.loja, endpoint=loopback_endpoint, name="ERP")
    payload = notification()
    process(world.loja, payload, django_capture_on_commit_callbacks)
    loopback_endpoint.mode = "status500"
    process(world.loja, again(payload, paymentStatus="Success"), django_capture_on_commit_callbacks)
    txn = Transaction.objects.get()

    entries = [e for e in build(Access.for_membership(world.m_victor), txn) if e.kind == "webhook_delivery"]

    assert [e.outcome for e in entries] == ["ok", "warn"]
    # the status once, in words ("the answer was HTTP 500 instead of 200"), not "HTTP 500 · … HTTP status 500"
    assert "ERP" in entries[0].title and entries[1].detail.count("HTTP 500") == 1
    assert "HTTP status 500" not in entries[1].detail
    # The next try in Lisbon time, as everywhere else on the page.
    assert re.search(r"next try \d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} WES?T", entries[1].detail)
    assert all(e.link == "" for e in entries)  # a viewer cannot open the delivery log
    first = WebhookDelivery.objects.order_by("pk").first()
    admin_entries = [e for e in build(Access.for_membership(world.m_adam), txn) if e.kind == "webhook_delivery"]
    assert admin_entries[0].link == f"/m/loja/webhooks/deliveries/{first.pk}/"
    # Another merchant's access never sees them, whatever it is handed.
    assert list(delivery_entries(Access.for_membership(world.m_mallory), txn)) == []


# --------------------------------------------------------------------------- helpers


def _key() -> str:
    from webhooks.outbound import suggest_key

    return suggest_key()


def _pending(webhook) -> WebhookDelivery:
    """A due delivery of a stored notification, created directly."""
    payload = notification(paymentMethod="CARD" if "card" in webhook.notification_types[:1] else "MBWAY")
    inbound = store(webhook.merchant, payload)
    now = timezone.now()
    return WebhookDelivery.objects.create(
        webhook=webhook,
        merchant=webhook.merchant,
        inbound=inbound,
        notification_id=payload["notificationID"],
        notification_type=webhook.notification_types[0],
        next_attempt_at=now,
        cycle_started_at=now,
    )
