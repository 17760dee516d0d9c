"""The tabs of the Payment methods page: the matrix with inherited values, one method's settings
form (hostile input), entities, store limits, and who may open what."""

from __future__ import annotations

import pytest

from payments.methods.models import MethodSetting, PaymentEntity
from payments.methods.resolution import MERCHANT, Scope
from payments.methods.services import settings as services
from tests.payments.ops_support import access_of, actor_of

BASE = "/m/loja/payment-methods/"


def setting_url(scope: str, method: str) -> str:
    return f"{BASE}settings/{scope}/{method}/"


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("administrator", 200), ("operator", 403), ("finance", 403), ("viewer", 403)],
)
def test_who_opens_the_tabs(world, login, role, status):
    client = login(world.by_role(role))
    for path in ("", "entities/", "authorised-payments/", "tokens/", "requests/new/"):
        assert client.get(BASE + path).status_code == status, path


def test_every_tab_is_in_the_bar(world, login):
    page = login(world.alice).get(BASE).content.decode()
    for tab in ("methods", "entities", "mandates", "tokens", "credentials", "inbound", "approvals"):
        assert f'data-tab="{tab}"' in page
    # the older addresses still answer
    client = login(world.alice)
    assert client.get("/m/loja/payment-methods/approvals/").status_code == 200
    assert client.get("/m/loja/webhooks/inbound/").status_code == 200
    assert client.get("/m/loja/payment-methods/credentials/").status_code == 200


def test_the_matrix_shows_inherited_values_as_inherited(world, login):
    services.setting_save(
        access=access_of(world.m_alice),
        actor=actor_of(world.alice),
        scope=Scope(MERCHANT),
        method="MBWAY",
        values={"enabled": True},
    )
    page = login(world.alice).get(BASE).content.decode()
    terminal_row = page[page.index('data-terminal="11111"') :]
    cell = terminal_row[terminal_row.index('data-method="MBWAY"') :][:200]
    assert 'data-enabled="yes"' in cell and 'data-inherited="yes"' in cell
    merchant_row = page[page.index('data-scope="merchant"') :]
    cell = merchant_row[merchant_row.index('data-method="MBWAY"') :][:200]
    assert 'data-enabled="yes"' in cell and 'data-inherited="no"' in cell


def test_enabling_a_method_on_a_terminal_through_the_form(world, login):
    client = login(world.adam)
    url = setting_url(f"terminal-{world.t_porto.pk}", "MBWAY")
    assert client.get(url).status_code == 200
    response = client.post(url, {"enabled": "on"})
    assert response.status_code == 302
    row = MethodSetting.objects.get()
    assert (row.terminal, row.method, row.enabled) == (world.t_porto, "MBWAY", True)


def test_the_reference_form_says_an_entity_is_needed(world, login):
    client = login(world.alice)
    url = setting_url(f"terminal-{world.t_lisboa.pk}", "REFERENCE")
    response = client.post(url, {"enabled": "on"})
    assert response.status_code == 400 and "needs a payment entity" in response.content.decode()
    entity = PaymentEntity.objects.create(merchant=world.loja, entity="21234")
    response = client.post(
        url, {"enabled": "on", "reference_entity": entity.pk, "validity": "3", "validity_unit": "days"}
    )
    assert response.status_code == 302
    assert MethodSetting.objects.get().reference_validity_hours == 72


@pytest.mark.parametrize(
    "data",
    [
        {"enabled": "maybe"},
        {"enabled": "on", "reference_entity": "999999"},
        {"enabled": "off", "validity": "abc"},
        {"enabled": "off", "validity": "400", "validity_unit": "days"},
        {"enabled": "off", "validity": "3", "validity_unit": "weeks"},
        {"enabled": "off", "reference_min_amount": "1,5.0"},
        {"enabled": "off", "reference_min_amount": "0"},
        {"enabled": "off", "reference_max_amount": "99999999999999"},
        {"enabled": "off", "reference_max_amount": "<script>"},
    ],
)
def test_hostile_reference_form_input_is_a_400(world, login, data):
    response = login(world.alice).post(setting_url("merchant", "REFERENCE"), data)
    assert response.status_code == 400
    assert not MethodSetting.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"mit_recurring_terms_url": "javascript:alert(1)"},
        {"mit_unscheduled_terms_url": "http://plain.example/terms"},
        {"card_tokenisation": "sure"},
    ],
)
def test_hostile_card_form_input_is_a_400(world, login, data):
    response = login(world.alice).post(setting_url("merchant", "CARD"), data)
    assert response.status_code == 400
    assert not MethodSetting.objects.exists()


def test_text_is_escaped(world, login):
    client = login(world.alice)
    name = "<script>alert(1)</script>"
    assert client.post(setting_url("merchant", "MANDATE"), {"mandate_company_name": name}).status_code == 302
    page = client.get(setting_url(f"store-{world.lisboa.pk}", "MANDATE")).content.decode()
    assert name not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "path",
    [
        "settings/merchant/NOPE/",
        "settings/store-abc/MBWAY/",
        "settings/terminal-99999999/MBWAY/",
        "settings/planet-1/MBWAY/",
        "settings/terminal-" + "9" * 30 + "/MBWAY/",
    ],
)
def test_unknown_scopes_and_methods_are_a_404(world, login, path):
    assert login(world.alice).get(BASE + path).status_code == 404


def test_another_merchants_terminal_is_a_404(world, login):
    client = login(world.alice)
    assert client.get(setting_url(f"terminal-{world.t_outra.pk}", "MBWAY")).status_code == 404
    assert client.post(f"{BASE}terminals/{world.t_outra.pk}/check/").status_code == 404


def test_a_store_limited_administrator_sees_and_changes_their_stores_only(world, login):
    world.m_adam.stores.set([world.porto])
    client = login(world.adam)
    page = client.get(BASE).content.decode()
    assert 'data-terminal="22222"' in page and 'data-terminal="11111"' not in page
    # the merchant's defaults are shown (their terminals inherit them) but not editable
    assert client.get(setting_url("merchant", "MBWAY")).status_code == 200
    assert client.post(setting_url("merchant", "MBWAY"), {"enabled": "on"}).status_code == 403
    assert client.post(setting_url(f"terminal-{world.t_lisboa.pk}", "MBWAY"), {"enabled": "on"}).status_code == 404
    assert client.post(setting_url(f"store-{world.lisboa.pk}", "MBWAY"), {"enabled": "on"}).status_code == 404
    assert client.post(setting_url(f"terminal-{world.t_porto.pk}", "MBWAY"), {"enabled": "on"}).status_code == 302
    assert client.post(f"{BASE}entities/", {"entity": "21234"}).status_code == 403
    # the merchant-wide tabs are not offered to them
    assert 'data-tab="inbound"' not in page and 'data-tab="approvals"' not in page


def test_entities_tab(world, login):
    client = login(world.alice)
    assert client.post(f"{BASE}entities/", {"entity": "21234", "description": "Main"}).status_code == 302
    for bad in (
        {"entity": "1234"},
        {"entity": "12a45"},
        {"entity": "21234"},
        {"entity": "12345", "description": "x" * 101},
    ):
        assert client.post(f"{BASE}entities/", bad).status_code == 400
    entity = PaymentEntity.objects.get()
    assert client.post(f"{BASE}entities/{entity.pk}/disable/").status_code == 302
    entity.refresh_from_db()
    assert not entity.is_active
    other = PaymentEntity.objects.create(merchant=world.outra, entity="11111")
    assert client.post(f"{BASE}entities/{other.pk}/disable/").status_code == 404
