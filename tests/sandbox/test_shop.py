"""The sandbox's demo shop: the receiver the demo merchant's outbound webhook relays to."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from payments.sibs import generate_secret
from payments.sibs.ack import is_valid_ack
from payments.sibs.envelope import CONTENT_TYPE, encrypt
from sandbox.shop import FAIL_MARKER, shop_key
from webhooks.models import DeliveryState, NotificationType, OutboundWebhook

URL = "/sandbox/shop/hooks/"


def post(client, payload, *, key=None, iv=None, tag=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    envelope = encrypt(body, secret=key or shop_key())
    return client.post(
        URL,
        data=envelope.body,
        content_type=CONTENT_TYPE,
        headers={"X-Initialization-Vector": iv or envelope.iv, "X-Authentication-Tag": tag or envelope.tag},
    )


def notification(**merchant):
    return {"notificationID": "n-shop-1", "transactionID": "s2shop", "paymentStatus": "Success", "merchant": merchant}


def test_the_shop_acknowledges_what_it_can_decrypt(client):
    response = post(client, notification(merchantTransactionId="order-1"))
    assert response.status_code == 200
    assert is_valid_ack(200, response.content, "n-shop-1")


def test_the_shop_is_down_for_marked_orders(client):
    response = post(client, notification(merchantTransactionId=f"order-{FAIL_MARKER}-2"))
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("payload", "key", "expected"),
    [
        (notification(), generate_secret(), "authentication_failed"),  # another key
        (b"not json at all", None, "not_json"),
        ({"transactionID": "no id"}, None, "no notificationID"),
        ({"notificationID": 12}, None, "no notificationID"),
        ([1, 2, 3], None, "no notificationID"),
    ],
)
def test_the_shop_refuses_what_it_cannot_read(client, payload, key, expected):
    response = post(client, payload, key=key)
    assert response.status_code == 400
    assert response.json()["error"] == expected


def test_the_shop_refuses_a_tampered_envelope_and_other_methods(client):
    assert post(client, notification(), tag="AAAAAAAAAAAAAAAAAAAAAA==").status_code == 400
    assert client.post(URL, data="", content_type=CONTENT_TYPE).status_code == 400
    assert client.get(URL).status_code == 405


def test_the_shop_is_gone_when_the_sandbox_is(client, settings):
    settings.SANDBOX_ENABLED = False
    assert post(client, notification()).status_code == 404


def test_seed_demo_relays_to_the_shop_once(db, settings, capsys):
    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("seed_demo", "--json")
    call_command("seed_demo", "--json")
    capsys.readouterr()
    webhook = OutboundWebhook.objects.get()
    assert webhook.url.endswith(URL) and webhook.is_active
    assert webhook.encryption_key == shop_key()
    assert webhook.notification_types == list(NotificationType.values)
    assert webhook.failure_email


def test_seed_demo_adds_no_shop_webhook_where_private_urls_are_refused(db, settings, capsys):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    call_command("seed_demo", "--json")
    capsys.readouterr()
    assert not OutboundWebhook.objects.exists()


def test_a_relayed_notification_is_acknowledged_by_the_shop(transactional_db, live_server, settings, capsys):
    """End to end over HTTP: the delivery sweep sends the demo webhook's delivery to the shop on
    the live server, and the shop's answer counts as an acknowledgement."""
    from django.utils import timezone

    from webhooks.outbound import engine

    settings.SITE_URL = live_server.url
    call_command("seed_demo", "--json")
    capsys.readouterr()
    webhook = OutboundWebhook.objects.get()
    payload = {**notification(merchantTransactionId="order-live"), "notificationID": "n-live-1"}
    delivery = webhook.deliveries.create(
        merchant=webhook.merchant,
        notification_id="n-live-1",
        notification_type=NotificationType.MBWAY,
        payload=json.dumps(payload),
        next_attempt_at=timezone.now(),
    )
    engine.sweep()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED, delivery.last_error
    attempt = delivery.attempt_log.get()
    assert attempt.acknowledged and attempt.http_status == 200
