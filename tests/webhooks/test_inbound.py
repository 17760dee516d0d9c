"""The inbound URL: what is acknowledged, what is refused, and what is kept of each."""

from __future__ import annotations

import base64
import json
from unittest import mock

import pytest
from django.test import override_settings

from payments.models import Transaction
from payments.sibs.envelope import encrypt, generate_secret
from tests.webhooks.support import (
    add_secret,
    again,
    endpoint,
    inbound_path,
    notification,
    post_encrypted,
    processing,
)
from webhooks.inbound import services
from webhooks.models import InboundNotification, InboundState, RejectedNotification, WebhookSecret


@pytest.fixture
def loja(world):
    world.secret = add_secret(world.loja)
    world.path = inbound_path(world.loja)
    return world


def error_of(response) -> dict:
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "fields"}
    return body["error"]


# --- accepted -------------------------------------------------------------------------------------


def test_a_notification_is_stored_before_the_acknowledgement(loja, client):
    # given: processing is never enqueued (no commit callbacks run in this test)
    payload = notification()
    # when
    response = post_encrypted(client, loja.path, loja.secret, payload)
    # then: acknowledged, and stored with everything needed to process it later
    assert response.status_code == 200
    inbound = InboundNotification.objects.get()
    assert inbound.notification_id == payload["notificationID"]
    assert inbound.transaction_ref == payload["transactionID"]
    assert inbound.state == InboundState.RECEIVED
    assert json.loads(inbound.plaintext) == payload
    assert inbound.headers["X-Initialization-Vector"] and inbound.headers["X-Authentication-Tag"]
    assert inbound.headers["Content-Type"] == "text/plain"
    assert inbound.headers["Remote-Addr"] == "127.0.0.1"
    base64.b64decode(inbound.body, validate=True)  # the ciphertext as received
    assert inbound.secret.merchant == loja.loja
    assert not Transaction.objects.exists()


def test_the_plaintext_is_encrypted_at_rest(loja, client):
    from django.db import connection

    post_encrypted(client, loja.path, loja.secret, notification())
    with connection.cursor() as cursor:
        cursor.execute("SELECT plaintext FROM webhooks_inboundnotification")
        [(stored,)] = cursor.fetchall()
    assert "351#912345678" not in stored and "transactionID" not in stored


def test_processing_happens_after_commit(loja, client, django_capture_on_commit_callbacks):
    payload = notification()
    with processing(django_capture_on_commit_callbacks) as callbacks:
        post_encrypted(client, loja.path, loja.secret, payload)
    assert len(callbacks) == 1
    assert InboundNotification.objects.get().state == InboundState.PROCESSED
    assert Transaction.objects.get().transaction_id == payload["transactionID"]


def test_the_acknowledgement_status_code_is_configurable(loja, client):
    inbound = endpoint(loja.loja)
    inbound.ack_status_code = "000"
    inbound.save()
    services.keyring.invalidate()
    payload = notification()
    response = post_encrypted(client, loja.path, loja.secret, payload)
    assert json.loads(response.content) == {
        "statusCode": "000",
        "statusMsg": "Success",
        "notificationID": payload["notificationID"],
    }


def test_the_address_without_trailing_slash_works_too(loja, client):
    assert post_encrypted(client, loja.path.rstrip("/"), loja.secret, notification()).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream", ""])
def test_any_content_type_is_accepted(loja, client, content_type):
    payload = notification()
    envelope = encrypt(json.dumps(payload), secret=loja.secret)
    response = client.generic(
        "POST",
        loja.path,
        envelope.body.encode(),
        content_type=content_type,
        HTTP_X_INITIALIZATION_VECTOR=envelope.iv,
        HTTP_X_AUTHENTICATION_TAG=envelope.tag,
    )
    assert response.status_code == 200


