"""The inbound part of the Payment methods page: URL, secrets, acknowledgement, rejected log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.models import AuditEvent
from payments.sibs.envelope import generate_secret
from tests.webhooks.support import add_secret, inbound_path, notification, post_encrypted
from webhooks.models import InboundEndpoint, RejectedNotification, WebhookSecret

PAGE = "/m/loja/webhooks/inbound/"


def url(name: str, **kwargs) -> str:
    return reverse(f"webhooks:{name}", kwargs={"merchant": "loja", **kwargs})


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("administrator", 200), ("operator", 403), ("finance", 403), ("viewer", 403), ("qr_manager", 403)],
)
def test_who_sees_the_page(world, login, role, status):
    assert login(world.by_role(role)).get(PAGE).status_code == status


def test_another_merchant_does_not_exist(world, login):
    client = login(world.mallory)
    assert client.get(PAGE).status_code == 404
    assert client.post(url("secret_generate"), {"generate-label": "x"}).status_code == 404
    assert client.get(url("rejected")).status_code == 404


def test_the_page_shows_the_inbound_url(world, login):
    response = login(world.alice).get(PAGE)
    endpoint = InboundEndpoint.objects.get(merchant=world.loja)
    assert endpoint.url == f"http://testserver/hooks/sibs/{endpoint.token}/"
    assert endpoint.url in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_a_generated_secret_is_shown_once_and_works(world, login, client):
    owner = login(world.alice)
    # when
    response = owner.post(url("secret_generate"), {"generate-label": "SIBS QLY"})
    # then: shown on this answer only
    assert response.status_code == 200
    secret = WebhookSecret.objects.get(merchant=world.loja)
    page = response.content.decode()
    assert secret.secret in page and 'data-testid="new-secret"' in page
    assert secret.secret not in owner.get(PAGE).content.decode()
    assert secret.fingerprint in owner.get(PAGE).content.decode()
    # it opens notifications at once
    assert post_encrypted(client, inbound_path(world.loja), secret.secret, notification()).status_code == 200
    # and the audit says so, without the secret
    event = AuditEvent.objects.get(action="webhook_secret.created")
    assert event.actor == world.alice and secret.secret not in str(event.after)
    assert event.after == {"label": "SIBS QLY", "origin": "generated", "fingerprint": secret.fingerprint}


def test_an_entered_secret_is_validated_and_stored(world, login):
    owner = login(world.alice)
    value = generate_secret()
    response = owner.post(url("secret_enter"), {"enter-label": "from SIBS", "enter-secret": f"  {value}\n"})
    assert response.status_code == 302
    stored = WebhookSecret.objects.get()
    assert stored.secret == value and stored.origin == "entered" and stored.label == "from SIBS"
    assert value not in owner.get(PAGE).content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "This field is required"),
        ("c2hvcnQ=", "decodes to 5 bytes"),
        ("A" * 43, "not a multiple of 4"),
        ("-" * 44, "URL-safe"),
        ("é" * 44, "outside the Base64 alphabet"),
        ("A" * 500, "at most 200 characters"),
    ],
)
def test_a_malformed_secret_is_refused_with_a_clear_message(world, login, value, message):
    response = login(world.alice).post(url("secret_enter"), {"enter-secret": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WebhookSecret.objects.exists()


def test_the_same_secret_twice_is_refused(world, login):
    owner = login(world.alice)
    value = generate_secret()
    assert owner.post(url("secret_enter"), {"enter-secret": value}).status_code == 302
    response = owner.post(url("secret_enter"), {"enter-secret": value})
    assert response.status_code == 400
    assert "already active" in response.content.decode()
    assert WebhookSecret.objects.count() == 1


def test_the_same_secret_may_be_used_by_two_merchants(world, login):
    value = generate_secret()
    add_secret(world.outra, value)
    assert login(world.alice).post(url("secret_enter"), {"enter-secret": value}).status_code == 302


def test_the_number_of_active_secrets_is_bounded(world, login):
    for _ in range(10):
        add_secret(world.loja)
    response = login(world.alice).post(url("secret_generate"), {})
    assert response.status_code == 400 and "at most 10" in response.content.decode()


def test_hostile_labels_are_escaped(world, login):
    owner = login(world.alice)
    owner.post(url("secret_generate"), {"generate-label": "<script>alert(1)</script>"})
    page = owner.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_revoking_a_secret(world, login, client):
    value = add_secret(world.loja)
    secret = WebhookSecret.objects.get()
    response = login(world.alice).post(url("secret_revoke", pk=secret.pk))
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.revoked_at is not None
    assert AuditEvent.objects.filter(action="webhook_secret.revoked", object_id=str(secret.pk)).exists()
    # revoked here, so this process refuses it at once (the only secret: 503)
    assert post_encrypted(client, inbound_path(world.loja), value, notification()).status_code == 503
    # revoking again changes nothing
    login(world.alice).post(url("secret_revoke", pk=secret.pk))
    assert AuditEvent.objects.filter(action="webhook_secret.revoked").count() == 1


def test_another_merchants_secret_cannot_be_revoked(world, login):
    add_secret(world.outra)
    other = WebhookSecret.objects.get(merchant=world.outra)
    assert login(world.alice).post(url("secret_revoke", pk=other.pk)).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_forms_only_accept_post(world, login):
    owner = login(world.alice)
    for name in ("secret_generate", "secret_enter", "inbound_settings"):
        assert owner.get(url(name)).status_code == 405


def test_a_store_limited_administrator_cannot_touch_merchant_wide_secrets(world, login):
    from backoffice.models import Membership

    Membership.objects.filter(pk=world.m_adam.pk).first().stores.set([world.porto])
    admin = login(world.adam)
    # The tab is not offered to them, and opening it anyway is refused.
    methods = admin.get("/m/loja/payment-methods/")
    assert methods.status_code == 200 and 'data-tab="inbound"' not in methods.content.decode()
    assert admin.get(PAGE).status_code == 403
    assert admin.post(url("secret_generate"), {}).status_code == 403
    assert admin.get(url("rejected")).status_code == 403


def test_the_acknowledgement_code_setting(world, login):
    owner = login(world.alice)
    assert owner.post(url("inbound_settings"), {"inbound-ack_status_code": "000"}).status_code == 302
    assert InboundEndpoint.objects.get().ack_status_code == "000"
    event = AuditEvent.objects.get(action="inbound_endpoint.updated")
    assert event.before == {"ack_status_code": "200"} and event.after == {"ack_status_code": "000"}
    response = owner.post(url("inbound_settings"), {"inbound-ack_status_code": "<b>999</b>"})
    assert response.status_code == 400 and InboundEndpoint.objects.get().ack_status_code == "000"


def test_the_rejected_log(world, login, client):
    add_secret(world.loja)
    # a hostile body, refused
    client.generic(
        "POST",
        inbound_path(world.loja),
        b"<script>alert('x')</script>",
        content_type="text/plain",
        HTTP_X_INITIALIZATION_VECTOR="AAAAAAAAAAAAAAAA",
        HTTP_X_AUTHENTICATION_TAG="<img src=x onerror=alert(1)>",
    )
    assert RejectedNotification.objects.count() == 1
    response = login(world.adam).get(url("rejected"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "bad_base64" in page
    assert "<script>alert('x')</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page
    # linked from the Payment methods page
    assert url("rejected") in login(world.alice).get(PAGE).content.decode()


@pytest.mark.parametrize("role", ["operator", "finance", "viewer", "qr_manager"])
def test_the_rejected_log_is_for_administrators(world, login, role):
    assert login(world.by_role(role)).get(url("rejected")).status_code == 403


def test_another_merchants_rejections_are_not_shown(world, login, client):
    add_secret(world.outra)
    post_encrypted(client, inbound_path(world.outra), generate_secret(), notification())
    page = login(world.alice).get(url("rejected")).content.decode()
    assert "authentication_failed" not in page


def test_failed_notifications_are_listed_with_the_refused_ones(
    world, login, client, django_capture_on_commit_callbacks
):
    from tests.webhooks.support import processing

    secret = add_secret(world.loja)
    with processing(django_capture_on_commit_callbacks):
        post_encrypted(client, inbound_path(world.loja), secret, notification(amount={"value": "<b>lots</b>"}))
    page = login(world.adam).get(url("rejected")).content.decode()
    assert 'data-testid="failed-table"' in page and "amount.value" in page
    assert "<b>lots</b>" not in page
