"""Sign-in limits per account, second factor included, and per real client address."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from backoffice.audit import client_ip
from tests.factories import PASSWORD, give_totp, totp_now

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def wrong_code(secret: str) -> str:
    return "000000" if totp_now(secret) != "000000" else "111111"


def test_wrong_second_factor_codes_count_into_the_lockout(client, world, settings):
    # given alice's password is right and her code is not, again and again
    secret = give_totp(world.alice)
    assert sign_in(client, "alice@loja.example").status_code == 302
    for attempt in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post("/accounts/2fa/authenticate/", {"code": wrong_code(secret)})
        assert response.status_code == 200, attempt
    # then the account is locked, and even the right code does not get in
    world.alice.refresh_from_db()
    assert world.alice.locked_until is not None
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert response.status_code == 200 and "locked until" in response.content.decode()
    assert client.get("/m/loja/users/").status_code == 302
    # and a fresh sign-in with the right password is refused while locked
    fresh = Client()
    assert sign_in(fresh, "alice@loja.example").status_code == 200


def test_a_few_wrong_codes_then_the_right_one(client, world):
    secret = give_totp(world.alice)
    sign_in(client, "alice@loja.example")
    for _ in range(3):
        client.post("/accounts/2fa/authenticate/", {"code": wrong_code(secret)})
    world.alice.refresh_from_db()
    assert world.alice.failed_login_count == 3
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)}).status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.failed_login_count == 0 and world.alice.locked_until is None


def _from(address: str) -> Client:
    # behind one proxy: it appends the address it got the request from
    return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.7, {address}")


def test_one_account_locked_never_spills_onto_another(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # given victor's account is hammered from one address until well past every limit
    attacker = _from("203.0.113.9")
    for _ in range(40):
        sign_in(attacker, "victor@loja.example", "wrong password!")
    world.victor.refresh_from_db()
    assert world.victor.locked_until is not None
    # then fiona, behind the same proxy from her own address, signs in
    assert sign_in(_from("203.0.113.20"), "fiona@loja.example").status_code == 302


def test_failures_of_one_account_do_not_block_another_from_the_same_address(client, world, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "victor@loja.example", "wrong password!")
    assert sign_in(client, "fiona@loja.example").status_code == 302


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.0.0.2"),  # no proxy configured: the header is the client's word
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client wrote 6.6.6.6 itself
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.1", "1.2.3.4"),
        (2, "1.2.3.4", "10.0.0.2"),  # fewer entries than proxies: the connection's address
        (1, "not-an-ip", None),
    ],
)
def test_the_client_address_through_trusted_proxies(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
    from allauth.account.adapter import get_adapter

    if expected is not None:
        assert get_adapter().get_client_ip(request) == expected
