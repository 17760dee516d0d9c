"""Four eyes, the approver's side: the e-mail to each approver, the queue page and the menu count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from payments.approvals.selectors import awaiting_count
from payments.models import OperationPolicy, OperationState
from tests.payments.ops_support import access_of, make_gateway
from tests.payments.test_operations import refund


@pytest.fixture
def gw(world):
    return make_gateway(world)


@pytest.fixture
def waiting(world, gw, django_capture_on_commit_callbacks):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("20.00"))
    txn = gw.paid(amount="50.00")  # at Lisboa
    world.alice.language = "pt"
    world.alice.save(update_fields=["language"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        op = refund(world, txn, "30.00", reason="returned_goods").operation
    assert op.state == OperationState.PENDING_APPROVAL
    return op


def test_each_approver_gets_one_email_in_their_language(world, waiting):
    by_person = {m.to[0]: m for m in mail.outbox}
    # Owner and Administrator may refund; Paula only sees Porto; Bob asked; the others may not refund
    assert set(by_person) == {"alice@loja.example", "adam@loja.example"}
    assert len(mail.outbox) == 2
    alice, adam = by_person["alice@loja.example"], by_person["adam@loja.example"]
    assert "aguarda a sua aprovação" in alice.subject and "30,00\u00a0€" in alice.subject
    assert "Bob Operator" in alice.body and "/m/loja/awaiting-approval/" in alice.body
    assert "waiting for your approval" in adam.subject and "€30.00" in adam.subject


def test_no_email_when_nothing_waits(world, gw, django_capture_on_commit_callbacks):
    txn = gw.paid(amount="50.00")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refund(world, txn, "30.00")
    assert mail.outbox == []


def test_the_queue_and_the_menu_count_for_those_who_can_approve(world, waiting, login):
    assert awaiting_count(access_of(world.m_alice)) == 1
    assert awaiting_count(access_of(world.m_bob)) == 0  # his own request: another person decides
    assert awaiting_count(access_of(world.m_paula)) == 0  # not her store
    assert awaiting_count(access_of(world.m_victor)) == 0

    page = login(world.alice).get("/m/loja/awaiting-approval/", HTTP_ACCEPT_LANGUAGE="pt")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="nav-count-approvals">1<' in body
    assert waiting.original.transaction_id in body and "30,00" in body and "Rever" in body

    client = login(world.victor)
    assert client.get("/m/loja/awaiting-approval/").status_code == 403
    assert "nav-count-approvals" not in client.get("/m/loja/transactions/").content.decode()


def test_a_decided_request_leaves_the_queue_and_sends_nothing_more(world, waiting):
    from payments.approvals.services import notify_approvers

    waiting.state = OperationState.REJECTED
    waiting.save(update_fields=["state"])
    mail.outbox.clear()
    assert notify_approvers(waiting.pk) == 0
    assert awaiting_count(access_of(world.m_alice)) == 0
