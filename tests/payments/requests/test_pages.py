"""The payment request pages: form, live panel, slip, board, reminders; who sees what."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from payments.models import ReferenceState, Transaction
from payments.requests.models import PaymentRequest, RequestState
from tests.payments.ops_support import make_gateway
from tests.payments.requests.support import PHONE_OK, ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(world):
    return make_gateway(world)


def form_data(**extra):
    data = {
        "terminal": "",
        "method": "MBWAY",
        "amount": "25,00",
        "order_reference": "ENC-77",
        "description": "Encomenda",
        "phone": "912 345 678",
        "reference_entity": "24000",
        "validity": "3",
        "customer_email": "",
        "language": "pt",
        "idempotency_key": "form-key-1",
    }
    data.update(extra)
    return data


def test_an_operator_asks_by_mbway_and_sees_the_panel(world, gw, login):
    client = login(world.bob)
    page = client.get("/m/loja/payment-requests/new/")
    assert page.status_code == 200
    assert 'name="idempotency_key"' in page.content.decode()
    response = client.post("/m/loja/payment-requests/new/", form_data(terminal=world.t_lisboa.pk))
    request = PaymentRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/loja/payment-requests/{request.pk}/"
    assert request.customer_phone == PHONE_OK and request.amount == Decimal("25.00")
    # the same form sent twice (a double click) is the same request
    again = client.post("/m/loja/payment-requests/new/", form_data(terminal=world.t_lisboa.pk))
    assert again["Location"] == response["Location"]
    assert PaymentRequest.objects.count() == 1

    detail = client.get(response["Location"]).content.decode()
    assert 'data-status="waiting_customer"' in detail
    assert "hx-get" in detail
    # the poll asks SIBS (the customer has accepted) and turns to paid, then stops polling
    panel = client.get(f"/m/loja/payment-requests/{request.pk}/panel/").content.decode()
    assert 'data-status="paid"' in panel
    assert "hx-get" not in panel
    assert client.get("/m/loja/payment-requests/").status_code == 200


def test_form_errors_are_shown_not_500(world, gw, login):
    client = login(world.bob)
    for index, bad in enumerate(
        (
            {"amount": "abc"},
            {"amount": "-1"},
            {"amount": "99999999"},
            {"phone": "123"},
            {"order_reference": ""},
            {"terminal": "999999"},
            {"method": "CARD"},
            {"customer_email": "x@"},
            {"method": "REFERENCE", "reference_entity": "12"},
            {"language": "de"},
            {"idempotency_key": ""},
            {"amount": "1e5"},
            {"order_reference": "A" * 500},
        )
    ):
        data = form_data(terminal=world.t_lisboa.pk, idempotency_key=f"k-{index}")
        data.update(bad)
        response = client.post("/m/loja/payment-requests/new/", data)
        assert response.status_code == 400, bad
    assert not PaymentRequest.objects.exists()


def test_who_sees_the_pages(world, gw, login, client):
    request = ask(world).request
    for user in (world.fiona, world.victor, world.quinn):
        login(user)
        assert client.get("/m/loja/payment-requests/").status_code == 403
        assert client.get(f"/m/loja/payment-requests/{request.pk}/").status_code == 403
    login(world.mallory)
    assert client.get(f"/m/loja/payment-requests/{request.pk}/").status_code == 404
    # a store-limited operator sees her store only, and can only pick its terminal
    login(world.paula)
    assert client.get(f"/m/loja/payment-requests/{request.pk}/").status_code == 404
    page = client.get("/m/loja/payment-requests/new/").content.decode()
    assert "22222" in page and "11111" not in page
    response = client.post("/m/loja/payment-requests/new/", form_data(terminal=world.t_lisboa.pk))
    assert response.status_code == 400
    for user in (world.alice, world.adam, world.bob):
        login(user)
        assert client.get("/m/loja/payment-requests/new/").status_code == 200


def test_reference_panel_slip_board_and_reminder(world, gw, login, django_capture_on_commit_callbacks):
    client = login(world.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/m/loja/payment-requests/new/",
            form_data(
                terminal=world.t_lisboa.pk,
                method="REFERENCE",
                amount="42.00",
                customer_email="cliente@example.pt",
                language="en",
                validity="1",
            ),
        )
    request = PaymentRequest.objects.get()
    assert request.state == RequestState.SENT
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="awaiting_payment"' in page
    assert request.reference_number[:3] in page and "24000" in page
    assert "Printable payment slip" in page
    slip = client.get(f"/m/loja/payment-requests/{request.pk}/slip/").content.decode()
    assert "24000" in slip and "42.00" in slip
    assert len(mail.outbox) == 1

    board = client.get("/m/loja/payment-requests/waiting/").content.decode()
    assert 'data-testid="board-today"' in board or 'data-testid="board-week"' in board
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/m/loja/payment-requests/{request.pk}/remind/", {"next": "board"})
        client.post(f"/m/loja/payment-requests/{request.pk}/remind/", {"next": "board"})
    assert len(mail.outbox) == 2  # once a day at most
    # expired references are grouped apart
    PaymentRequest.objects.filter(pk=request.pk).update(reference_expiry=timezone.now() - timedelta(hours=1))
    assert 'data-testid="board-expired"' in client.get("/m/loja/payment-requests/waiting/").content.decode()
    # a reference paid after its expiry is listed as such
    Transaction.objects.filter(pk=request.transaction_id).update(
        reference_status=ReferenceState.PAID, reference_paid_at=timezone.now()
    )
    assert 'data-testid="board-paid-late"' in client.get("/m/loja/payment-requests/waiting/").content.decode()


def test_the_transaction_timeline_says_who_asked(world, gw, login):
    request = ask(world).request
    client = login(world.bob)
    page = client.get(f"/m/loja/transactions/{request.sibs_transaction_id}/").content.decode()
    assert "Payment request of €25.00 sent by MB WAY" in page
    assert "bob@loja.example" in page


def test_platform_staff_see_requests_read_only_without_secrets(world, gw, login):
    request = ask(world).request
    staff = world.alice
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = login(staff)
    listing = client.get("/admin/payments/paymentrequest/")
    assert listing.status_code == 200 and "ENC-1001" in listing.content.decode()
    page = client.get(f"/admin/payments/paymentrequest/{request.pk}/change/").content.decode()
    assert request.gateway_reference in page
    assert request.transaction_signature not in page and "351#912345678" not in page


def test_hostile_and_wrong_calls_get_clear_answers(world, gw, login):
    mbway = ask(world).request
    client = login(world.bob)
    base = "/m/loja/payment-requests"
    # actions are POST only
    assert client.get(f"{base}/{mbway.pk}/remind/").status_code == 405
    assert client.get(f"{base}/{mbway.pk}/refresh/").status_code == 405
    assert client.post(f"{base}/{mbway.pk}/panel/").status_code == 405
    # ids that do not exist, or are not numbers
    assert client.get(f"{base}/999999/").status_code == 404
    assert client.post(f"{base}/999999/remind/").status_code == 404
    assert client.get(f"{base}/abc/").status_code == 404
    # an MB WAY request has no payment slip and cannot be reminded (said, nothing sent)
    assert client.get(f"{base}/{mbway.pk}/slip/").status_code == 403
    response = client.post(f"{base}/{mbway.pk}/remind/", follow=True)
    assert response.status_code == 200
    assert "Only a MULTIBANCO reference sent to SIBS can be reminded." in response.content.decode()
    assert len(mail.outbox) == 0
    # a refresh of a request another store owns is a 404 for a store-limited operator
    login(world.paula)
    assert client.post(f"{base}/{mbway.pk}/refresh/").status_code == 404