def test_unknown_fields_are_kept_and_never_fatal(loja, client, django_capture_on_commit_callbacks):
    payload = notification(
        futureField={"nested": [1, 2, {"x": "y"}]},
        threeDSecure={"eci": "05"},
        merchant={"terminalId": "11111", "transactionId": "abc", "newMerchantThing": True},
    )
    with processing(django_capture_on_commit_callbacks):
        assert post_encrypted(client, loja.path, loja.secret, payload).status_code == 200
    txn = Transaction.objects.get()
    assert txn.last_payload["futureField"] == {"nested": [1, 2, {"x": "y"}]}
    assert txn.last_payload["merchant"]["newMerchantThing"] is True
    assert txn.events.get().payload["threeDSecure"] == {"eci": "05"}


# --- duplicates -------------------------------------------------------------------------------------


def test_a_duplicate_is_acknowledged_again_and_changes_nothing(loja, client, django_capture_on_commit_callbacks):
    payload = notification()
    with processing(django_capture_on_commit_callbacks):
        first = post_encrypted(client, loja.path, loja.secret, payload)
    txn_before = Transaction.objects.values().get()
    inbound_before = InboundNotification.objects.values().get()
    # when: SIBS re-sends the very same notification (new IV, same notificationID)
    with processing(django_capture_on_commit_callbacks) as callbacks:
        second = post_encrypted(client, loja.path, loja.secret, payload)
    # then
    assert second.status_code == 200 and second.content == first.content
    assert callbacks == []  # nothing enqueued
    assert InboundNotification.objects.values().get() == inbound_before
    assert Transaction.objects.values().get() == txn_before
    assert Transaction.objects.get().events.count() == 1


def test_a_duplicate_with_altered_content_is_still_a_duplicate(loja, client):
    payload = notification()
    post_encrypted(client, loja.path, loja.secret, payload)
    post_encrypted(client, loja.path, loja.secret, {**payload, "paymentStatus": "Declined"})
    assert InboundNotification.objects.count() == 1
    assert json.loads(InboundNotification.objects.get().plaintext)["paymentStatus"] == "Success"


def test_notification_ids_are_unique_per_merchant_not_globally(loja, client):
    """Another tenant cannot pre-empt a notification by posting its id to their own URL."""
    outra_secret = add_secret(loja.outra)
    payload = notification()
    assert post_encrypted(client, inbound_path(loja.outra), outra_secret, payload).status_code == 200
    assert post_encrypted(client, loja.path, loja.secret, payload).status_code == 200
    assert InboundNotification.objects.filter(notification_id=payload["notificationID"]).count() == 2


# --- refused --------------------------------------------------------------------------------------


def test_wrong_key_is_refused_and_logged(loja, client):
    response = post_encrypted(client, loja.path, generate_secret(), notification())
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "authentication_failed" and error["code"] == "authentication_failed"
    assert not InboundNotification.objects.exists()
    rejected = RejectedNotification.objects.get()
    assert rejected.merchant == loja.loja and rejected.reason == "authentication_failed"
    assert rejected.http_status == 401 and rejected.remote_addr == "127.0.0.1"
    assert rejected.headers["X-Initialization-Vector"] and rejected.body_excerpt
    assert rejected.plaintext_excerpt is None


def test_another_merchants_secret_does_not_open_this_url(loja, client):
    outra_secret = add_secret(loja.outra)
    assert post_encrypted(client, loja.path, outra_secret, notification()).status_code == 401


def test_a_tampered_tag_is_refused(loja, client):
    envelope = encrypt(json.dumps(notification()), secret=loja.secret)
    tag = bytearray(base64.b64decode(envelope.tag))
    tag[0] ^= 1
    response = client.generic(
        "POST",
        loja.path,
        envelope.body.encode(),
        content_type="text/plain",
        HTTP_X_INITIALIZATION_VECTOR=envelope.iv,
        HTTP_X_AUTHENTICATION_TAG=base64.b64encode(bytes(tag)).decode(),
    )
    assert response.status_code == 401
    assert RejectedNotification.objects.get().reason == "authentication_failed"


