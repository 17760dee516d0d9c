"""Notifications: the SIBS payload (and its quirks), encrypted delivery, acknowledgement, retries."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from payments.sibs import IV_HEADER, TAG_HEADER, parse_notification
from sandbox import notifications as outbox
from sandbox.models import SandboxDeliveryAttempt, SandboxNotification
from sandbox.notifications import MAX_RETRIES, notification_deliver, notifications_send_due, retry_delay
from sandbox.services import sandbox_configure
from tests.sandbox.conftest import CLIENT_ID, OTHER_TERMINAL, TERMINAL, TOKEN


def mbway(api, amount: str = "16.20", phone: str = "351#912345678") -> str:
    tx = api.checkout(amount=amount, methods=["MBWAY"]).data["transactionID"]
    api.execute(tx, "mbway-id/purchase", {"customerPhone": phone})
    return tx


def set_style(style: str) -> None:
    from sandbox.models import SandboxMerchant

    SandboxMerchant.objects.filter(client_id=CLIENT_ID).update(notification_style=style)


# --- payload --------------------------------------------------------------------------------------------


def test_plain_style(api):
    mbway(api)

    payload = SandboxNotification.objects.get().payload

    assert '"amount":{"currency":"EUR","value":16.20}' in payload
    data = json.loads(payload)
    assert list(data) == [
        "returnStatus",
        "paymentStatus",
        "paymentMethod",
        "transactionID",
        "transactionDateTime",
        "amount",
        "merchant",
        "paymentType",
        "token",
        "internalTransactionId",
        "notificationID",
    ]
    assert data["merchant"] == {
        "transactionId": data["merchant"]["transactionId"],
        "terminalId": TERMINAL,
        "merchantName": "Loja Sandbox",
        "inApp": False,
    }
    assert data["transactionDateTime"].endswith("Z") and len(data["transactionDateTime"]) == 24


def test_doc_pt_style_has_the_string_quirks_and_the_trailing_space(api):
    set_style("doc-pt")
    mbway(api)

    data = json.loads(SandboxNotification.objects.get().payload)

    assert data["amount"] == {"currency": "EUR", "value": "16.20"}
    assert data["merchant"]["terminalId"] == str(TERMINAL)
    assert data["merchant"]["inApp"] == "false"
    assert data["transactionDateTime"].endswith("Z ")
    notification = parse_notification(json.dumps(data))
    assert notification.amount == Decimal("16.20") and notification.terminal_id == TERMINAL


def test_qly_style_writes_shortest_numbers(api):
    set_style("qly")
    mbway(api, amount="15.90")
    mbway(api, amount="20.00")

    payloads = [row.payload for row in SandboxNotification.objects.order_by("pk")]

    assert '"value":15.9}' in payloads[0]
    assert '"value":20}' in payloads[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", json.loads(payloads[0])["transactionDateTime"])


def test_mixed_style_picks_one_per_notification(api):
    set_style("mixed")
    for _ in range(12):
        mbway(api)

    styles = set(SandboxNotification.objects.values_list("style", flat=True))

    assert styles <= {"plain", "qly", "doc-pt"} and len(styles) >= 2
    for row in SandboxNotification.objects.all():
        assert parse_notification(row.payload).amount == Decimal("16.20")


def test_doc_pt_paid_reference_has_no_payment_reference_like_the_seed(api):
    set_style("doc-pt")
    tx = api.checkout(amount="20.11", methods=["REFERENCE"]).data["transactionID"]
    api.execute(tx, "service-reference/generate")

    generated = json.loads(SandboxNotification.objects.get(event="reference.generated").payload)
    paid = json.loads(SandboxNotification.objects.get(event="reference.paid").payload)

    assert generated["paymentReference"]["expiryDate"].endswith("Z ")
    assert generated["paymentReference"]["amount"] == {"value": "20.11", "currency": "EUR"}
    assert "paymentReference" not in paid
    assert paid["paymentType"] == "PREF" and paid["paymentStatus"] == "Success"


def test_without_a_url_notifications_are_stored_but_not_scheduled(api):
    mbway(api)

    row = SandboxNotification.objects.get()

    assert row.next_attempt_at is None
    assert "no notification URL" in row.last_error
    assert notifications_send_due() == {}


# --- delivery ---------------------------------------------------------------------------------------------


def test_delivered_encrypted_and_acknowledged(api, wired, receiver):
    tx = mbway(api)

    result = notifications_send_due()

    assert result == {"acknowledged": 1}
    [request] = receiver.requests
    assert request["headers"]["Content-Type"] == "text/plain"
    assert request["headers"][IV_HEADER] and request["headers"][TAG_HEADER]
    [payload] = receiver.received
    assert payload["transactionID"] == tx
    row = SandboxNotification.objects.get()
    assert json.loads(row.payload, parse_float=Decimal) == payload  # what was stored is what was received
    assert row.acknowledged_at is not None and row.next_attempt_at is None and row.attempts == 1
    attempt = SandboxDeliveryAttempt.objects.get()
    assert attempt.acknowledged and attempt.http_status == 200 and attempt.reason == "acknowledged"
    # Nothing is sent twice.
    assert notifications_send_due() == {}


@pytest.mark.parametrize(("mode", "reason"), [("500", "HTTP status 500"), ("wrong-id", "does not echo")])
def test_not_acknowledged_is_retried_on_the_compressed_sibs_schedule(api, wired, receiver, mode, reason):
    receiver.mode = mode
    mbway(api)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert notifications_send_due() == {"retry": 1}
    row = SandboxNotification.objects.get()
    assert row.attempts == 1 and reason in row.last_error
    assert row.next_attempt_at == start + timedelta(seconds=5)  # SIBS tier 0: 5 minutes -> 5 seconds

    with time_machine.travel(start + timedelta(seconds=4), tick=False):
        assert notifications_send_due() == {}  # not due yet
    receiver.mode = "ack"
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        assert notifications_send_due() == {"acknowledged": 1}

    row.refresh_from_db()
    assert row.acknowledged_at is not None and row.attempts == 2
    assert [a.acknowledged for a in row.delivery_attempts.order_by("number")] == [False, True]
    # Same notificationID both times: the receiver can de-duplicate.
    assert len({p["notificationID"] for p in receiver.received}) == 1


def test_an_unreachable_receiver_is_retried(api, loja):
    sandbox_configure(
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        terminal_ids=[TERMINAL, OTHER_TERMINAL],
        notification_url="http://127.0.0.1:9/nothing-listens-here",
        notification_secret="MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
        merchant_name="Loja Sandbox",
    )
    mbway(api)

    assert notifications_send_due() == {"retry": 1}
    assert "ConnectionError" in SandboxNotification.objects.get().last_error


def test_ack_expectation_can_require_one_status_code(api, wired, receiver):
    wired.ack_expectation = "200"
    wired.save()
    receiver.mode = "000"
    mbway(api)

    assert notifications_send_due() == {"retry": 1}
    assert '"000"' in SandboxNotification.objects.get().last_error

    wired.ack_expectation = "any"
    wired.save()
    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        assert notifications_send_due() == {"acknowledged": 1}


def test_retry_schedule_is_sibs_tiers_compressed():
    minutes = [retry_delay(n, unit_seconds=60).total_seconds() / 60 for n in range(MAX_RETRIES)]

    assert MAX_RETRIES == 44
    assert minutes[:5] == [5] * 5
    assert minutes[5:9] == [60] * 4
    assert minutes[9:14] == [120] * 5
    assert minutes[14:20] == [240] * 6
    assert minutes[20:27] == [360] * 7
    assert minutes[27:35] == [720] * 8
    assert minutes[35:44] == [1440] * 9
    assert retry_delay(44, unit_seconds=60) is None
    assert retry_delay(0, unit_seconds=1) == timedelta(seconds=5)


def test_given_up_after_the_last_retry(api, wired, receiver):
    receiver.mode = "500"
    mbway(api)
    row = SandboxNotification.objects.get()
    SandboxNotification.objects.filter(pk=row.pk).update(attempts=MAX_RETRIES)

    assert notification_deliver(row.pk) == "given up"

    row.refresh_from_db()
    assert row.given_up_at is not None and row.next_attempt_at is None
    outbox.notification_resend(row)
    receiver.mode = "ack"
    assert notification_deliver(row.pk) == "acknowledged"


def test_a_notification_is_sent_once_even_when_two_senders_reach_for_it(api, wired, receiver):
    mbway(api)
    row = SandboxNotification.objects.get()

    first = notification_deliver(row.pk)
    second = notification_deliver(row.pk)

    assert (first, second) == ("acknowledged", "skipped")
    assert len(receiver.requests) == 1


def test_delivery_is_queued_after_commit(api, wired, django_capture_on_commit_callbacks):
    with (
        mock.patch("sandbox.tasks.deliver_notification.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        mbway(api)

    delay.assert_called_once_with(SandboxNotification.objects.get().pk)


def test_a_broker_failure_never_breaks_the_request(api, wired, django_capture_on_commit_callbacks):
    with (
        mock.patch("sandbox.tasks.deliver_notification.delay", side_effect=OSError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        tx = api.checkout(methods=["MBWAY"]).data["transactionID"]
        response = api.execute(tx, "mbway-id/purchase", {"customerPhone": "351#912345678"})

    assert response.status_code == 200
    # The tick will still send it.
    assert SandboxNotification.objects.get().next_attempt_at is not None


def test_nothing_is_queued_when_the_change_rolls_back(wired, django_capture_on_commit_callbacks):
    from sandbox.models import SandboxPayment

    with (
        mock.patch("sandbox.tasks.deliver_notification.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        payment = SandboxPayment.objects.create(
            merchant=wired,
            transaction_id="s2xxxxxxxxxxxxxxxxxx",
            terminal_id=TERMINAL,
            payment_type="PURS",
            payment_method="CARD",
            amount=Decimal("1.00"),
            created_at=timezone.now(),
        )
        outbox.notification_enqueue(payment=payment, event="card", now=timezone.now())
        raise RuntimeError("rollback")

    assert callbacks == []
    delay.assert_not_called()
    assert not SandboxNotification.objects.exists()
