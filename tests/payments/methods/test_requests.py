"""Requests for a new method: recorded with history, e-mailed to platform staff and the requester
at each step, moved by staff in the Django admin, enabling the method when it becomes active."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.models import AuditEvent
from payments.methods.models import MethodRequest, MethodSetting, RequestState
from payments.methods.services import requests as services
from tests.factories import make_user
from tests.payments.ops_support import actor_of

NEW = "/m/loja/payment-methods/requests/new/"


def form(world, **overrides):
    data = {
        "method": "XPAY",
        "stores": [world.porto.pk],
        "expected_volume": "300 payments a month",
        "contact_name": "Adam",
        "contact_email": "adam@loja.example",
        "contact_phone": "+351 912 345 678",
        "notes": "Apple Pay first",
    }
    data.update(overrides)
    return data


@pytest.fixture
def staff(db):
    user = make_user("ops@platform.example", "Platform Ops")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def test_a_request_is_recorded_and_mailed(world, login, settings, django_capture_on_commit_callbacks):
    settings.PLATFORM_SUPPORT_EMAIL = "support@platform.example"
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.adam).post(NEW, form(world))
    assert response.status_code == 302
    request = MethodRequest.objects.get()
    assert request.state == RequestState.REQUESTED and list(request.stores.all()) == [world.porto]
    assert [e.to_state for e in request.events.all()] == ["requested"]
    to_staff, to_requester = mail.outbox
    assert to_staff.to == ["support@platform.example"] and "XPAY" in to_staff.subject and "Loja" in to_staff.subject
    assert "300 payments a month" in to_staff.body and "/admin/payments/methodrequest/" in to_staff.body
    assert to_requester.to == ["adam@loja.example"] and "Requested" in to_requester.subject
    assert AuditEvent.objects.filter(action="payment_method_request.created", actor=world.adam).exists()


def test_the_requester_is_written_to_in_their_language(world, login, django_capture_on_commit_callbacks):
    world.adam.language = "pt"
    world.adam.save()
    with django_capture_on_commit_callbacks(execute=True):
        login(world.adam).post(NEW, form(world))
    assert "O seu pedido" in mail.outbox[-1].subject


@pytest.mark.parametrize(
    "overrides",
    [
        {"method": "BITCOIN"},
        {"stores": []},
        {"stores": ["abc"]},
        {"contact_email": "not an e-mail"},
        {"expected_volume": ""},
        {"expected_volume": "x" * 201},
        {"notes": "x" * 2001},
        {"contact_phone": "call me maybe"},
        {"contact_name": "Adam\x00"},
    ],
)
def test_hostile_requests_are_refused(world, login, overrides):
    response = login(world.adam).post(NEW, form(world, **overrides))
    assert response.status_code == 400
    assert not MethodRequest.objects.exists()


def test_another_merchants_or_another_stores_terminal_cannot_be_named(world, login):
    assert login(world.adam).post(NEW, form(world, terminals=[world.t_outra.pk])).status_code == 400
    world.m_adam.stores.set([world.porto])
    assert login(world.adam).post(NEW, form(world, stores=[world.lisboa.pk])).status_code == 400
    assert login(world.adam).post(NEW, form(world, stores=[world.porto.pk])).status_code == 302
    assert login(world.bob).post(NEW, form(world)).status_code == 403


def make_request(world, **overrides):
    values = {
        "method": "XPAY",
        "stores": [world.porto],
        "terminals": [world.t_lisboa],
        "expected_volume": "100",
        "contact_name": "Alice",
        "contact_email": "alice@loja.example",
    }
    values.update(overrides)
    from tests.payments.ops_support import access_of

    return services.request_create(access=access_of(world.m_alice), actor=actor_of(world.alice), **values)


def test_states_history_and_mails(world, staff, django_capture_on_commit_callbacks):
    request = make_request(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_move(request_pk=request.pk, to_state="sent", actor=actor_of(staff), note="Asked SIBS")
    assert mail.outbox[-1].to == ["alice@loja.example"] and "Sent to SIBS" in mail.outbox[-1].subject
    # a step back, or out of a final state, is refused; the same state again is a no-op
    services.request_move(request_pk=request.pk, to_state="sent", actor=actor_of(staff))
    with pytest.raises(ValidationError):
        services.request_move(request_pk=request.pk, to_state="requested", actor=actor_of(staff))
    with django_capture_on_commit_callbacks(execute=True):
        services.request_move(request_pk=request.pk, to_state="active", actor=actor_of(staff))
    with pytest.raises(ValidationError):
        services.request_move(request_pk=request.pk, to_state="refused", actor=actor_of(staff))
    request.refresh_from_db()
    assert [(e.from_state, e.to_state) for e in request.events.all()] == [
        ("", "requested"),
        ("requested", "sent"),
        ("sent", "active"),
    ]
    assert request.events.get(to_state="sent").note == "Asked SIBS"
    assert "SIBS activated it" in mail.outbox[-1].body
    # active: the method is enabled where it was asked for
    enabled = {(r.store_id, r.terminal_id) for r in MethodSetting.objects.filter(method="XPAY", enabled=True)}
    assert enabled == {(world.porto.pk, None), (None, world.t_lisboa.pk)}
    assert AuditEvent.objects.filter(action="payment_method_request.moved").count() == 2


def test_a_reference_without_an_entity_becomes_active_with_a_note(world, staff):
    request = make_request(world, method="REFERENCE", stores=[], terminals=[world.t_lisboa])
    services.request_move(request_pk=request.pk, to_state="active", actor=actor_of(staff))
    assert not MethodSetting.objects.filter(enabled=True).exists()
    assert "needs a payment entity" in request.events.get(to_state="active").note


def test_only_platform_staff_move_requests(world):
    request = make_request(world)
    with pytest.raises(PermissionDenied):
        services.request_move(request_pk=request.pk, to_state="sent", actor=actor_of(world.alice))


def test_the_admin_moves_requests(world, staff, client):
    request = make_request(world)
    client.force_login(staff, backend="backoffice.auth_backends.LockoutAwareBackend")
    from tests.factories import give_totp

    give_totp(staff)
    changelist = "/admin/payments/methodrequest/"
    assert client.get(changelist).status_code == 200
    assert client.get(f"{changelist}{request.pk}/change/").status_code == 200
    response = client.post(changelist, {"action": "move_to_refused", "_selected_action": [request.pk]})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == "refused"


def test_the_matrix_lists_requests_with_their_history(world, login):
    make_request(world)
    page = login(world.alice).get("/m/loja/payment-methods/").content.decode()
    section = page[page.index('data-testid="method-requests"') :]
    assert "XPAY" in section and "Requested" in section
    # a store-limited administrator does not see requests for other stores
    world.m_adam.stores.set([world.porto])
    page = login(world.adam).get("/m/loja/payment-methods/").content.decode()
    assert 'data-request="' not in page


def test_a_store_limited_administrator_sees_only_requests_within_their_stores(world):
    from payments.methods.selectors import request_list
    from tests.payments.ops_support import access_of

    mine = make_request(world, stores=[world.porto], terminals=[world.t_porto])
    make_request(world, stores=[world.porto, world.lisboa], terminals=[])
    make_request(world, stores=[], terminals=[world.t_lisboa])
    world.m_adam.stores.set([world.porto])
    assert list(request_list(access=access_of(world.m_adam))) == [mine]
    assert request_list(access=access_of(world.m_alice)).count() == 3