def test_a_tampered_body_is_refused(loja, client):
    envelope = encrypt(json.dumps(notification()), secret=loja.secret)
    body = bytearray(base64.b64decode(envelope.body))
    body[5] ^= 0x20
    response = client.generic(
        "POST",
        loja.path,
        base64.b64encode(bytes(body)),
        content_type="text/plain",
        HTTP_X_INITIALIZATION_VECTOR=envelope.iv,
        HTTP_X_AUTHENTICATION_TAG=envelope.tag,
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda e: (e.body[:-3], e.iv, e.tag), "bad_base64"),  # truncated Base64
        (lambda e: (e.body.replace("+", "-").replace("/", "_") + "-_", e.iv, e.tag), "bad_base64"),
        (lambda e: ("not base64 at all!", e.iv, e.tag), "bad_base64"),
        (lambda e: (e.body, None, e.tag), "missing_header"),
        (lambda e: (e.body, e.iv, None), "missing_header"),
        (lambda e: ("", e.iv, e.tag), "empty_body"),
        (lambda e: (e.body, "AAAA", e.tag), "bad_iv"),
        (lambda e: (e.body, e.iv, e.tag[:8]), "bad_tag"),
    ],
)
def test_a_malformed_envelope_gets_a_clear_400(loja, client, mangle, code):
    envelope = encrypt(json.dumps(notification()), secret=loja.secret)
    body, iv, tag = mangle(envelope)
    headers = {}
    if iv is not None:
        headers["HTTP_X_INITIALIZATION_VECTOR"] = iv
    if tag is not None:
        headers["HTTP_X_AUTHENTICATION_TAG"] = tag
    response = client.generic("POST", loja.path, body.encode(), content_type="text/plain", **headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code and error["message"]
    assert RejectedNotification.objects.get().reason == code
    assert not InboundNotification.objects.exists()


@pytest.mark.parametrize(
    ("plaintext", "code"),
    [
        (b"this is not json", "invalid_json"),
        (b'["an", "array"]', "not_an_object"),
        (b"\xff\xfe not utf-8", "invalid_encoding"),
        (json.dumps({"transactionID": "s2x"}).encode(), "missing_field"),
        (json.dumps({"notificationID": "n-1"}).encode(), "missing_field"),
        (json.dumps({"notificationID": 12345, "transactionID": "t"}).encode(), "invalid_field"),
        (json.dumps({"notificationID": "n-1", "transactionID": "t\u0000x"}).encode(), "invalid_field"),
    ],
)
def test_an_authentic_but_unreadable_plaintext_gets_a_clear_400(loja, client, plaintext, code):
    response = post_encrypted(client, loja.path, loja.secret, plaintext)
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    rejected = RejectedNotification.objects.get()
    assert rejected.reason == code
    # The envelope opened: the start of what SIBS sent is kept (encrypted at rest) to look at.
    assert rejected.plaintext_excerpt is not None
    assert not InboundNotification.objects.exists()


def test_an_authentic_notification_with_an_impossible_field_is_stored_and_marked_failed(
    loja, client, django_capture_on_commit_callbacks
):
    """Refusing it would only make SIBS re-send it, unchanged, for two months."""
    payload = notification(amount={"value": "lots", "currency": "EUR"})
    with processing(django_capture_on_commit_callbacks):
        response = post_encrypted(client, loja.path, loja.secret, payload)
    assert response.status_code == 200
    inbound = InboundNotification.objects.get()
    assert inbound.state == InboundState.FAILED and "amount.value" in inbound.last_error
    assert not Transaction.objects.exists()


def test_no_secret_yet_is_a_503_so_sibs_retries(world, client):
    response = post_encrypted(client, inbound_path(world.loja), generate_secret(), notification())
    assert response.status_code == 503
    assert error_of(response)["code"] == "no_secrets"
    assert RejectedNotification.objects.get().reason == "no_secrets"


@override_settings(INBOUND_MAX_BODY_BYTES=4096)
def test_an_oversized_body_is_refused_from_its_content_length(loja, client):
    response = client.generic("POST", loja.path, b"A" * 5000, content_type="text/plain")
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    rejected = RejectedNotification.objects.get()
    assert rejected.body_size == 5000 and rejected.body_excerpt == ""


@override_settings(INBOUND_MAX_BODY_BYTES=4096)
def test_a_body_longer_than_announced_is_not_read_past_the_limit(loja):
    from django.test import RequestFactory

    from webhooks.inbound.endpoint import sibs_inbound

    # given: a Content-Length under the limit, and a body far above it
    request = RequestFactory().generic("POST", loja.path, b"A" * 100_000, content_type="text/plain")
    request.META["CONTENT_LENGTH"] = "3000"
    # when
    with mock.patch.object(request, "read", wraps=request.read) as read:
        response = sibs_inbound(request, token=endpoint(loja.loja).token)
    # then: one read of limit + 1 bytes, and a 413
    assert response.status_code == 413
    read.assert_called_once_with(4097)


def test_an_unknown_address_is_a_json_404_and_not_logged(loja, client):
    for token in ["unknown-token-0123456789", "x", "../../etc/passwd", "a" * 300]:
        response = post_encrypted(client, f"/hooks/sibs/{token}/", loja.secret, notification())
        assert response.status_code == 404
        assert error_of(response)["type"] == "not_found"
    assert not RejectedNotification.objects.exists()


def test_an_inactive_endpoint_or_merchant_is_a_404(loja, client):
    inbound = endpoint(loja.loja)
    inbound.is_active = False
    inbound.save()
    services.keyring.invalidate()
    assert post_encrypted(client, loja.path, loja.secret, notification()).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post(loja, client, method):
    response = client.generic(method, loja.path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert error_of(response)["code"] == "method_not_allowed"


def test_no_csrf_token_nor_session_is_needed(loja):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post_encrypted(strict, loja.path, loja.secret, notification()).status_code == 200


# --- secrets: several active, rotation, revocation ---------------------------------------------------


def test_every_active_secret_is_tried(loja, client):
    second = add_secret(loja.loja, label="rotation")
    assert post_encrypted(client, loja.path, loja.secret, notification()).status_code == 200
    assert post_encrypted(client, loja.path, second, notification()).status_code == 200
    used = set(InboundNotification.objects.values_list("secret__label", flat=True))
    assert used == {"test", "rotation"}


def test_a_revoked_secret_no_longer_opens_notifications(loja, client):
    from backoffice.access import Access
    from backoffice.audit import SYSTEM
    from backoffice.roles import Role

    secret = WebhookSecret.objects.get(merchant=loja.loja)
    access = Access(merchant=loja.loja, role=Role.OWNER, user=loja.alice)
    services.secret_revoke(access=access, actor=SYSTEM, secret=secret)
    services.keyring.invalidate()  # what the commit does in production
    assert post_encrypted(client, loja.path, loja.secret, notification()).status_code == 503


def test_a_secret_added_in_another_process_is_found_on_failure(loja, client):
    """Cached keys are reloaded when nothing authenticates (rotation loses nothing)."""
    assert post_encrypted(client, loja.path, loja.secret, notification()).status_code == 200  # cache warm
    new = generate_secret()
    # another process adds it: this process's cache is not invalidated
    services.secret_add(merchant=loja.loja, actor=services.SYSTEM, label="new", canonical=new, origin="entered")
    with mock.patch("webhooks.inbound.keyring.RELOAD_AFTER_FAILURE", 0):
        assert post_encrypted(client, loja.path, new, notification()).status_code == 200


def test_bad_requests_do_not_cost_a_query_each(loja, client, django_assert_max_num_queries):
    post_encrypted(client, loja.path, loja.secret, notification())  # warm the cache
    with override_settings(INBOUND_REJECTED_PER_MINUTE=1):
        post_encrypted(client, loja.path, generate_secret(), notification())  # logged
        with django_assert_max_num_queries(0):
            for _ in range(5):
                assert post_encrypted(client, loja.path, generate_secret(), notification()).status_code == 401


def test_a_valid_notification_costs_one_insert(loja, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_encrypted(client, loja.path, loja.secret, notification())  # warm the cache
    with CaptureQueriesContext(connection) as queries:
        assert post_encrypted(client, loja.path, loja.secret, notification()).status_code == 200
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # (on PostgreSQL the INSERT is a prepared statement, which Django's capture does not see)
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] in (["INSERT"], [])
    assert InboundNotification.objects.count() == 2


# --- the rejected log is bounded ----------------------------------------------------------------------


@override_settings(INBOUND_REJECTED_PER_MINUTE=3)
def test_the_rejected_log_is_rate_limited_and_counts_the_rest(loja, client):
    for _ in range(10):
        assert post_encrypted(client, loja.path, generate_secret(), notification()).status_code == 401
    assert RejectedNotification.objects.count() == 3
    assert services.rejected_suppressed_count(loja.loja.pk) == 7
    # next minute: the next stored row says how many were not kept before it
    with mock.patch("webhooks.inbound.services.time.time", return_value=__import__("time").time() + 61):
        post_encrypted(client, loja.path, generate_secret(), notification())
    latest = RejectedNotification.objects.order_by("-id").first()
    assert latest.suppressed_before == 7
    assert services.rejected_suppressed_count(loja.loja.pk) == 0


def test_the_body_excerpt_is_capped(loja, client):
    envelope = encrypt(json.dumps(notification(padding="x" * 20_000)), secret=loja.secret)
    client.generic(
        "POST",
        loja.path,
        envelope.body.encode(),
        content_type="text/plain",
        HTTP_X_INITIALIZATION_VECTOR=envelope.iv,
        HTTP_X_AUTHENTICATION_TAG=envelope.tag[:-4] + "AAA=",
    )
    rejected = RejectedNotification.objects.get()
    assert len(rejected.body_excerpt) == services.BODY_EXCERPT_CHARS
    assert rejected.body_size == len(envelope.body)


def test_pruning_keeps_the_newest_rows_per_merchant(loja, client):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for i in range(15):
        RejectedNotification.objects.create(
            merchant=loja.loja, reason="r", http_status=400, received_at=now - timedelta(minutes=i)
        )
    RejectedNotification.objects.create(merchant=loja.outra, reason="r", http_status=400)
    assert services.rejected_prune(keep=10) == 5
    kept = RejectedNotification.objects.filter(merchant=loja.loja)
    assert kept.count() == 10
    assert min(kept.values_list("received_at", flat=True)) == now - timedelta(minutes=9)
    assert RejectedNotification.objects.filter(merchant=loja.outra).count() == 1


# --- terminals are resolved within the merchant whose URL was used ------------------------------------


def test_a_terminal_of_another_merchant_is_not_used(loja, client, django_capture_on_commit_callbacks):
    payload = notification(merchant={"terminalId": 33333, "transactionId": "x"})  # Outra Loja's terminal
    with processing(django_capture_on_commit_callbacks):
        assert post_encrypted(client, loja.path, loja.secret, payload).status_code == 200
    txn = Transaction.objects.get()
    assert txn.merchant == loja.loja
    assert txn.terminal is None and txn.store is None
    assert txn.terminal_unresolved and "terminal_unknown" in txn.warnings
    assert txn.terminal_number == 33333


def test_a_known_terminal_gives_terminal_and_store(loja, client, django_capture_on_commit_callbacks):
    with processing(django_capture_on_commit_callbacks):
        post_encrypted(client, loja.path, loja.secret, notification(merchant={"terminalId": "22222"}))
    txn = Transaction.objects.get()
    assert txn.terminal == loja.t_porto and txn.store == loja.porto and not txn.terminal_unresolved


def test_a_later_notification_is_still_processed_in_order(loja, client, django_capture_on_commit_callbacks):
    first = notification(paymentStatus="Pending")
    with processing(django_capture_on_commit_callbacks):
        post_encrypted(client, loja.path, loja.secret, first)
        post_encrypted(client, loja.path, loja.secret, again(first, paymentStatus="Success"))
    txn = Transaction.objects.get()
    assert txn.payment_status == "Success" and txn.state == "paid"
    assert list(txn.events.values_list("payment_status", flat=True)) == ["Pending", "Success"]
