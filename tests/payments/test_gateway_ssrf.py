"""A gateway credential's custom API root goes through the same outbound guard as webhooks, at
save and at every connection, and every network failure reads the same."""

from __future__ import annotations

import socket
import threading
from unittest import mock

import pytest

from payments.models import GatewayCredential
from payments.sibs.client import NETWORK_FAILURE, SibsClient, SibsTransportError
from tests.payments.test_credentials_ui import ADD, form

pytestmark = pytest.mark.django_db

REFUSED = "must be a public host name"


def _resolving_to(address: str):
    def fake(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return mock.patch("socket.getaddrinfo", side_effect=fake)


@pytest.fixture
def guarded(settings):
    settings.PRODUCTION = True
    settings.GATEWAY_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize(
    "root",
    [
        "https://localhost:6379/api/v2",
        "https://0x7f000001/",
        "https://127.1/",
        "https://2130706433/",
        "https://[::ffff:127.0.0.1]/api/v2",
        "https://169.254.169.254/api/v2",
        "https://10.0.0.5/api/v2",
    ],
)
def test_loopback_private_and_numeric_spellings_are_refused_at_save(world, login, guarded, root):
    response = login(world.alice).post(ADD, form(api_root_preset="custom", custom_api_root=root))
    assert response.status_code == 400 and REFUSED in response.content.decode()
    assert not GatewayCredential.objects.exists()


def test_an_internal_name_and_an_unknown_name_get_the_same_answer(world, login, guarded):
    owner = login(world.alice)
    with _resolving_to("10.1.2.3"):
        internal = owner.post(ADD, form(api_root_preset="custom", custom_api_root="https://vault.internal/api/v2"))
    with mock.patch("socket.getaddrinfo", side_effect=socket.gaierror("no such name")):
        unknown = owner.post(ADD, form(api_root_preset="custom", custom_api_root="https://nope.invalid/api/v2"))
    with _resolving_to("93.184.216.34"):
        other_port = owner.post(ADD, form(api_root_preset="custom", custom_api_root="https://sibs.example:8443/x"))
    for response in (internal, unknown, other_port):
        assert response.status_code == 400 and REFUSED in response.content.decode()


def test_a_public_name_is_accepted(world, login, guarded):
    with _resolving_to("93.184.216.34"):
        response = login(world.alice).post(
            ADD, form(api_root_preset="custom", custom_api_root="https://gateway.example.com/api/v2")
        )
    assert response.status_code == 302
    assert GatewayCredential.objects.get().api_root == "https://gateway.example.com/api/v2"


def test_a_name_that_later_resolves_to_loopback_is_refused_at_connection(settings):
    # given a custom root whose name now resolves to 127.0.0.1 (DNS rebinding)
    settings.GATEWAY_ALLOW_PRIVATE_URLS = False
    client = SibsClient(
        api_root="https://rebind.example/api/v2",
        client_id="c",
        bearer_token="t",
        guard_setting="GATEWAY_ALLOW_PRIVATE_URLS",
    )
    opened = mock.patch("urllib3.util.connection.create_connection", side_effect=AssertionError("no connection"))
    with _resolving_to("127.0.0.1"), opened, pytest.raises(SibsTransportError) as caught:
        client.status("s2abc")
    # then nothing was opened, nothing sent, and the words are the usual ones
    assert caught.value.message == NETWORK_FAILURE and caught.value.sent is False


def _server(behaviour: str) -> tuple[int, threading.Event]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    done = threading.Event()

    def serve():
        conn, _ = listener.accept()
        if behaviour == "close":
            conn.close()
        else:  # silent: say nothing until the test ends
            done.wait(5)
            conn.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return port, done


def test_every_network_failure_reads_the_same(settings):
    settings.GATEWAY_ALLOW_PRIVATE_URLS = True
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    messages = []
    for scheme, port, done in (
        ("https", closed, None),  # nothing listening
        ("https", *_server("close")),  # accepts, then hangs up (TLS fails)
        ("http", *_server("silent")),  # accepts, never answers
    ):
        client = SibsClient(
            api_root=f"{scheme}://127.0.0.1:{port}/api/v2",
            client_id="c",
            bearer_token="t",
            read_timeout=0.3,
            guard_setting="GATEWAY_ALLOW_PRIVATE_URLS",
        )
        with pytest.raises(SibsTransportError) as caught:
            client.status("s2abc")
        if done is not None:
            done.set()
        messages.append(caught.value.message)
    assert messages == [NETWORK_FAILURE] * 3
