"""Sign-in rules of the console (PCI DSS v4): lockout, second factor, idle sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.utils import timezone

from backoffice.models import AuditEvent
from tests.factories import PASSWORD, give_totp, totp_now


def sign_in(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_viewer_signs_in_with_password_only(client, world):
    response = sign_in(client, "victor@loja.example", PASSWORD)
    assert response.status_code == 302
    assert client.get("/m/loja/transactions/").status_code == 200
    assert AuditEvent.objects.filter(action="user.logged_in", actor=world.victor).exists()


def test_ten_failures_lock_the_account_for_thirty_minutes(client, world):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(10):
            response = sign_in(client, "victor@loja.example", "wrong password!")
            assert response.status_code == 200
        world.victor.refresh_from_db()
        assert world.victor.locked_until == start + timedelta(minutes=30)
        # the right password does not get in while locked, and the page says why
        response = sign_in(client, "victor@loja.example", PASSWORD)
        assert response.status_code == 200
        assert "this account is locked until" in response.content.decode()
    with time_machine.travel(start + timedelta(minutes=29, seconds=59), tick=False):
        assert sign_in(client, "victor@loja.example", PASSWORD).status_code == 200
    with time_machine.travel(start + timedelta(minutes=30, seconds=1), tick=False):
        assert sign_in(client, "victor@loja.example", PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="user.locked", object_id=str(world.victor.pk)).count() == 1


def test_nine_failures_then_success_resets_the_count(client, world):
    for _ in range(9):
        sign_in(client, "victor@loja.example", "wrong password!")
    assert sign_in(client, "victor@loja.example", PASSWORD).status_code == 302
    world.victor.refresh_from_db()
    assert world.victor.failed_login_count == 0 and world.victor.locked_until is None


def test_password_reset_ends_a_lockout(world):
    from allauth.account.signals import password_reset

    world.victor.locked_until = timezone.now() + timedelta(minutes=20)
    world.victor.save()
    password_reset.send(sender=type(world.victor), request=None, user=world.victor)
    world.victor.refresh_from_db()
    assert world.victor.locked_until is None


@pytest.mark.parametrize("email", ["owner@x", "", "a" * 500, "'; DROP TABLE users; --", "victor@loja.example\x00"])
def test_hostile_login_input_is_refused_cleanly(client, world, email):
    response = sign_in(client, email, "whatever password")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_owner_without_totp_must_set_it_up_first(client, world):
    sign_in(client, "alice@loja.example", PASSWORD)
    response = client.get("/m/loja/users/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/?required=1"
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "mfa_required"
    # the setup page itself is reachable
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_owner_with_totp_needs_the_code_to_get_in(client, world):
    secret = give_totp(world.alice)
    response = sign_in(client, "alice@loja.example", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    # not signed in yet
    assert client.get("/m/loja/users/").status_code == 302
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000" if totp_now(secret) != "000000" else "1"})
    assert response.status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.get("/m/loja/users/").status_code == 200


def test_owner_cannot_switch_totp_off(world):
    from allauth.mfa.adapter import get_adapter

    give_totp(world.alice)
    give_totp(world.victor)
    adapter = get_adapter()
    assert not adapter.can_delete_authenticator(Authenticator.objects.get(user=world.alice, type="totp"))
    assert adapter.can_delete_authenticator(Authenticator.objects.get(user=world.victor, type="totp"))


def test_totp_secret_is_encrypted_at_rest(world):
    secret = give_totp(world.victor)
    stored = Authenticator.objects.get(user=world.victor, type="totp").data["secret"]
    assert secret not in stored


def test_session_expires_after_fifteen_idle_minutes(client, world, settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "victor@loja.example", PASSWORD)
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert client.get("/m/loja/transactions/").status_code == 200  # activity renews the session
    with time_machine.travel(start + timedelta(minutes=28), tick=False):
        assert client.get("/m/loja/transactions/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=43, seconds=1), tick=False):
        response = client.get("/m/loja/transactions/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_unchanged_session_is_written_at_most_once_a_minute(client, world):
    from django.contrib.sessions.models import Session

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "victor@loja.example", PASSWORD)
        client.get("/m/loja/transactions/")
    key = client.session.session_key
    written = Session.objects.get(session_key=key).expire_date
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert client.get("/m/loja/transactions/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == written  # no write
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert client.get("/m/loja/transactions/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == written + timedelta(seconds=61)


def test_a_session_never_outlives_the_idle_timeout_after_the_last_request(client, world, settings):
    """With one write a minute, the session ends between 14 and 15 idle minutes: never later."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "victor@loja.example", PASSWORD)
        client.get("/m/loja/transactions/")
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert client.get("/m/loja/transactions/").status_code == 200  # the last request, not written
    idle = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
    with time_machine.travel(start + timedelta(seconds=59) + idle, tick=False):
        response = client.get("/m/loja/transactions/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signup_is_closed(client, db):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
