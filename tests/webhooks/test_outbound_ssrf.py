"""Where a webhook may point (SSRF rules), checked when saved and again at every connection."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from payments.sibs.envelope import decode_secret
from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryState, WebhookDelivery
from webhooks.outbound import key_hint, pump, suggest_key, validate_key, validate_webhook_url
from webhooks.outbound.ssrf import checked_addresses

PUBLIC = "93.184.216.34"


def fake_dns(mapping: dict[str, str]):
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in mapping:
            family = socket.AF_INET6 if ":" in mapping[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (mapping[host], port))]
        return real(host, port, *args, **kwargs)

    return mock.patch("webhooks.outbound.ssrf.socket.getaddrinfo", side_effect=resolve)


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = False


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("ftp://shop.example/hook", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://shop.example/hook", "scheme"),  # plain http not allowed here
        ("https://shop.example:8443/hook", "port"),
        ("https://shop.example:22/hook", "port"),
        ("https://user:pass@shop.example/hook", "credentials"),
        ("https://shop.example/hook#frag", "invalid"),
        ("https://shop.example/ho ok", "invalid"),
        ("https://shop.example/\x00", "invalid"),
        ("https:///hook", "invalid"),
        ("https://shop.example:99999/", "invalid"),
        ("https://127.0.0.1/hook", "private"),
        ("https://10.0.0.5/hook", "private"),
        ("https://172.16.3.4/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),  # cloud metadata
        ("https://100.64.0.1/hook", "private"),  # carrier-grade NAT
        ("https://0.0.0.0/hook", "private"),
        ("https://[::1]/hook", "private"),
        ("https://[fe80::1]/hook", "private"),
        ("https://[fc00::1]/hook", "private"),
        ("https://[::ffff:127.0.0.1]/hook", "private"),  # IPv4-mapped loopback
        ("https://224.0.0.1/hook", "private"),
        ("https://localhost/hook", "private"),
        ("https://2130706433/hook", "private"),  # 127.0.0.1 spelled as a number
        ("https://0x7f.1/hook", "private"),
        ("https://internal.shop.example/hook", "private"),  # a public name pointing inside
        ("https://does-not-exist.invalid/hook", "unresolvable"),
    ],
)
def test_refused_urls(production_rules, url, code):
    with (
        fake_dns({"shop.example": PUBLIC, "internal.shop.example": "10.1.2.3"}),
        pytest.raises(ValidationError) as info,
    ):
        validate_webhook_url(url)
    assert info.value.code == code, info.value.messages


def test_a_very_long_url_is_refused(production_rules):
    with pytest.raises(ValidationError):
        validate_webhook_url("https://shop.example/" + "a" * 3000)


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/hook", "https://shop.example:443/a?b=c", "https://shop.example:80/x", f"https://{PUBLIC}/h"],
)
def test_accepted_urls(production_rules, url):
    with fake_dns({"shop.example": PUBLIC}):
        assert validate_webhook_url(f"  {url} ") == url


def test_http_on_port_80_where_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = True
    with fake_dns({"shop.example": PUBLIC}):
        assert validate_webhook_url("http://shop.example/hook")
        with pytest.raises(ValidationError):
            validate_webhook_url("http://shop.example:8080/hook")


def test_development_allows_loopback_on_any_port(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_ALLOW_HTTP = True
    assert validate_webhook_url("http://127.0.0.1:8000/hook")
    # ...but a public host still only on 443 or 80.
    with fake_dns({"shop.example": PUBLIC}), pytest.raises(ValidationError):
        validate_webhook_url("https://shop.example:8443/hook")


def test_a_name_that_rebinds_to_loopback_at_send_time_is_not_connected_to(
    world, loopback_endpoint, settings, django_capture_on_commit_callbacks
):
    """Saved while the name pointed to a public address; at send time it points to 127.0.0.1
    (where our loopback endpoint listens). The connection is refused before it is made."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    url = f"http://rebind.example:{loopback_endpoint.port}/hook"
    with fake_dns({"rebind.example": PUBLIC}):
        settings.WEBHOOK_ALLOW_HTTP = True
        with pytest.raises(ValidationError):  # not on port 80, so rules refuse it anyway...
            validate_webhook_url(url)
    # ...so store it directly, as if the rules had changed since.
    webhook = make_webhook(world.loja, url=url, key=loopback_endpoint.key)
    from tests.webhooks.test_outbound_engine import _pending

    delivery = _pending(webhook)
    with fake_dns({"rebind.example": "127.0.0.1"}):
        pump()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and "address refused" in delivery.last_error
    assert loopback_endpoint.requests == 0
    assert WebhookDelivery.objects.get().attempts == 1


def test_the_send_time_check_covers_every_resolved_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)),
    ]
    with mock.patch("webhooks.outbound.ssrf.socket.getaddrinfo", return_value=answers), pytest.raises(OSError):
        checked_addresses("both.example", 443)


def test_the_transport_refuses_tls_below_1_2():
    import ssl

    import urllib3

    from webhooks.outbound.transport import new_session

    session = new_session()
    pool = session.connection_from_url("https://shop.example/")
    context = pool.conn_kw["ssl_context"]
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    # No proxy from the environment, no retries, connections checked against the SSRF rules.
    assert not isinstance(session, urllib3.ProxyManager)
    assert session.connection_pool_kw["retries"].total is False
    assert pool.ConnectionCls.__name__ == "CheckedHTTPSConnection"


# --------------------------------------------------------------------------- keys


def test_the_suggested_key_is_base64_of_32_random_bytes():
    first, second = suggest_key(), suggest_key()
    assert len(first) == 44 and len(decode_secret(first)) == 32 and first != second
    assert validate_key(first) == first
    assert key_hint(first) != key_hint(second) and len(key_hint(first)) == 8


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "abc", "A" * 44, "QUJD" * 8, "-_" * 22, "a" * 500, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="[:-1]],
)
def test_an_entered_key_must_be_base64_of_32_bytes(bad):
    with pytest.raises(ValidationError):
        validate_key(bad)


def test_an_entered_key_is_stored_in_canonical_form():
    key = suggest_key()
    assert validate_key(f"  {key}\n") == key
