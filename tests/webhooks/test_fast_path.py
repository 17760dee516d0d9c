"""The WSGI front (webhooks.wsgi, wrapped around backoffice.wsgi) answers inbound notifications exactly like the view
behind the middleware, and leaves every other request to Django."""

from __future__ import annotations

import io
import json
import sys
from unittest import mock

import pytest
from django.core import signals
from django.db import close_old_connections

from payments.sibs.envelope import encrypt
from tests.webhooks.support import add_secret, inbound_path, notification
from webhooks.inbound.wsgi import with_inbound_fast_path
from webhooks.models import InboundNotification


@pytest.fixture
def call(db):
    """Call a WSGI app the way gunicorn does (without closing the test's connection)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def _call(app, path, *, method="POST", body=b"", headers=None):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "text/plain",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            **(headers or {}),
        }
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"], started["headers"] = status, dict(response_headers)

        response = app(environ, start_response)
        content = b"".join(response)
        response.close()
        return started["status"], started["headers"], content

    yield _call
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def encrypted(secret, payload):
    envelope = encrypt(json.dumps(payload), secret=secret)
    return envelope.body.encode(), {
        "HTTP_X_INITIALIZATION_VECTOR": envelope.iv,
        "HTTP_X_AUTHENTICATION_TAG": envelope.tag,
    }


def test_a_notification_is_handled_without_the_middleware(world, call):
    secret = add_secret(world.loja)
    django_app = mock.Mock(side_effect=AssertionError("not for Django"))
    payload = notification()
    body, headers = encrypted(secret, payload)
    status, response_headers, content = call(
        with_inbound_fast_path(django_app), inbound_path(world.loja), body=body, headers=headers
    )
    assert status == "200 OK" and response_headers["Content-Type"] == "application/json"
    assert json.loads(content) == {
        "statusCode": "200",
        "statusMsg": "Success",
        "notificationID": payload["notificationID"],
    }
    assert InboundNotification.objects.get().notification_id == payload["notificationID"]


def test_refusals_are_the_same_as_behind_the_middleware(world, call):
    add_secret(world.loja)
    fast = with_inbound_fast_path(mock.Mock())
    status, _headers, content = call(fast, inbound_path(world.loja), body=b"not base64!")
    assert status.startswith("400") and json.loads(content)["error"]["code"] == "missing_header"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/m/loja/payment-methods/", "GET"),
        ("/hooks/sibs/", "POST"),
        ("/hooks/sibs/a/b/", "POST"),
        ("/hooks/sibs/x/", "GET"),
    ],
)
def test_everything_else_goes_to_django(world, call, path, method):
    class Body(list):
        def close(self):
            pass

    def django_app(environ, start_response):
        start_response("200 OK", [])
        return Body([b"django"])

    _status, _headers, content = call(with_inbound_fast_path(django_app), path, method=method)
    assert content == b"django"


def test_an_unexpected_error_is_a_json_500(world, call):
    add_secret(world.loja)
    fast = with_inbound_fast_path(mock.Mock())
    with mock.patch("webhooks.inbound.endpoint.keyring.lookup", side_effect=RuntimeError("boom")):
        status, _headers, content = call(fast, inbound_path(world.loja), body=b"x")
    assert status.startswith("500") and json.loads(content)["error"]["type"] == "server_error"
