"""The relay over real TLS: a loopback HTTPS endpoint with a certificate from a throw-away CA.

Production verification is never weakened: the tests that succeed make the client trust the
test CA *in addition to* the system store (certificate chain and host name still checked), and
the same endpoint without that trust is refused as a TLS error.
"""

from __future__ import annotations

import ssl

import pytest

from payments.sibs.envelope import generate_secret
from tests.webhooks.endpoint import LoopbackEndpoint, make_tls_files
from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryState, WebhookDelivery
from webhooks.outbound import engine, send_test, transport


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fresh_session(monkeypatch):
    """A new HTTP session for this test (the process's one is cached), thrown away afterwards."""
    monkeypatch.setattr(transport, "_session", None)


@pytest.fixture
def trust_test_ca(monkeypatch, tls_files, fresh_session):
    """Trust the test CA on top of the system store: chain and host name are still verified."""
    production_context = transport.tls_context

    def context_with_test_ca() -> ssl.SSLContext:
        context = production_context()
        context.load_verify_locations(cadata=tls_files.ca_pem)
        return context

    monkeypatch.setattr(transport, "tls_context", context_with_test_ca)


@pytest.fixture
def https_endpoint(tls_files):
    with LoopbackEndpoint(generate_secret(), tls=tls_files) as server:
        yield server


def test_the_production_context_verifies_certificates_and_refuses_old_tls():
    context = transport.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_send_test_over_https_reports_tls_and_the_acknowledgement(world, https_endpoint, trust_test_ca):
    webhook = make_webhook(world.loja, endpoint=https_endpoint)
    assert webhook.url.startswith("https://127.0.0.1:")

    verdict = send_test(webhook)

    assert verdict.reachable and verdict.ack_matched and verdict.http_status == 200, verdict.error
    assert verdict.tls in ("TLSv1.2", "TLSv1.3")
    assert https_endpoint.received_ids() == [verdict.delivery.notification_id]


def test_send_test_to_an_untrusted_certificate_is_a_tls_error(world, https_endpoint, fresh_session):
    webhook = make_webhook(world.loja, endpoint=https_endpoint)

    verdict = send_test(webhook)

    assert verdict.reachable and not verdict.ack_matched and verdict.http_status is None
    assert verdict.error.startswith("TLS error") and "certificate" in verdict.error.lower()
    assert https_endpoint.received == []  # nothing was sent over an unverified connection


def test_a_certificate_for_another_host_name_is_refused(world, tmp_path, trust_test_ca, monkeypatch):
    other = make_tls_files(tmp_path / "other", hosts=("merchant.example",))
    # Trust this other CA too: only the host name is wrong now.
    context_with_first_ca = transport.tls_context

    def both() -> ssl.SSLContext:
        context = context_with_first_ca()
        context.load_verify_locations(cadata=other.ca_pem)
        return context

    monkeypatch.setattr(transport, "tls_context", both)
    with LoopbackEndpoint(generate_secret(), tls=other) as server:
        verdict = send_test(make_webhook(world.loja, endpoint=server))
    assert not verdict.ack_matched and verdict.error.startswith("TLS error")
    assert "127.0.0.1" in verdict.error or "hostname" in verdict.error.lower() or "match" in verdict.error.lower()
    assert server.received == []


def test_an_endpoint_that_only_speaks_tls_1_1_is_refused(world, tls_files, trust_test_ca):
    # The client's floor is TLS 1.2 (checked above); the system OpenSSL may refuse 1.1 on its own
    # too. Either way, nothing may be sent to such an endpoint.
    try:
        server = LoopbackEndpoint(generate_secret(), tls=tls_files, tls_max_version=ssl.TLSVersion.TLSv1_1)
    except ssl.SSLError as error:  # pragma: no cover - an OpenSSL built without TLS 1.1 at all
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {error}")
    with server:
        verdict = send_test(make_webhook(world.loja, endpoint=server))
    assert not verdict.ack_matched and verdict.error.startswith("TLS error")
    assert server.received == []


def test_a_delivery_over_https_is_acknowledged(world, https_endpoint, trust_test_ca):
    from tests.webhooks.test_outbound_engine import _pending

    delivery = _pending(make_webhook(world.loja, endpoint=https_endpoint))

    result = engine.pump(ids=[delivery.pk], time_budget=10)

    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert result.delivered == 1 and delivery.state == DeliveryState.DELIVERED
    assert https_endpoint.received_ids() == [delivery.notification_id]
