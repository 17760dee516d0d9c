"""The refund, capture and cancel actions on the transaction page, approvals, and the setting."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from backoffice.models import AuditEvent
from payments.models import OperationPolicy, OperationState, PaymentOperation
from tests.factories import PASSWORD
from tests.payments.ops_support import make_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def page(client, txn):
    return client.get(f"/m/loja/transactions/{txn.transaction_id}/")


def form_key(html: str, kind: str) -> str:
    return re.search(rf'name="{kind}-idempotency_key" value="([^"]+)"', html).group(1)


def submit(client, txn, kind="refund", *, amount="10.00", password=PASSWORD, key=None, reason="customer_request"):
    html = page(client, txn).content.decode()
    path = {"refund": "refund", "capture": "capture", "cancellation": "cancel"}[kind]
    data = {f"{kind}-amount": amount, f"{kind}-reason": reason, f"{kind}-comment": "",
            f"{kind}-idempotency_key": key or form_key(html, kind)}  # fmt: skip
    if kind == "refund":
        data[f"{kind}-password"] = password
    return client.post(f"/m/loja/transactions/{txn.transaction_id}/{path}/", data, follow=True)


def test_the_page_offers_a_refund_with_a_dialog_that_says_what_happens(world, gw, login):
    txn = gw.paid(amount="50.00")
    html = page(login(world.bob), txn).content.decode()
    assert 'data-testid="op-open-refund"' in html and "<dialog" in html
    assert "SIBS will return €50.00 to the customer" in html
    assert "A refund cannot be undone" in html
    assert 'name="refund-password"' in html
    assert 'data-testid="op-open-capture"' not in html  # a purchase cannot be captured


def test_an_operator_refunds_part_of_a_payment(world, gw, login):
    txn = gw.paid(amount="50.00")
    client = login(world.bob)
    response = submit(client, txn, amount="12,50")

    assert "Refund of €12.50 done: SIBS confirmed it." in response.content.decode()
    op = PaymentOperation.objects.get()
    assert op.state == OperationState.SUCCEEDED and op.requested_by == world.bob
    html = response.content.decode()
    assert 'data-testid="op-request"' in html and "Refund of €12.50 requested" in html  # the timeline


def test_a_double_submit_with_the_same_form_key_refunds_once(world, gw, login):
    txn = gw.paid(amount="50.00")
    client = login(world.bob)
    key = form_key(page(client, txn).content.decode(), "refund")
    submit(client, txn, key=key)
    again = submit(client, txn, key=key)
    assert "done: SIBS confirmed it" in again.content.decode()
    assert PaymentOperation.objects.count() == 1 and len(gw.adapter.money_calls()) == 1


def test_a_wrong_password_does_nothing(world, gw, login):
    txn = gw.paid(amount="50.00")
    response = submit(login(world.bob), txn, password="not-my-password")
    assert "the password is not correct" in response.content.decode()
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()


def test_too_much_is_refused_with_a_clear_message(world, gw, login):
    txn = gw.paid(amount="50.00")
    response = submit(login(world.bob), txn, amount="50.01")
    assert "€50.01 is more than the €50.00 that can still be refunded" in response.content.decode()
    assert not PaymentOperation.objects.exists()


@pytest.mark.parametrize("amount", ["abc", "-1", "1.234", "<script>alert(1)</script>"])
def test_malformed_amounts_are_refused(world, gw, login, amount):
    txn = gw.paid(amount="50.00")
    response = submit(login(world.bob), txn, amount=amount)
    html = response.content.decode()
    assert "Nothing was done" in html and "<script>alert(1)</script>" not in html
    assert not PaymentOperation.objects.exists()


def test_a_viewer_sees_no_action_and_cannot_post(world, gw, login):
    txn = gw.paid(amount="50.00")
    client = login(world.victor)
    html = page(client, txn).content.decode()
    assert 'data-testid="op-open-refund"' not in html and 'data-testid="op-not-allowed"' in html
    response = client.post(f"/m/loja/transactions/{txn.transaction_id}/refund/", {"refund-amount": "1"})
    assert response.status_code == 403
    assert not PaymentOperation.objects.exists()


def test_an_operator_of_another_store_or_merchant_gets_404(world, gw, login):
    txn = gw.paid(amount="50.00", terminal=11111)  # Lisboa
    for user in (world.paula, world.mallory):
        response = login(user).post(f"/m/loja/transactions/{txn.transaction_id}/refund/", {"refund-amount": "1"})
        assert response.status_code in (403, 404)
    assert not PaymentOperation.objects.exists()


def test_capture_and_cancel_on_an_authorisation(world, gw, login):
    auth = gw.paid(amount="80.00", payment_type="AUTH")
    client = login(world.bob)
    html = page(client, auth).content.decode()
    assert 'data-testid="op-open-capture"' in html and 'data-testid="op-open-cancellation"' in html
    assert 'data-testid="op-open-refund"' not in html
    response = submit(client, auth, "capture", amount="30.00", reason="partial_shipment")
    assert "Capture of €30.00 done" in response.content.decode()
    html = response.content.decode()
    assert 'data-testid="op-open-cancellation"' not in html and 'data-testid="op-open-refund"' in html


def test_four_eyes_from_the_page(world, gw, login):
    OperationPolicy.objects.create(merchant=world.loja, four_eyes_threshold=Decimal("20"))
    txn = gw.paid(amount="50.00")
    bob = login(world.bob)
    response = submit(bob, txn, amount="30.00")
    assert "waits for another person" in response.content.decode()
    op = PaymentOperation.objects.get()
    assert 'data-testid="op-approve-form"' not in response.content.decode()  # not for the requester
    wrong = bob.post(f"/m/loja/operations/{op.pk}/approve/", {f"op{op.pk}-password": PASSWORD}, follow=True)
    assert "cannot approve your own" in wrong.content.decode() or wrong.status_code == 403
    assert not gw.adapter.money_calls()

    alice = login(world.alice)
    assert 'data-testid="op-approve-form"' in page(alice, txn).content.decode()
    bad = alice.post(f"/m/loja/operations/{op.pk}/approve/", {f"op{op.pk}-password": "nope"}, follow=True)
    assert "the password is not correct" in bad.content.decode()
    ok = alice.post(f"/m/loja/operations/{op.pk}/approve/", {f"op{op.pk}-password": PASSWORD}, follow=True)
    assert "Refund of €30.00 done" in ok.content.decode()
    assert len(gw.adapter.money_calls()) == 1


def test_the_threshold_is_set_by_owners_and_admins_only(world, login):
    owner = login(world.alice)
    assert owner.get("/m/loja/payment-methods/approvals/").status_code == 200
    response = owner.post("/m/loja/payment-methods/approvals/", {"four_eyes_threshold": "100.00"}, follow=True)
    assert "Approval threshold saved" in response.content.decode()
    assert OperationPolicy.objects.get(merchant=world.loja).four_eyes_threshold == Decimal("100.00")
    assert owner.post("/m/loja/payment-methods/approvals/", {"four_eyes_threshold": "-1"}).status_code == 400
    owner.post("/m/loja/payment-methods/approvals/", {"four_eyes_threshold": ""})
    assert OperationPolicy.objects.get(merchant=world.loja).four_eyes_threshold is None
    assert login(world.bob).get("/m/loja/payment-methods/approvals/").status_code == 403


# --- a refused submission comes back with what was typed, the reason and a status ----------------


def _dialog(html: str, kind: str) -> str:
    start = html.index(f'id="op-dialog-{kind}"')
    return html[start : html.index("</dialog>", start)]


@pytest.mark.parametrize(
    ("amount", "password", "status", "says"),
    [
        ("50.01", PASSWORD, 422, "€50.01 is more than the €50.00 that can still be refunded"),
        ("12,345", PASSWORD, 400, "at most 2 decimals"),
        ("12.34", "not-my-password", 403, "the password is not correct"),
    ],
)
def test_a_refused_refund_comes_back_open_with_what_was_typed(world, gw, login, amount, password, status, says):
    txn = gw.paid(amount="50.00")
    client = login(world.bob)
    key = form_key(page(client, txn).content.decode(), "refund")
    response = client.post(
        f"/m/loja/transactions/{txn.transaction_id}/refund/",
        {"refund-amount": amount, "refund-reason": "returned_goods", "refund-comment": "Box <b>damaged</b>",
         "refund-idempotency_key": key, "refund-password": password},
    )  # fmt: skip
    assert response.status_code == status
    html = response.content.decode()
    dialog = _dialog(html, "refund")
    assert "data-open-on-load" in dialog and 'data-testid="op-error"' in dialog and says in dialog
    assert f'value="{amount}"' in dialog
    assert '<option value="returned_goods" selected>' in dialog
    assert "Box &lt;b&gt;damaged&lt;/b&gt;" in dialog and "<b>damaged</b>" not in html
    assert password not in html  # never echoed
    assert form_key(html, "refund") == key  # nothing was reserved with it: the same key is fine
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()
    # the corrected form goes through with that key, once
    ok = submit(client, txn, amount="12.34", key=key)
    assert "Refund of €12.34 done" in ok.content.decode()
    assert len(gw.adapter.money_calls()) == 1


def test_an_action_no_longer_possible_is_a_409_said_on_the_panel(world, gw, login):
    txn = gw.paid(amount="50.00")  # a purchase: nothing to capture
    client = login(world.bob)
    response = client.post(
        f"/m/loja/transactions/{txn.transaction_id}/capture/",
        {"capture-amount": "1.00", "capture-reason": "shipped", "capture-idempotency_key": "k-capture"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="op-error"' in html and "Only an authorisation can be captured" in html
    assert not PaymentOperation.objects.exists()


def test_the_amount_offered_has_the_currency_decimals(world, gw, login):
    txn = gw.paid(amount="155.56")
    html = page(login(world.bob), txn).content.decode()
    dialog = _dialog(html, "refund")
    assert 'value="155.56"' in dialog and 'data-available="155.56"' in dialog and "155.560" not in dialog
    assert "payment method (Card)" in dialog


# --- the password: never bypassed, every wrong attempt audited, then a lock-out ---------------------


def test_a_refund_posted_without_the_password_field_is_refused_and_audited(world, gw, login):
    txn = gw.paid(amount="50.00")
    client = login(world.bob)
    key = form_key(page(client, txn).content.decode(), "refund")
    response = client.post(
        f"/m/loja/transactions/{txn.transaction_id}/refund/",
        {"refund-amount": "5.00", "refund-reason": "customer_request", "refund-idempotency_key": key},
    )
    assert response.status_code == 403
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()
    event = AuditEvent.objects.get(action="payment.password_failed")
    assert event.actor == world.bob and event.merchant == world.loja and event.after["empty"] is True


def test_wrong_passwords_are_audited_and_then_locked_out(world, gw, login):
    from payments.services.password_confirmation import PASSWORD_ATTEMPTS

    txn = gw.paid(amount="50.00")
    client = login(world.bob)
    for attempt in range(PASSWORD_ATTEMPTS):
        response = client.post(
            f"/m/loja/transactions/{txn.transaction_id}/refund/",
            {"refund-amount": "5.00", "refund-reason": "customer_request",
             "refund-idempotency_key": f"pw-{attempt}", "refund-password": f"guess-{attempt}"},
        )  # fmt: skip
        assert response.status_code == 403
    assert AuditEvent.objects.filter(action="payment.password_failed", actor=world.bob).count() == PASSWORD_ATTEMPTS
    # now even the right password is refused for a while
    locked = client.post(
        f"/m/loja/transactions/{txn.transaction_id}/refund/",
        {"refund-amount": "5.00", "refund-reason": "customer_request",
         "refund-idempotency_key": "pw-right", "refund-password": PASSWORD},
    )  # fmt: skip
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.content.decode()
    assert not PaymentOperation.objects.exists() and not gw.adapter.money_calls()
    # another person is not locked out by bob's guesses
    assert "Refund of €5.00 done" in submit(login(world.alice), txn, amount="5.00").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_gateway_is_called_with_no_database_transaction_open(world, login, monkeypatch):
    """Through the page and the API, as deployed (no ATOMIC_REQUESTS, views not wrapped): a slow
    SIBS must never hold a row lock or a connection inside a transaction."""
    from django.conf import settings
    from django.db import connection

    from payments.sibs.client import SibsClient
    from tests.payments.test_api_operations import api, key_for, post

    assert not settings.DATABASES["default"].get("ATOMIC_REQUESTS")
    gw = make_gateway(world)
    txn = gw.paid(amount="50.00")
    seen = []
    real = SibsClient.send_operation

    def watching(self, action, transaction_id, body, **kwargs):
        seen.append((action, connection.in_atomic_block))
        return real(self, action, transaction_id, body, **kwargs)

    monkeypatch.setattr(SibsClient, "send_operation", watching)
    assert "Refund of €5.00 done" in submit(login(world.bob), txn, amount="5.00").content.decode()
    response = post(api(key_for(world)), txn.transaction_id, {"amount": "6", "reason": "customer_request"})
    assert response.status_code == 201, response.content
    assert seen == [("refund", False), ("refund", False)]
