"""Inbound bodies however they are framed: an absurd Content-Length, chunked, or neither."""

from __future__ import annotations

import json

import pytest

from tests.webhooks.support import add_secret, inbound_path, notification
from tests.webhooks.test_fast_path import call, encrypted  # noqa: F401  (fixture)
from webhooks.inbound.wsgi import with_inbound_fast_path
from webhooks.models import InboundNotification, RejectedNotification

pytestmark = pytest.mark.django_db


def _django_app(environ, start_response):
    raise AssertionError("the fast path answers inbound notifications itself")


def test_an_absurd_content_length_is_a_413_and_logged(world, call):  # noqa: F811
    add_secret(world.loja)
    status, _headers, content = call(
        with_inbound_fast_path(_django_app),
        inbound_path(world.loja),
        body=b"",
        headers={"CONTENT_LENGTH": "1000000000000"},
    )
    assert status.startswith("413"), content
    assert json.loads(content)["error"]["code"] == "too_large"
    rejected = RejectedNotification.objects.get()
    assert rejected.reason == "too_large" and "1000000000000" in rejected.message
    assert rejected.body_size == 2**31 - 1


@pytest.mark.parametrize("length", ["-5", "12abc", "1e3"])
def test_a_content_length_that_is_not_a_number_is_a_400(world, call, length):  # noqa: F811
    add_secret(world.loja)
    status, _headers, content = call(
        with_inbound_fast_path(_django_app), inbound_path(world.loja), body=b"x", headers={"CONTENT_LENGTH": length}
    )
    assert status.startswith("400"), content
    assert json.loads(content)["error"]["code"] == "invalid_length"


def test_a_chunked_body_is_read_and_acknowledged(world, call):  # noqa: F811
    # given a notification sent chunked: the server de-chunks it and passes no Content-Length
    secret = add_secret(world.loja)
    payload = notification()
    body, headers = encrypted(secret, payload)
    environ = {**headers, "CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    status, _headers, content = call(
        with_inbound_fast_path(_django_app), inbound_path(world.loja), body=body, headers=environ
    )
    # then it is read, stored and acknowledged, not refused as empty
    assert status == "200 OK", content
    assert json.loads(content)["notificationID"] == payload["notificationID"]
    assert InboundNotification.objects.get().notification_id == payload["notificationID"]


def test_a_chunked_body_above_the_limit_is_a_413(world, call, settings):  # noqa: F811
    settings.INBOUND_MAX_BODY_BYTES = 4096
    add_secret(world.loja)
    headers = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    status, _headers, _content = call(
        with_inbound_fast_path(_django_app), inbound_path(world.loja), body=b"A" * 10_000, headers=headers
    )
    assert status.startswith("413")
    assert RejectedNotification.objects.get().body_size == 4097


def test_a_body_without_length_nor_chunking_is_a_411(world, call):  # noqa: F811
    add_secret(world.loja)
    headers = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "gzip"}
    status, _headers, content = call(
        with_inbound_fast_path(_django_app), inbound_path(world.loja), body=b"abc", headers=headers
    )
    assert status.startswith("411"), content
    assert json.loads(content)["error"]["code"] == "length_required"
