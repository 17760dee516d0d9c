"""Authorised payments and card tokens, read from what the notifications already told us, and the
terminal payment-methods API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from backoffice.roles import Role
from payments.methods.models import MethodCheck, PaymentEntity
from payments.methods.resolution import MERCHANT, TERMINAL, Scope
from payments.methods.selectors import mandate_status
from payments.methods.services import settings as services
from tests.payments.ops_support import access_of, actor_of
from tests.payments.test_api_transactions import api, assert_error, key_for
from tests.payments.test_listing import make_txn

BASE = "/m/loja/payment-methods/"


def mandate_txn(world, mandate_id="MDT-1", terminal=None, **fields):
    values = {
        "payment_method": "MANDATE",
        "mandate_id": mandate_id,
        "mandate_type": "SBSC",
        "mandate_client_name": "Maria",
        "mandate_amount_limit": Decimal("50.00"),
        "mandate_expiration_date": date(2030, 1, 1),
        "mbway_alias_masked": "351#*****5678",
        "mbway_alias_last_digits": "5678",
    }
    values.update(fields)
    return make_txn(world, terminal=terminal, **values)


def test_mandates_show_the_latest_notifications_status(world, login):
    mandate_txn(world, mandate_action="CRTN", mandate_action_status="SCCS", minutes_ago=10)
    mandate_txn(world, mandate_action="SSPN", mandate_action_status="SCCS", minutes_ago=1)
    mandate_txn(world, mandate_id="MDT-2", mandate_action="CRTN", mandate_action_status="SCCS")
    client = login(world.alice)
    page = client.get(BASE + "authorised-payments/").content.decode()
    assert "MDT-1" in page and "MDT-2" in page and "351#*****5678" in page and "Maria" in page
    assert 'data-status="suspended"' in page and 'data-status="active"' in page
    only = client.get(BASE + "authorised-payments/?status=suspended").content.decode()
    assert "MDT-1" in only and "MDT-2" not in only
    search = client.get(BASE + "authorised-payments/?q=MDT-2").content.decode()
    assert "MDT-2" in search and "MDT-1<" not in search
    detail = client.get(BASE + "authorised-payments/MDT-1/").content.decode()
    assert detail.count("/m/loja/transactions/s2list") == 2


@pytest.mark.parametrize("query", ["?status=<script>", "?q=" + "x" * 500, "?q=%00"])
def test_hostile_filters_are_harmless(world, login, query):
    mandate_txn(world, mandate_action="CRTN", mandate_action_status="SCCS")
    response = login(world.alice).get(BASE + "authorised-payments/" + query)
    assert response.status_code == 200 and "<script>" not in response.content.decode()


def test_mandate_status_rules():
    today = date(2026, 1, 1)
    assert mandate_status("CRTN", "SCCS", None, today) == "active"
    assert mandate_status("CRTN", "SCCS", date(2025, 12, 31), today) == "expired"
    assert mandate_status("CNCL", "SCCS", None, today) == "cancelled"
    assert mandate_status("CRTN", "RJCT", None, today) == "refused"


def test_mandates_and_tokens_are_scoped(world, login):
    mandate_txn(world, mandate_action="CRTN", mandate_action_status="SCCS")
    make_txn(world, token_type="Card", token_masked="************4242", payment_method="CARD")
    world.m_adam.stores.set([world.porto])
    client = login(world.adam)
    assert "MDT-1" not in client.get(BASE + "authorised-payments/").content.decode()
    assert client.get(BASE + "authorised-payments/MDT-1/").status_code == 404
    assert "4242" not in client.get(BASE + "tokens/").content.decode()
    assert client.get(BASE + "tokens/transactions/?token=************4242").status_code == 404


def test_tokens_count_purchases_and_link_to_transactions(world, login):
    make_txn(world, token_type="Card", token_masked="************4242", payment_method="CARD", minutes_ago=30)
    make_txn(world, token_type="Card", token_masked="************4242", payment_method="TOKEN", state="declined")
    make_txn(world, token_type="MobilePhone", token_masked="351#*****5678")  # an MB WAY alias, not a card token
    client = login(world.alice)
    page = client.get(BASE + "tokens/").content.decode()
    assert "************4242" in page and "351#*****5678" not in page
    row = page[page.index("************4242") :]
    assert '<td class="num">1</td><td class="num">2</td>' in row
    detail = client.get(BASE + "tokens/transactions/?token=************4242")
    assert detail.content.decode().count("/m/loja/transactions/s2list") == 2
    assert client.get(BASE + "tokens/transactions/?token=").status_code == 404


# --------------------------------------------------------------------------- API


def configure(world):
    entity = PaymentEntity.objects.create(merchant=world.loja, entity="21234")
    for scope, method, values in (
        (Scope(MERCHANT), "MBWAY", {"enabled": True}),
        (Scope(MERCHANT), "REFERENCE", {"reference_entity": entity, "reference_max_amount": "500.00"}),
        (Scope(TERMINAL, terminal_id=world.t_lisboa.pk), "REFERENCE", {"enabled": True}),
        (Scope(MERCHANT), "CARD", {"enabled": True, "mit_recurring_terms_url": "https://loja.example/terms"}),
    ):
        services.setting_save(
            access=access_of(world.m_alice), actor=actor_of(world.alice), scope=scope, method=method, values=values
        )


def test_what_a_terminal_offers(world):
    configure(world)
    MethodCheck.objects.create(
        merchant=world.loja, terminal=world.t_lisboa, outcome="agrees", active_at_sibs=["MBWAY"], detail="ok"
    )
    body = api(key_for(world)).get("/api/v1/terminals/11111/payment-methods").json()
    assert body["terminal_id"] == 11111 and body["store"] == "lisboa"
    methods = {m["method"]: m for m in body["methods"]}
    assert set(methods) == {"MBWAY", "REFERENCE", "CARD"}
    assert methods["REFERENCE"]["reference"] == {
        "entity": "21234",
        "validity_hours": 72,
        "min_amount": None,
        "max_amount": "500.00",
    }
    assert methods["CARD"]["card"]["recurring_terms_url"] == "https://loja.example/terms"
    assert body["last_check"]["outcome"] == "agrees"
    porto = api(key_for(world)).get("/api/v1/terminals/22222/payment-methods").json()
    assert {m["method"] for m in porto["methods"]} == {"MBWAY", "CARD"} and porto["last_check"] is None


@pytest.mark.parametrize("terminal", ["33333", "99999", "0", "99999999999999999999"])
def test_other_or_unknown_terminals_are_a_404(world, terminal):
    assert_error(api(key_for(world)).get(f"/api/v1/terminals/{terminal}/payment-methods"), 404, "not_found")


def test_a_store_limited_key_sees_its_stores_terminals_only(world):
    key = key_for(world, role=Role.VIEWER, stores=[world.porto])
    assert api(key).get("/api/v1/terminals/22222/payment-methods").status_code == 200
    assert api(key).get("/api/v1/terminals/11111/payment-methods").status_code == 404


def test_without_a_key(world):
    assert Client().get("/api/v1/terminals/11111/payment-methods").status_code in (401, 403)


def test_the_schema_documents_it(db):
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/terminals/{terminal_id}/payment-methods"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/TerminalPaymentMethods")
    offer = schema["components"]["schemas"]["PaymentMethodOffer"]["properties"]
    assert {"method", "reference", "card", "mandate"} <= set(offer)
