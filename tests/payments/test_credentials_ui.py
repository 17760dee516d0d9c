"""Gateway credentials on the Payment methods page: add (validated), list, deactivate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.models import AuditEvent
from payments.models import GatewayCredential

PAGE = "/m/loja/payment-methods/credentials/"
ADD = reverse("payments:credential_add", kwargs={"merchant": "loja"})
TOKEN = "0276b80f950f4e5d8e1b1ad6f1b8c2e3.eyJlIjoiMjAzNjAxMDEifQ.5a6c1f"


def form(**overrides) -> dict:
    data = {
        "name": "QLY",
        "scope": "merchant",
        "terminal_number": "99978",
        "client_id": "5a1f2b3c-0000-4000-8000-1234567890ab",
        "bearer_token": TOKEN,
        "api_root_preset": "sibs_qly",
        "custom_api_root": "",
    }
    data.update(overrides)
    return data


def test_adding_a_credential(world, login):
    owner = login(world.alice)
    response = owner.post(ADD, form())
    assert response.status_code == 302
    credential = GatewayCredential.objects.get()
    assert credential.scope == "merchant" and credential.terminal_number == 99978
    assert credential.bearer_token == TOKEN and credential.token_hint == TOKEN[-4:]
    assert credential.api_root == "https://spg.qly.site1.sibs.pt/api/v2"
    page = owner.get(PAGE).content.decode()
    assert TOKEN not in page and TOKEN[-4:] in page and credential.client_id in page
    event = AuditEvent.objects.get(action="gateway_credential.created")
    assert TOKEN not in str(event.after) and event.after["token_hint"] == TOKEN[-4:]


def test_the_token_is_encrypted_at_rest(world, login):
    from django.db import connection

    login(world.alice).post(ADD, form())
    with connection.cursor() as cursor:
        cursor.execute("SELECT bearer_token FROM payments_gatewaycredential")
        [(stored,)] = cursor.fetchall()
    assert TOKEN not in stored


def test_a_terminal_credential_takes_the_terminals_id(world, login):
    scope = f"terminal:{world.t_porto.pk}"
    assert login(world.alice).post(ADD, form(scope=scope, terminal_number="")).status_code == 302
    credential = GatewayCredential.objects.get()
    assert credential.terminal == world.t_porto and credential.terminal_number == 22222


def test_a_store_credential(world, login):
    assert login(world.alice).post(ADD, form(scope=f"store:{world.lisboa.pk}")).status_code == 302
    assert GatewayCredential.objects.get().store == world.lisboa


def test_sandbox_preset_follows_site_url(world, login, settings):
    login(world.alice).post(ADD, form(api_root_preset="sandbox"))
    settings.SITE_URL = "https://backoffice.example"
    assert GatewayCredential.objects.get().api_root == "https://backoffice.example/sandbox/api/v2"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"terminal_number": "abc"}, "Enter a whole number"),
        ({"terminal_number": "0"}, "greater than or equal to 1"),
        ({"terminal_number": "99999999999"}, "less than or equal to 9999999999"),
        ({"terminal_number": ""}, "Enter the SIBS terminal id"),
        ({"client_id": ""}, "This field is required"),
        ({"client_id": "has spaces in it"}, "without spaces"),
        ({"bearer_token": ""}, "This field is required"),
        ({"bearer_token": "abc def"}, "without spaces"),
        ({"api_root_preset": "evil"}, "Select a valid choice"),
        ({"api_root_preset": "custom"}, "Enter the address"),
        ({"api_root_preset": "custom", "custom_api_root": "http://sibs.example/api/v2"}, "https://"),
        ({"api_root_preset": "custom", "custom_api_root": "javascript:alert(1)"}, "https://"),
        ({"api_root_preset": "custom", "custom_api_root": "https://u:p@sibs.example/api/v2"}, "user, password"),
        ({"scope": "terminal:999999"}, "Select a valid choice"),
        ({"scope": "terminal:abc"}, "Select a valid choice"),
        ({"scope": f"terminal:{10**6}", "terminal_number": "1"}, "Select a valid choice"),
    ],
)
def test_malformed_input_is_refused(world, login, overrides, message):
    response = login(world.alice).post(ADD, form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not GatewayCredential.objects.exists()


def test_a_terminal_id_other_than_the_terminals_is_refused(world, login):
    response = login(world.alice).post(ADD, form(scope=f"terminal:{world.t_porto.pk}", terminal_number="12345"))
    assert response.status_code == 400 and "22222" in response.content.decode()


def test_another_merchants_store_or_terminal_cannot_be_chosen(world, login):
    owner = login(world.alice)
    for scope in (f"store:{world.outra_store.pk}", f"terminal:{world.t_outra.pk}"):
        response = owner.post(ADD, form(scope=scope))
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not GatewayCredential.objects.exists()


def test_a_private_custom_address_is_refused_in_production(world, login, settings):
    settings.PRODUCTION = True
    settings.GATEWAY_ALLOW_PRIVATE_URLS = False
    response = login(world.alice).post(ADD, form(api_root_preset="custom", custom_api_root="https://10.0.0.5/api/v2"))
    assert response.status_code == 400 and "must be a public host name" in response.content.decode()


def test_hostile_text_is_escaped(world, login):
    owner = login(world.alice)
    owner.post(ADD, form(name="<script>alert(1)</script>", client_id="<b>x</b>"))
    page = owner.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page


def test_a_second_active_credential_for_the_same_scope_is_refused(world, login):
    owner = login(world.alice)
    assert owner.post(ADD, form()).status_code == 302
    response = owner.post(ADD, form(client_id="another"))
    assert response.status_code == 400 and "already applies to this scope" in response.content.decode()
    # after deactivating it, a new one may be added
    old = GatewayCredential.objects.get()
    deactivate = reverse("payments:credential_deactivate", kwargs={"merchant": "loja", "pk": old.pk})
    assert owner.post(deactivate).status_code == 302
    assert owner.post(ADD, form(client_id="another")).status_code == 302
    assert GatewayCredential.objects.filter(is_active=True).get().client_id == "another"
    assert AuditEvent.objects.filter(action="gateway_credential.deactivated").count() == 1


def test_the_schema_allows_one_active_credential_per_scope(world):
    from django.db import IntegrityError, transaction

    fields = {"merchant": world.loja, "terminal_number": 1, "client_id": "c", "bearer_token": "t"}
    GatewayCredential.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        GatewayCredential.objects.create(**fields)
    GatewayCredential.objects.create(**fields, store=world.lisboa)
    with pytest.raises(IntegrityError), transaction.atomic():
        GatewayCredential.objects.create(**fields, store=world.lisboa)


def test_another_merchants_credential_cannot_be_deactivated(world, login):
    other = GatewayCredential.objects.create(merchant=world.outra, terminal_number=1, client_id="c", bearer_token="t")
    url = reverse("payments:credential_deactivate", kwargs={"merchant": "loja", "pk": other.pk})
    assert login(world.alice).post(url).status_code == 404
    other.refresh_from_db()
    assert other.is_active


@pytest.mark.parametrize("role", ["operator", "finance", "viewer", "qr_manager"])
def test_only_managers_add_credentials(world, login, role):
    assert login(world.by_role(role)).post(ADD, form()).status_code == 403
    assert not GatewayCredential.objects.exists()


def test_a_store_limited_manager_only_configures_their_stores(world, login):
    world.m_adam.stores.set([world.porto])
    admin = login(world.adam)
    assert admin.post(ADD, form()).status_code == 400  # "merchant" is not a choice for them
    assert admin.post(ADD, form(scope=f"store:{world.lisboa.pk}")).status_code == 400
    assert admin.post(ADD, form(scope=f"store:{world.porto.pk}")).status_code == 302
    GatewayCredential.objects.create(merchant=world.loja, terminal_number=1, client_id="wide", bearer_token="t")
    page = admin.get(PAGE).content.decode()
    assert "wide" not in page
