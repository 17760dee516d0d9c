"""The status sweeper: transactions no notification settled are asked about, and the answer applied."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from payments import services
from payments.models import ApiRootPreset, GatewayCredential, Transaction
from payments.services import inquiry
from payments.tasks import sweep_status
from tests.payments.fake_sibs import FakeSibs, status_body
from tests.webhooks.support import again, deliver, notification

LONG_AGO = timezone.now() - timedelta(minutes=30)


@pytest.fixture
def sibs():
    with FakeSibs() as fake:
        yield fake


def credential(merchant, root: str, *, store=None, terminal=None, name="", number=11111) -> GatewayCredential:
    return GatewayCredential.objects.create(
        merchant=merchant,
        store=store,
        terminal=terminal,
        name=name,
        terminal_number=number,
        client_id="client",
        bearer_token=f"token-{name or 'merchant'}",
        api_root_preset=ApiRootPreset.CUSTOM,
        custom_api_root=root,
    )


def pending(world, *, received_at=LONG_AGO, **overrides) -> Transaction:
    payload = notification(paymentStatus="Pending", **overrides)
    deliver(world.loja, payload, received_at=received_at)
    return Transaction.objects.get(transaction_id=payload["transactionID"])


def test_a_transaction_pending_too_long_is_asked_about_and_updated(world, sibs):
    # given
    credential(world.loja, sibs.root)
    txn = pending(world)
    sibs.answer(f"/api/v2/payments/{txn.transaction_id}/status", 200, status_body(txn.transaction_id, "Success"))
    # when
    assert sweep_status.apply().get() == 1
    # then
    txn.refresh_from_db()
    assert (txn.payment_status, txn.state, txn.next_inquiry_at) == ("Success", "paid", None)
    assert txn.inquiry_count == 1 and txn.last_inquiry_at is not None
    event = txn.events.last()
    assert (event.kind, event.outcome, event.http_status) == ("status_inquiry", "applied", 200)
    assert event.payload["paymentStatus"] == "Success"
    assert sibs.requests[0]["headers"]["Authorization"] == "Bearer token-merchant"


def test_young_and_settled_transactions_are_left_alone(world, sibs):
    credential(world.loja, sibs.root)
    pending(world, received_at=timezone.now())
    deliver(world.loja, notification(), received_at=LONG_AGO)
    assert services.status_sweep_claim() == []


def test_a_claim_is_taken_once_and_backs_off(world, sibs, settings):
    settings.STATUS_SWEEP_AGE_MINUTES = 10
    txn = pending(world)
    now = timezone.now()
    assert services.status_sweep_claim(now=now) == [txn.pk]
    assert services.status_sweep_claim(now=now) == []  # a second, overlapping sweep
    txn.refresh_from_db()
    assert txn.next_inquiry_at == now + timedelta(minutes=20)
    assert services.status_sweep_claim(now=now + timedelta(minutes=21)) == [txn.pk]
    txn.refresh_from_db()
    assert txn.next_inquiry_at == now + timedelta(minutes=21 + 40)


def test_the_sweeper_gives_up_eventually(world, settings):
    settings.STATUS_SWEEP_GIVE_UP_HOURS = 1
    txn = pending(world, received_at=timezone.now() - timedelta(hours=2))
    assert services.status_sweep_claim() == []
    txn.refresh_from_db()
    assert txn.next_inquiry_at is None


def test_the_batch_is_bounded(world, settings):
    settings.STATUS_SWEEP_BATCH = 2
    for _ in range(3):
        pending(world)
    assert len(services.status_sweep_claim()) == 2
    assert len(services.status_sweep_claim()) == 1


def test_a_pending_answer_is_a_duplicate_and_keeps_asking(world, sibs):
    credential(world.loja, sibs.root)
    txn = pending(world)
    sibs.answer("*", 200, status_body(txn.transaction_id, "Pending"))
    sweep_status.apply()
    txn.refresh_from_db()
    assert txn.payment_status == "Pending" and txn.next_inquiry_at is not None
    assert txn.events.last().outcome == "duplicate"


def test_a_failed_inquiry_is_on_the_timeline_and_changes_nothing(world, sibs):
    credential(world.loja, sibs.root)
    txn = pending(world)
    sibs.answer("*", 503, {"returnStatus": {"statusCode": "T9999", "statusMsg": "Error"}})
    assert services.transaction_inquire(transaction_pk=txn.pk) == "http_error"
    txn.refresh_from_db()
    assert txn.payment_status == "Pending"
    event = txn.events.last()
    assert (event.kind, event.outcome, event.http_status) == ("status_inquiry", "error", 503)
    assert "503" in event.detail


def test_an_answer_without_status_is_an_error_event(world, sibs):
    credential(world.loja, sibs.root)
    txn = pending(world)
    sibs.answer("*", 200, {"returnStatus": {"statusCode": "E0101", "statusMsg": "Error"}})
    assert services.transaction_inquire(transaction_pk=txn.pk) == "no_status"
    assert "E0101" in txn.events.last().detail


def test_the_answer_follows_the_same_precedence(world, sibs):
    credential(world.loja, sibs.root)
    paid = notification()
    deliver(world.loja, paid)
    txn = Transaction.objects.get(transaction_id=paid["transactionID"])
    sibs.answer("*", 200, status_body(txn.transaction_id, "Pending"))
    assert services.transaction_inquire(transaction_pk=txn.pk) == "ignored"
    txn.refresh_from_db()
    assert txn.payment_status == "Success" and txn.events.last().out_of_order


def test_no_credential_is_recorded_not_raised(world):
    txn = pending(world)
    assert services.transaction_inquire(transaction_pk=txn.pk) == "no_credential"
    assert "no active gateway credential" in txn.events.last().detail


def test_the_most_specific_credential_applies(world, sibs):
    credential(world.loja, sibs.root, name="merchant")
    credential(world.loja, sibs.root, store=world.lisboa, name="store")
    txn = pending(world)  # terminal 11111, in Lisboa
    assert services.credential_for_transaction(txn).name == "store"
    credential(world.loja, sibs.root, terminal=world.t_lisboa, name="terminal")
    assert services.credential_for_transaction(txn).name == "terminal"
    other = pending(world, merchant={"terminalId": 22222})
    assert services.credential_for_transaction(other).name == "merchant"
    # another merchant's credentials never apply
    credential(world.outra, sibs.root, name="outra", number=33333)
    GatewayCredential.objects.filter(merchant=world.loja).update(is_active=False)
    assert services.credential_for_transaction(txn) is None


def test_one_session_per_credential(world, sibs):
    first = credential(world.loja, sibs.root, name="a")
    second = credential(world.loja, sibs.root, store=world.porto, name="b")
    assert services.client_for(first) is services.client_for(first)
    assert services.client_for(first).session is not services.client_for(second).session


def test_no_database_transaction_is_open_during_the_call(world, sibs):
    credential(world.loja, sibs.root)
    txn = pending(world)
    around_the_test = len(connection.atomic_blocks)  # the test's own transaction
    seen = []

    def fake_status(self, transaction_id):
        seen.append(len(connection.atomic_blocks))
        raise inquiry.SibsApiError("stop here")

    with mock.patch("payments.sibs.client.SibsClient.status", fake_status):
        services.transaction_inquire(transaction_pk=txn.pk)
    assert seen == [around_the_test]


def test_inquiring_a_transaction_again_later_resolves_it(world, sibs):
    credential(world.loja, sibs.root)
    txn = pending(world)
    sibs.answer(
        "*",
        200,
        status_body(txn.transaction_id, "Declined", returnStatus={"statusCode": "E0119", "statusMsg": "Declined"}),
    )
    services.transaction_inquire(transaction_pk=txn.pk)
    txn.refresh_from_db()
    assert (txn.state, txn.return_code, txn.next_inquiry_at) == ("declined", "E0119", None)
    # and a late notification saying Pending changes nothing
    deliver(world.loja, again(txn.last_payload | {"notificationID": "late"}, paymentStatus="Pending"))
    txn.refresh_from_db()
    assert txn.state == "declined"
