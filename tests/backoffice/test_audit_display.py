"""The audit log reads as sentences in the reader's language, with labelled before → after values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from backoffice import audit, audit_display
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from payments.models import OperationKind, OperationState, PaymentOperation
from tests.payments.test_listing import make_txn


def _operation(world, amount="10.500", state=OperationState.SUCCEEDED):
    txn = make_txn(world, transaction_id="s2HUabcdefghijklmnop", amount=Decimal("84.51"))
    return PaymentOperation.objects.create(
        merchant=world.loja,
        original=txn,
        kind=OperationKind.REFUND,
        amount=Decimal(amount),
        currency="EUR",
        state=state,
        idempotency_key="k1",
        fingerprint="f",
        gateway_reference="bo-re-1",
        requested_by=world.bob,
        reason="returned_goods",
    )


def _lines():
    return audit_display.present(AuditEvent.objects.order_by("id"))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Bob Operator refunded €10.50 of payment s2HUabcdef… — goods returned"),
        ("pt", "Bob Operator reembolsou 10,50\u00a0€ do pagamento s2HUabcdef… — artigos devolvidos"),
    ],
)
def test_a_refund_reads_as_a_sentence_with_the_money_as_everywhere(world, language, expected):
    op = _operation(world)
    audit.record(
        actor=Actor(user=world.bob),
        action="payment.refund_succeeded",
        merchant=world.loja,
        obj=op,
        after={"state": "succeeded", "return_code": "000", "result": None},
    )
    with translation.override(language):
        (line,) = _lines()
        assert line.text == expected
        assert "payment.refund" not in line.text and "10.500" not in line.text
        state = next(c for c in line.changes if c.label in ("State", "Estado"))
        assert state.after == ("Succeeded" if language == "en" else "Bem-sucedido")


def test_changed_fields_show_labels_and_readable_values_only_for_what_changed(world):
    audit.record(
        actor=Actor(user=world.alice),
        action="outbound_webhook.updated",
        merchant=world.loja,
        before={"terminal": world.t_lisboa.pk, "is_active": True, "name": "Shop"},
        after={"terminal": None, "is_active": False, "name": "Shop"},
    )
    with translation.override("pt"):
        (line,) = _lines()
        assert line.text.startswith("Alice Owner alterou o webhook")
        changes = {c.label: (c.before, c.after) for c in line.changes}
        assert changes == {"Terminal": (str(world.t_lisboa), "—"), "Ativo": ("Sim", "Não")}


def test_membership_roles_and_stores_by_name_and_dates_as_dd_mm_yyyy(world):
    audit.record(
        actor=Actor(user=world.alice),
        action="membership.updated",
        merchant=world.loja,
        obj=world.m_bob,
        before={"role": "operator", "stores": []},
        after={"role": "viewer", "stores": [world.porto.pk]},
    )
    audit.record(
        actor=Actor(),
        action="user.locked",
        merchant=world.loja,
        obj=world.bob,
        after={"locked_until": "2026-11-22T14:03:12+00:00"},
    )
    with translation.override("en"):
        updated, locked = _lines()
    assert updated.text == "Alice Owner changed the access of bob@loja.example"
    assert {c.label: (c.before, c.after) for c in updated.changes} == {
        "Role": ("Operator", "Viewer"),
        "Stores": ("All stores", "Porto"),
    }
    assert locked.who == "The system"
    assert locked.changes[0].after == "22/11/2026 14:03:12 WET"


def test_an_unknown_action_still_reads_as_words(world):
    audit.record(actor=Actor(user=world.alice), action="thing.did_something", merchant=world.loja)
    with translation.override("en"):
        (line,) = _lines()
    assert line.text == "Alice Owner: thing did something on —"


def test_the_page_shows_sentences_fits_and_queries_do_not_grow_with_events(world, login, django_assert_max_num_queries):
    op = _operation(world)
    for _n in range(30):
        audit.record(actor=Actor(user=world.bob), action="payment.refund_requested", merchant=world.loja, obj=op)
    client = login(world.alice)
    with django_assert_max_num_queries(20):
        response = client.get("/m/loja/audit/", HTTP_ACCEPT_LANGUAGE="pt")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Bob Operator pediu para reembolsar 10,50" in body
    assert "payment.refund_requested</code>" not in body and "{&#x27;" not in body
