"""The Webhooks section: configuring outbound webhooks, their keys, tests, deliveries and recovery."""

from __future__ import annotations

import base64
import re
import socket
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from backoffice.models import AuditEvent
from backoffice.roles import Role
from payments.models import Transaction
from payments.sibs.envelope import generate_secret
from tests.factories import make_membership, make_user
from tests.webhooks.endpoint import LoopbackEndpoint
from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryAttempt, DeliveryState, OutboundWebhook, WebhookDelivery
from webhooks.outbound import key_hint

PUBLIC_URL = "https://93.184.216.34/sibs-hook"  # an IP literal: no DNS in tests


def url(name: str, merchant: str = "loja", **kwargs) -> str:
    return reverse(f"webhooks:{name}", kwargs={"merchant": merchant, **kwargs})


def form_data(**overrides) -> dict:
    data = {
        "name": "ERP",
        "kind": "url",
        "scope": "merchant",
        "notification_types": ["mbway", "card"],
        "url": PUBLIC_URL,
        "key_choice": "suggest",
        "encryption_key": "",
        "failure_email": "ops@loja.example",
        "email_to": "",
        "language": "pt",
    }
    data.update(overrides)
    return data


@pytest.fixture
def strict_urls(settings):
    """Production rules: https only, no private addresses."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = False


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_ALLOW_HTTP = True


@pytest.fixture
def porto_admin(world):
    """An Administrator limited to the Porto store."""
    user = make_user("pedro@loja.example", "Pedro Porto Admin")
    make_membership(user, world.loja, Role.ADMINISTRATOR, stores=[world.porto])
    return user


def delivery(webhook, *, state=DeliveryState.DELIVERED, attempts=1, age=timedelta(minutes=5), **extra):
    now = timezone.now()
    return WebhookDelivery.objects.create(
        webhook=webhook,
        merchant=webhook.merchant,
        notification_id=extra.pop("notification_id", f"n-{WebhookDelivery.objects.count() + 1}"),
        notification_type="mbway",
        state=state,
        attempts=attempts,
        created_at=now - age,
        failed_at=(now - age + timedelta(minutes=1)) if state == DeliveryState.FAILED else None,
        delivered_at=(now - age) if state == DeliveryState.DELIVERED else None,
        **extra,
    )


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("administrator", 200), ("operator", 403), ("finance", 403), ("viewer", 403), ("qr_manager", 403)],
)
def test_only_owners_and_administrators(world, login, role, status):
    client = login(world.by_role(role))
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    assert client.get(url("index")).status_code == status
    assert client.get(url("create")).status_code == status
    assert client.get(url("detail", pk=webhook.pk)).status_code == status
    assert client.get(url("resolution")).status_code == status
    assert client.post(url("toggle", pk=webhook.pk), {"active": "0"}).status_code in (status, 302)
    OutboundWebhook.objects.filter(pk=webhook.pk).update(is_active=True)
    if status == 403:
        assert client.post(url("create"), form_data()).status_code == 403
        assert OutboundWebhook.objects.count() == 1


def test_another_merchants_webhook_does_not_exist(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    d = delivery(webhook)
    client = login(world.mallory)
    assert client.get(url("index")).status_code == 404
    # through mallory's own merchant, loja's ids are simply not found
    for name, kwargs in [
        ("detail", {"pk": webhook.pk}),
        ("edit", {"pk": webhook.pk}),
        ("key", {"pk": webhook.pk}),
        ("deliveries", {"pk": webhook.pk}),
        ("delivery", {"pk": d.pk}),
    ]:
        assert client.get(url(name, merchant="outra", **kwargs)).status_code == 404
    for name, kwargs in [
        ("toggle", {"pk": webhook.pk}),
        ("test", {"pk": webhook.pk}),
        ("rotate_key", {"pk": webhook.pk}),
        ("delivery_resend", {"pk": d.pk}),
        ("recover", {"pk": webhook.pk}),
    ]:
        assert client.post(url(name, merchant="outra", **kwargs), {"active": "0"}).status_code == 404
    webhook.refresh_from_db()
    assert webhook.is_active


def test_a_store_limited_admin_sees_only_their_stores_webhooks(world, login, porto_admin):
    merchant_wide = make_webhook(world.loja, name="Merchant-wide", url=PUBLIC_URL, key=generate_secret())
    lisboa = make_webhook(world.loja, name="Lisboa store", url=PUBLIC_URL + "/l", store=world.lisboa)
    porto = make_webhook(world.loja, name="Porto store", url=PUBLIC_URL + "/p", store=world.porto)
    porto_terminal = make_webhook(world.loja, name="Porto terminal", url=PUBLIC_URL + "/t", terminal=world.t_porto)
    d = delivery(merchant_wide)
    client = login(porto_admin)
    page = client.get(url("index")).content.decode()
    assert "Porto store" in page and "Porto terminal" in page
    assert "Merchant-wide" not in page and "Lisboa store" not in page
    assert client.get(url("detail", pk=porto_terminal.pk)).status_code == 200
    assert client.get(url("detail", pk=porto.pk)).status_code == 200
    for hidden in (merchant_wide, lisboa):
        assert client.get(url("detail", pk=hidden.pk)).status_code == 404
        assert client.post(url("toggle", pk=hidden.pk), {"active": "0"}).status_code == 404
    assert client.get(url("delivery", pk=d.pk)).status_code == 404
    assert client.post(url("delivery_resend", pk=d.pk)).status_code == 404
    # whole-merchant recovery would reach webhooks they do not manage
    assert client.post(url("recover_all"), {"since": "2020-01-01T00:00"}).status_code == 403


def test_a_store_limited_admin_creates_only_for_their_stores(world, login, porto_admin):
    client = login(porto_admin)
    form = client.get(url("create")).context["form"]
    choices = dict(form.fields["scope"].choices)
    assert "merchant" not in choices
    assert set(choices) == {f"store:{world.porto.pk}", f"terminal:{world.t_porto.pk}"}
    for scope in ("merchant", f"store:{world.lisboa.pk}", f"terminal:{world.t_lisboa.pk}"):
        response = client.post(url("create"), form_data(scope=scope))
        assert response.status_code == 400
        assert "is not one of them" in response.content.decode()
    assert not OutboundWebhook.objects.exists()
    response = client.post(url("create"), form_data(scope=f"terminal:{world.t_porto.pk}"))
    assert response.status_code == 302
    assert OutboundWebhook.objects.get().terminal == world.t_porto


# --------------------------------------------------------------------------- creating, and the key


def test_a_suggested_key_is_shown_once(world, login):
    client = login(world.adam)
    form_page = client.get(url("create"))
    assert form_page["Cache-Control"] == "no-store"
    submission = form_page.context["form"].initial["submission"]
    # when
    response = client.post(url("create"), form_data(submission=submission))
    # then: one webhook, and the key page
    webhook = OutboundWebhook.objects.get()
    assert response.status_code == 302 and response["Location"] == url("key", pk=webhook.pk)
    key_page = client.get(response["Location"])
    assert key_page["Cache-Control"] == "no-store"
    html = key_page.content.decode()
    shown = re.search(r'data-testid="key-value">([^<]+)<', html).group(1)
    assert shown == webhook.encryption_key
    assert len(base64.b64decode(shown, validate=True)) == 32
    assert webhook.key_hint == key_hint(shown) and webhook.key_hint in html
    # never again
    again = client.get(url("key", pk=webhook.pk)).content.decode()
    assert shown not in again and 'data-testid="key-gone"' in again
    detail = client.get(url("detail", pk=webhook.pk)).content.decode()
    assert shown not in detail and webhook.key_hint in detail
    # the session does not hold it in clear either
    assert all(shown not in str(value) for value in client.session.values())
    event = AuditEvent.objects.get(action="outbound_webhook.created")
    assert event.actor == world.adam and shown not in str(event.after)
    assert event.after["key_hint"] == webhook.key_hint and event.after["key_origin"] == "suggested"
    assert event.after["notification_types"] == ["mbway", "card"] and event.after["url"] == PUBLIC_URL


def test_an_entered_key_is_validated_and_kept(world, login):
    client = login(world.alice)
    key = generate_secret()
    response = client.post(url("create"), form_data(key_choice="enter", encryption_key=f"  {key}\n"))
    assert response.status_code == 302
    webhook = OutboundWebhook.objects.get()
    assert webhook.encryption_key == key and webhook.key_hint == key_hint(key)
    assert key in client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.get(action="outbound_webhook.created").after["key_origin"] == "entered"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter your key, or let the backoffice suggest one"),
        ("c2hvcnQ=", "decodes to 5 bytes"),
        ("A" * 43, "not a multiple of 4"),
        ("-" * 44, "URL-safe"),
        ("é" * 44, "outside the Base64 alphabet"),
        ("A" * 500, "at most 200 characters"),
    ],
)
def test_a_bad_entered_key_is_refused_clearly(world, login, value, message):
    response = login(world.alice).post(url("create"), form_data(key_choice="enter", encryption_key=value))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not OutboundWebhook.objects.exists()


@pytest.mark.parametrize(
    "bad_url",
    [
        "javascript:alert(document.cookie)",
        "http://10.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://93.184.216.34:8443/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
        "https://93.184.216.34/hook\r\nX-Injected: 1",
        "https://93.184.216.34/" + "a" * 3000,
        "not a url",
    ],
)
def test_hostile_urls_are_refused(world, login, strict_urls, bad_url):
    response = login(world.alice).post(url("create"), form_data(url=bad_url))
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert "url" in response.context["form"].errors
    assert not OutboundWebhook.objects.exists()


def test_plain_http_only_where_allowed(world, login, settings):
    client = login(world.alice)
    settings.WEBHOOK_ALLOW_HTTP = False
    response = client.post(url("create"), form_data(url="http://93.184.216.34/hook"))
    assert response.status_code == 400 and "https://" in str(response.context["form"].errors["url"])
    settings.WEBHOOK_ALLOW_HTTP = True
    assert client.post(url("create"), form_data(url="http://93.184.216.34/hook")).status_code == 302


def test_private_addresses_only_when_a_setting_allows_them(world, login, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = True
    client = login(world.alice)
    assert client.post(url("create"), form_data(url="http://127.0.0.1:8000/hook")).status_code == 400
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert client.post(url("create"), form_data(url="http://127.0.0.1:8000/hook")).status_code == 302


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"failure_email": ""}, "failure_email", "tell when deliveries fail"),
        ({"failure_email": "not-an-address"}, "failure_email", "valid email"),
        ({"url": ""}, "url", "Enter the URL"),
        ({"notification_types": []}, "notification_types", "at least one notification type"),
        ({"notification_types": ["bitcoin"]}, "notification_types", "not one of the available choices"),
        ({"kind": "sms"}, "kind", "not one of the available choices"),
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"scope": "store:abc"}, "scope", "is not one of them"),
        ({"kind": "email", "email_to": ""}, "email_to", "address the notifications go to"),
        ({"kind": "email", "email_to": "a@b@c"}, "email_to", "valid email"),
        ({"language": "fr"}, "language", "not one of the available choices"),
    ],
)
def test_malformed_input_is_explained(world, login, overrides, field, message):
    response = login(world.alice).post(url("create"), form_data(**overrides))
    assert response.status_code == 400
    assert message.lower() in " ".join(response.context["form"].errors[field]).lower()
    assert not OutboundWebhook.objects.exists()


def test_another_merchants_store_or_terminal_is_refused(world, login):
    client = login(world.alice)
    for scope in (f"store:{world.outra_store.pk}", f"terminal:{world.t_outra.pk}"):
        response = client.post(url("create"), form_data(scope=scope))
        assert response.status_code == 400
        assert "is not one of them" in " ".join(response.context["form"].errors["scope"])
    assert not OutboundWebhook.objects.exists()


def test_an_email_webhook_needs_no_key(world, login):
    client = login(world.adam)
    response = client.post(
        url("create"),
        form_data(kind="email", url="", failure_email="", email_to="finance@loja.example", language="en"),
    )
    webhook = OutboundWebhook.objects.get()
    assert response["Location"] == url("detail", pk=webhook.pk)
    assert webhook.kind == "email" and webhook.email_to == "finance@loja.example"
    assert webhook.encryption_key == "" and webhook.key_hint == "" and webhook.url == ""
    assert webhook.language == "en"


def test_a_double_submitted_form_creates_one_webhook(world, login):
    client = login(world.alice)
    submission = client.get(url("create")).context["form"].initial["submission"]
    first = client.post(url("create"), form_data(submission=submission))
    second = client.post(url("create"), form_data(submission=submission))
    webhook = OutboundWebhook.objects.get()
    # the second answer leads to the same webhook, its key still to be shown once
    assert first["Location"] == second["Location"] == url("key", pk=webhook.pk)
    assert webhook.encryption_key in client.get(second["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="outbound_webhook.created").count() == 1


def test_the_same_webhook_twice_is_refused_clearly(world, login):
    client = login(world.alice)
    assert client.post(url("create"), form_data(name="ERP")).status_code == 302
    response = client.post(url("create"), form_data(name="ERP again", notification_types=["card", "xpay"]))
    assert response.status_code == 400
    assert "already sends Card" in response.content.decode()
    assert OutboundWebhook.objects.count() == 1
    # a failed attempt does not burn its submission: fixed, the same form goes through
    assert client.post(url("create"), form_data(name="XPAY only", notification_types=["xpay"])).status_code == 302
    # another scope or another address is another webhook
    assert client.post(url("create"), form_data(scope=f"store:{world.porto.pk}")).status_code == 302
    assert client.post(url("create"), form_data(url=PUBLIC_URL + "/2")).status_code == 302
    assert OutboundWebhook.objects.count() == 4


# --------------------------------------------------------------------------- edit, disable, rotate


def test_editing_is_validated_and_audited(world, login, strict_urls):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), types=["mbway"])
    client = login(world.alice)
    assert client.get(url("edit", pk=webhook.pk)).context["form"].initial["scope"] == "merchant"
    bad = client.post(url("edit", pk=webhook.pk), form_data(url="https://169.254.169.254/"))
    assert bad.status_code == 400
    response = client.post(
        url("edit", pk=webhook.pk),
        form_data(name="ERP", scope=f"terminal:{world.t_lisboa.pk}", notification_types=["reference", "mbway"]),
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.terminal == world.t_lisboa and webhook.notification_types == ["mbway", "reference"]
    event = AuditEvent.objects.get(action="outbound_webhook.updated")
    assert event.before == {"scope": "merchant", "terminal": None, "notification_types": ["mbway"]}
    assert event.after == {
        "scope": "terminal",
        "terminal": world.t_lisboa.pk,
        "notification_types": ["mbway", "reference"],
    }
    # saving unchanged is not an event
    client.post(
        url("edit", pk=webhook.pk),
        form_data(name="ERP", scope=f"terminal:{world.t_lisboa.pk}", notification_types=["reference", "mbway"]),
    )
    assert AuditEvent.objects.filter(action="outbound_webhook.updated").count() == 1


def test_editing_into_a_duplicate_is_refused(world, login):
    make_webhook(world.loja, name="A", url=PUBLIC_URL, key=generate_secret(), types=["mbway"])
    other = make_webhook(world.loja, name="B", url=PUBLIC_URL + "/b", key=generate_secret(), types=["mbway"])
    response = login(world.alice).post(url("edit", pk=other.pk), form_data(name="B", notification_types=["mbway"]))
    assert response.status_code == 400 and "“A” already sends MB WAY" in response.content.decode()
    other.refresh_from_db()
    assert other.url == PUBLIC_URL + "/b"


def test_disable_and_enable_once_each(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    client = login(world.adam)
    client.post(url("toggle", pk=webhook.pk), {"active": "0"})
    client.post(url("toggle", pk=webhook.pk), {"active": "0"})
    webhook.refresh_from_db()
    assert not webhook.is_active
    assert AuditEvent.objects.filter(action="outbound_webhook.disabled").count() == 1
    assert 'data-status="disabled"' in client.get(url("index")).content.decode()
    client.post(url("toggle", pk=webhook.pk), {"active": "1"})
    webhook.refresh_from_db()
    assert webhook.is_active
    assert AuditEvent.objects.filter(action="outbound_webhook.enabled").count() == 1
    assert client.get(url("toggle", pk=webhook.pk)).status_code == 405


def test_rotating_the_key_shows_the_new_one_once(world, login):
    old = generate_secret()
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=old)
    client = login(world.alice)
    response = client.post(url("rotate_key", pk=webhook.pk), {"key_choice": "suggest"})
    assert response["Location"] == url("key", pk=webhook.pk)
    webhook.refresh_from_db()
    assert webhook.encryption_key != old and webhook.key_hint == key_hint(webhook.encryption_key)
    assert webhook.encryption_key in client.get(response["Location"]).content.decode()
    assert webhook.encryption_key not in client.get(response["Location"]).content.decode()
    event = AuditEvent.objects.get(action="outbound_webhook.key_rotated")
    assert event.before == {"key_hint": key_hint(old)} and event.after["key_hint"] == webhook.key_hint
    # an entered key is validated like on creation
    bad = client.post(url("rotate_key", pk=webhook.pk), {"key_choice": "enter", "encryption_key": "c2hvcnQ="})
    assert bad.status_code == 400 and "decodes to 5 bytes" in bad.content.decode()


# --------------------------------------------------------------------------- test notification


def test_send_test_to_an_endpoint_that_acknowledges(world, login, loopback_allowed):
    key = generate_secret()
    with LoopbackEndpoint(key) as endpoint:
        webhook = make_webhook(world.loja, endpoint=endpoint, types=["reference"])
        response = login(world.adam).post(url("test", pk=webhook.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-verdict="acknowledged"' in html
    assert "200" in html and "notificationID" in html  # the answer excerpt
    assert len(endpoint.received) == 1 and endpoint.received[0]["paymentMethod"] == "REFERENCE"
    test = WebhookDelivery.objects.get(webhook=webhook)
    assert test.is_test and test.state == DeliveryState.DELIVERED
    assert AuditEvent.objects.get(action="outbound_webhook.test_sent").actor == world.adam


@pytest.mark.parametrize(
    ("mode", "verdict", "text"),
    [("status500", "not-acknowledged", "500"), ("wrong_id", "not-acknowledged", "not acknowledged")],
)
def test_send_test_shows_a_bad_answer(world, login, loopback_allowed, mode, verdict, text):
    with LoopbackEndpoint(generate_secret(), mode=mode) as endpoint:
        webhook = make_webhook(world.loja, endpoint=endpoint)
        response = login(world.adam).post(url("test", pk=webhook.pk))
    html = response.content.decode()
    # without htmx, the whole page comes back with the verdict in it
    assert response.status_code == 200 and f'data-verdict="{verdict}"' in html and text in html


def test_send_test_to_nowhere_is_not_reachable(world, login, loopback_allowed):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = make_webhook(world.loja, url=f"http://127.0.0.1:{port}/hook", key=generate_secret())
    response = login(world.adam).post(url("test", pk=webhook.pk), HTTP_HX_REQUEST="true")
    assert 'data-verdict="unreachable"' in response.content.decode()


def test_send_test_refuses_a_private_address_under_production_rules(world, login, strict_urls):
    webhook = make_webhook(world.loja, url="https://10.0.0.1/hook", key=generate_secret())
    response = login(world.adam).post(url("test", pk=webhook.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-verdict="unreachable"' in html and "private" in html


def test_tests_are_spaced_out(world, login, loopback_allowed):
    with LoopbackEndpoint(generate_secret()) as endpoint:
        webhook = make_webhook(world.loja, endpoint=endpoint)
        client = login(world.adam)
        client.post(url("test", pk=webhook.pk), HTTP_HX_REQUEST="true")
        second = client.post(url("test", pk=webhook.pk), HTTP_HX_REQUEST="true")
    assert "wait a few seconds" in second.content.decode()
    assert endpoint.requests == 1
    assert client.get(url("test", pk=webhook.pk)).status_code == 405


# --------------------------------------------------------------------------- deliveries


def test_the_delivery_log_pages_by_keyset_and_filters(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    for i in range(55):
        delivery(webhook, age=timedelta(minutes=i), notification_id=f"n-{i:02d}")
    delivery(webhook, state=DeliveryState.FAILED, attempts=44, age=timedelta(days=3), notification_id="n-failed")
    client = login(world.alice)
    first = client.get(url("deliveries", pk=webhook.pk))
    ids_first = [d.notification_id for d in first.context["page"].items]
    assert len(ids_first) == 50 and ids_first[0] == "n-00"
    older = re.search(r'href="\?([^"]+)" data-testid="older"', first.content.decode()).group(1)
    second = client.get(url("deliveries", pk=webhook.pk) + "?" + older.replace("&amp;", "&"))
    ids_second = [d.notification_id for d in second.context["page"].items]
    assert ids_second == ["n-50", "n-51", "n-52", "n-53", "n-54", "n-failed"]
    assert 'data-testid="older"' not in second.content.decode()
    failed = client.get(url("deliveries", pk=webhook.pk) + "?state=failed")
    assert [d.notification_id for d in failed.context["page"].items] == ["n-failed"]
    # a tampered cursor or filter starts again from the top instead of failing
    for query in ("?after=garbage", "?after=99999999999999999999999_1", "?after=-1_-1"):
        assert client.get(url("deliveries", pk=webhook.pk) + query).status_code == 200
    assert client.get(url("deliveries", pk=webhook.pk) + "?state=nonsense").status_code == 400
    assert client.get(url("deliveries_all") + "?transaction=" + "x" * 300).status_code == 400


def test_the_log_of_one_transaction(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    txn = Transaction.objects.create(merchant=world.loja, transaction_id="s2TXN0001", state="success")
    mine = delivery(webhook, transaction=txn)
    delivery(webhook)
    client = login(world.alice)
    page = client.get(url("deliveries_all") + "?transaction=s2TXN0001")
    assert [d.pk for d in page.context["page"].items] == [mine.pk]
    detail = client.get(url("delivery", pk=mine.pk)).content.decode()
    assert reverse("payments:transaction", kwargs={"merchant": "loja", "transaction_id": "s2TXN0001"}) in detail


def test_a_delivery_shows_its_attempts_and_next_retry(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    d = delivery(
        webhook,
        state=DeliveryState.PENDING,
        attempts=2,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        last_http_status=503,
    )
    start = timezone.now() - timedelta(minutes=10)
    DeliveryAttempt.objects.create(delivery=d, number=1, started_at=start, duration_ms=120, error="connection refused")
    DeliveryAttempt.objects.create(
        delivery=d,
        number=2,
        started_at=start + timedelta(minutes=5),
        duration_ms=80,
        http_status=503,
        response_excerpt="<h1>Service Unavailable</h1>",
    )
    html = login(world.alice).get(url("delivery", pk=d.pk)).content.decode()
    assert "connection refused" in html and "&lt;h1&gt;Service Unavailable&lt;/h1&gt;" in html
    assert "120 ms" in html and "503" in html and "Next retry" in html and 'data-state="pending"' in html


def test_resend_one_delivery(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    d = delivery(webhook, state=DeliveryState.FAILED, attempts=44)
    client = login(world.alice)
    response = client.post(url("delivery_resend", pk=d.pk))
    assert response["Location"] == url("delivery", pk=d.pk)
    d.refresh_from_db()
    assert d.state == DeliveryState.PENDING and d.failed_at is None
    assert AuditEvent.objects.get(action="webhook_delivery.resend").actor == world.alice
    assert client.get(url("delivery_resend", pk=d.pk)).status_code == 405


def test_resend_to_a_disabled_webhook_is_explained(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret(), is_active=False)
    d = delivery(webhook, state=DeliveryState.FAILED, attempts=44)
    client = login(world.alice)
    response = client.post(url("delivery_resend", pk=d.pk), follow=True)
    assert "inactive" in response.content.decode()
    d.refresh_from_db()
    assert d.state == DeliveryState.FAILED


def test_recover_since_counts_then_resends(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    other = make_webhook(world.loja, name="Other", url=PUBLIC_URL + "/o", key=generate_secret())
    recent = [delivery(webhook, state=DeliveryState.FAILED, attempts=44, age=timedelta(hours=h)) for h in (1, 2)]
    old = delivery(webhook, state=DeliveryState.FAILED, attempts=44, age=timedelta(days=3))
    elsewhere = delivery(other, state=DeliveryState.FAILED, attempts=44, age=timedelta(hours=1))
    since = timezone.localtime(timezone.now() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    client = login(world.adam)
    # first: how many
    preview = client.post(url("recover", pk=webhook.pk), {"since": since})
    assert preview.status_code == 200
    assert "2 deliveries given up on since" in preview.content.decode()
    assert all(WebhookDelivery.objects.get(pk=d.pk).state == "failed" for d in [*recent, old])
    # then: confirmed
    response = client.post(url("recover", pk=webhook.pk), {"since": since, "confirm": "True", "expected": "2"})
    assert response["Location"] == url("detail", pk=webhook.pk)
    states = {d.pk: WebhookDelivery.objects.get(pk=d.pk).state for d in [*recent, old, elsewhere]}
    assert states == {recent[0].pk: "pending", recent[1].pk: "pending", old.pk: "failed", elsewhere.pk: "failed"}
    event = AuditEvent.objects.get(action="webhook_delivery.recover")
    assert event.after["recovered"] == 2 and event.actor == world.adam
    # a confirmation given for another number is asked again
    delivery(webhook, state=DeliveryState.FAILED, attempts=44, age=timedelta(hours=1))
    again = client.post(url("recover", pk=webhook.pk), {"since": since, "confirm": "True", "expected": "5"})
    assert again.status_code == 200 and 'data-testid="recover-changed"' in again.content.decode()
    assert WebhookDelivery.objects.filter(
        webhook=webhook, state="failed", failed_at__gte=timezone.now() - timedelta(hours=2)
    ).exists()
    # the whole merchant, for a merchant-wide administrator: the new one and the other webhook's
    preview = client.post(url("recover_all"), {"since": since})
    assert "2 deliveries given up on since" in preview.content.decode()


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("", "required"),
        ("yesterday", "Enter a valid date/time"),
        ("2999-01-01T00:00", "in the past"),
        ("2001-01-01T00:00", "last 62 days at most"),
        ("2025-13-45T99:99", "Enter a valid date/time"),
    ],
)
def test_recover_since_refuses_a_bad_moment(world, login, since, message):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    response = login(world.adam).post(url("recover", pk=webhook.pk), {"since": since, "confirm": "True"})
    assert response.status_code == 400 and message in response.content.decode()


def test_recover_since_is_read_in_lisbon_time(world, login):
    webhook = make_webhook(world.loja, url=PUBLIC_URL, key=generate_secret())
    moment = (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    wall_clock = moment.astimezone(ZoneInfo("Europe/Lisbon")).strftime("%Y-%m-%dT%H:%M")
    client = login(world.adam)
    # whatever zone happens to be active, the field means Lisbon
    with timezone.override("America/New_York"):
        response = client.post(url("recover", pk=webhook.pk), {"since": wall_clock})
    assert response.context["since"] == moment


# --------------------------------------------------------------------------- health


def test_health_at_a_glance(world, login, django_assert_max_num_queries):
    good = make_webhook(world.loja, name="Good", url=PUBLIC_URL, key=generate_secret())
    bad = make_webhook(world.loja, name="Bad", url=PUBLIC_URL + "/b", key=generate_secret())
    for _ in range(3):
        delivery(good)
    delivery(bad, state=DeliveryState.FAILED, attempts=44, last_error="connection refused")
    delivery(bad, state=DeliveryState.PENDING, attempts=3, last_error="HTTP 503")
    delivery(good, state=DeliveryState.FAILED, attempts=44, age=timedelta(days=2))  # outside the window
    delivery(good, state=DeliveryState.PENDING, attempts=0)  # not tried yet: not counted
    client = login(world.alice)
    with django_assert_max_num_queries(20):
        response = client.get(url("index"))
    summary = response.context["summary"]
    assert summary.delivered == 3 and summary.attempted == 5 and summary.success_rate == 60.0
    assert [w.name for w in response.context["failing"]] == ["Bad"]
    html = response.content.decode()
    assert 'data-testid="success-rate">60.0' in html and "HTTP 503" in html
    assert summary.by_webhook[good.pk].success_rate == 100.0


def test_health_queries_do_not_grow_with_webhooks(world, login):
    """Neither with webhooks nor with failing ones: the latest error of each comes in one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("index")).status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        w = make_webhook(world.loja, name=f"W{i}", url=f"{PUBLIC_URL}/{i}", key=generate_secret())
        delivery(w, state=DeliveryState.FAILED, attempts=44, last_error=f"refused {i}")
    client.get(url("index"))  # the session settles
    few = queries()
    for i in range(3, 30):
        w = make_webhook(world.loja, name=f"W{i}", url=f"{PUBLIC_URL}/{i}", key=generate_secret())
        delivery(w, state=DeliveryState.FAILED, attempts=44, last_error=f"refused {i}")
    assert queries() == few <= 15
    assert "refused 29" in client.get(url("index")).content.decode()


@pytest.mark.postgres
def test_two_simultaneous_creations_make_one_webhook(transactional_db):
    """The duplicate check holds under concurrency: it runs under a lock on the merchant row."""
    import threading

    from django.db import connection

    from backoffice.access import Access
    from backoffice.audit import Actor
    from tests.conftest import World
    from webhooks.outbound.services import WebhookData, webhook_create

    world = World()
    access = Access.for_membership(world.m_alice)
    data = WebhookData(
        name="ERP", store=None, terminal=None, notification_types=["mbway"], url=PUBLIC_URL, failure_email="o@l.example"
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create():
        try:
            barrier.wait()
            webhook_create(access=access, actor=Actor(user=world.alice), kind="url", data=data)
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "refused"]
    assert OutboundWebhook.objects.count() == 1
