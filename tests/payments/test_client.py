"""The SIBS REST client against a local server: headers, paths, errors, timeouts, no retries."""

from __future__ import annotations

import pytest

from payments.sibs.client import (
    SibsClient,
    SibsHttpError,
    SibsInvalidResponseError,
    SibsTransportError,
)
from tests.payments.fake_sibs import FakeSibs, status_body


@pytest.fixture
def sibs():
    with FakeSibs() as fake:
        yield fake


def client(root: str, **kwargs) -> SibsClient:
    return SibsClient(api_root=root, client_id="client-uuid", bearer_token="tok.en.value", **kwargs)


def test_status_sends_the_credential_and_parses_the_answer(sibs):
    sibs.answer("/api/v2/payments/s2abc/status", 200, status_body("s2abc", "Pending"))
    status, response = client(sibs.root).status("s2abc")
    [request] = sibs.requests
    assert request["method"] == "GET"
    assert request["headers"]["Authorization"] == "Bearer tok.en.value"
    assert request["headers"]["X-IBM-Client-Id"] == "client-uuid"
    assert request["headers"]["Accept"] == "application/json"
    assert status.payment_status == "Pending" and status.transaction_id == "s2abc"
    assert str(status.amount) == "16.20"
    assert response.http_status == 200 and response.data["paymentStatus"] == "Pending"


def test_the_root_may_end_with_a_slash_and_ids_are_quoted(sibs):
    sibs.answer("*", 200, status_body("x"))
    client(sibs.root + "/").status("a/b?c=d#e")
    assert sibs.requests[0]["path"] == "/api/v2/payments/a%2Fb%3Fc%3Dd%23e/status"


@pytest.mark.parametrize("status", [400, 401, 404, 408, 500, 503])
def test_http_errors_are_raised_with_the_body(sibs, status):
    sibs.answer("*", status, {"returnStatus": {"statusCode": "E0101", "statusMsg": "Error"}})
    with pytest.raises(SibsHttpError) as caught:
        client(sibs.root).status("s2abc")
    assert caught.value.http_status == status
    assert caught.value.response.data["returnStatus"]["statusCode"] == "E0101"
    assert len(sibs.requests) == 1  # never retried


def test_a_non_json_answer_is_invalid(sibs):
    sibs.answer("*", 200, b"<html>maintenance</html>")
    with pytest.raises(SibsInvalidResponseError):
        client(sibs.root).status("s2abc")


def test_an_answer_with_impossible_fields_is_invalid(sibs):
    sibs.answer("*", 200, status_body("s2abc", amount={"value": "lots", "currency": "EUR"}))
    with pytest.raises(SibsInvalidResponseError, match="amount"):
        client(sibs.root).status("s2abc")


def test_a_slow_answer_times_out_without_retry(sibs):
    sibs.answer("*", 200, status_body("s2abc"), delay=1.0)
    with pytest.raises(SibsTransportError, match="in time"):
        client(sibs.root, read_timeout=0.2).status("s2abc")
    assert len(sibs.requests) == 1


def test_nobody_listening_is_a_transport_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SibsTransportError, match="could not be reached"):
        client(f"http://127.0.0.1:{port}/api/v2").status("s2abc")


def test_defaults_are_5s_connect_and_30s_read():
    assert client("https://example.invalid/api/v2").timeout == (5.0, 30.0)


def test_redirects_are_not_followed(sibs):
    sibs.answer("*", 302, {})
    with pytest.raises(SibsHttpError):
        client(sibs.root).status("s2abc")


def test_error_messages_do_not_echo_the_token(sibs):
    sibs.answer("*", 500, {})
    with pytest.raises(SibsHttpError) as caught:
        client(sibs.root).status("s2abc")
    assert "tok.en.value" not in str(caught.value)
    assert "tok.en.value" not in repr(client(sibs.root))
