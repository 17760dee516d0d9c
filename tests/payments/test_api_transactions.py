"""GET /api/v1/transactions and /api/v1/transactions/{id}: filters, cursor, scope, errors, schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Role
from payments.models import EventKind, EventOutcome, TransactionEvent
from tests.payments.test_listing import make_txn


def key_for(world, *, role=Role.VIEWER, stores=(), membership=None):
    _key, plaintext = services.api_key_create(
        access=Access.for_membership(membership or world.m_alice),
        actor=Actor(user=world.alice),
        name=f"key-{role}-{len(stores)}",
        role=role,
        **({"stores": list(stores)} if stores else {}),
    )
    return plaintext


def api(key):
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def assert_error(response, status, type_, *fields):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "fields"}
    assert body["error"]["type"] == type_ and body["error"]["message"]
    for name in fields:
        assert name in body["error"]["fields"], body
    return body["error"]


@pytest.fixture
def key(world):
    return key_for(world)


def test_lists_newest_first_with_a_cursor_to_the_next_page(world, key):
    made = [make_txn(world, minutes_ago=i) for i in range(5)]
    client = api(key)
    first = client.get("/api/v1/transactions", {"limit": 2}).json()
    assert [r["transaction_id"] for r in first["results"]] == [t.transaction_id for t in made[:2]]
    assert first["previous_cursor"] is None
    second = client.get("/api/v1/transactions", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get("/api/v1/transactions", {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [r["transaction_id"] for r in second["results"] + third["results"]] == [t.transaction_id for t in made[2:]]
    assert third["next_cursor"] is None
    back = client.get("/api/v1/transactions", {"limit": 2, "cursor": second["previous_cursor"]}).json()
    assert back["results"] == first["results"]


def test_shape_of_a_row(world, key):
    make_txn(
        world,
        transaction_id="s2shape0001",
        payment_method="REFERENCE",
        state="awaiting_payment",
        amount=Decimal("16.2"),
        reference_entity="40200",
        reference_number="256309828",
        reference_status="UNPAID",
    )
    row = api(key).get("/api/v1/transactions").json()["results"][0]
    assert row["transaction_id"] == "s2shape0001"
    assert row["amount"] == "16.20" and row["currency"] == "EUR"
    assert row["store"] == {"id": world.lisboa.pk, "code": "lisboa", "name": "Lisboa"}
    assert row["terminal_id"] == world.t_lisboa.terminal_id
    assert row["reference"]["entity"] == "40200" and row["reference"]["status"] == "UNPAID"
    assert row["state"] == "awaiting_payment"
    assert row["created_at"].endswith("Z") or "+00:00" in row["created_at"]


def test_filters_and_search_are_those_of_the_page(world, key):
    make_txn(world, amount=Decimal("16.20"), payment_method="CARD", transaction_id="s2card")
    make_txn(world, amount=Decimal("16.20"), terminal=world.t_porto, transaction_id="s2porto")
    make_txn(world, amount=Decimal("3.00"), state="refunded", transaction_id="s2refunded")
    client = api(key)

    def found(**params):
        response = client.get("/api/v1/transactions", params)
        assert response.status_code == 200, response.content
        return sorted(r["transaction_id"] for r in response.json()["results"])

    assert found(q="16,20") == ["s2card", "s2porto"]
    assert found(q="16.20", store=world.porto.pk) == ["s2porto"]
    assert found(method="CARD") == ["s2card"]
    assert found(tab="refunded") == ["s2refunded"]
    assert found(status=["refunded", "paid"], amount_max="5") == ["s2refunded"]
    assert found(terminal=world.t_lisboa.terminal_id, period="today") == ["s2card", "s2refunded"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "tampered"}, "cursor"),
        ({"cursor": "A" * 3000}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "٣"}, "limit"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"amount_min": "-1"}, "amount_min"),
        ({"amount_max": "1e400"}, "amount_max"),
        ({"currency": "EU"}, "currency"),
        ({"method": "CASH"}, "method"),
        ({"status": ["paid", "<script>"]}, "status"),
        ({"tab": "all'--"}, "tab"),
        ({"store": "1 OR 1=1"}, "store"),
        ({"q": "z" * 101}, "q"),
        ({"q": "a\x00b"}, "q"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(world, key, params, field):
    error = assert_error(api(key).get("/api/v1/transactions", params), 400, "validation_error", field)
    assert error["code"] == "invalid"


def test_several_bad_parameters_are_reported_together(world, key):
    error = assert_error(
        api(key).get("/api/v1/transactions", {"cursor": "x", "limit": "x", "currency": "x"}),
        400,
        "validation_error",
        "cursor",
        "limit",
        "currency",
    )
    assert len(error["fields"]) == 3


def test_another_merchants_store_is_refused_like_one_that_does_not_exist(world, key):
    theirs = assert_error(
        api(key).get("/api/v1/transactions", {"store": world.outra_store.pk}), 400, "validation_error", "store"
    )
    missing = assert_error(api(key).get("/api/v1/transactions", {"store": 987654}), 400, "validation_error", "store")
    assert theirs["fields"]["store"][0].replace(str(world.outra_store.pk), "N") == missing["fields"]["store"][
        0
    ].replace("987654", "N")


def test_duplicate_parameters_collapse(world, key):
    make_txn(world, payment_method="CARD")
    response = api(key).get("/api/v1/transactions?method=CARD&method=CARD&method=CARD")
    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_a_store_limited_key_sees_only_its_stores(world):
    make_txn(world, transaction_id="s2lisboa")
    make_txn(world, terminal=world.t_porto, transaction_id="s2porto")
    client = api(key_for(world, stores=[world.porto]))
    rows = client.get("/api/v1/transactions").json()["results"]
    assert [r["transaction_id"] for r in rows] == ["s2porto"]
    assert client.get("/api/v1/transactions", {"q": "s2lisboa"}).json()["results"] == []
    assert_error(client.get("/api/v1/transactions/s2lisboa"), 404, "not_found")
    assert client.get("/api/v1/transactions/s2porto").status_code == 200
    assert_error(client.get("/api/v1/transactions", {"store": world.lisboa.pk}), 400, "validation_error", "store")


def test_another_merchants_transactions_do_not_exist(world):
    make_txn(world, terminal=world.t_outra, transaction_id="s2outra")
    client = api(key_for(world))
    assert client.get("/api/v1/transactions").json()["results"] == []
    assert_error(client.get("/api/v1/transactions/s2outra"), 404, "not_found")


def test_detail_has_the_events(world, key):
    txn = make_txn(world, transaction_id="s2detail")
    TransactionEvent.objects.create(
        transaction=txn,
        merchant=world.loja,
        kind=EventKind.NOTIFICATION,
        outcome=EventOutcome.APPLIED,
        payment_status="Success",
        payment_type="PURS",
        notification_id="n-1",
        amount=Decimal("10"),
        currency="EUR",
        payload={"secret": "not in the API"},
    )
    body = api(key).get("/api/v1/transactions/s2detail").json()
    assert body["transaction_id"] == "s2detail"
    assert [e["notification_id"] for e in body["events"]] == ["n-1"]
    assert body["events"][0]["kind"] == "notification" and "payload" not in body["events"][0]
    assert body["balances"]["captured"] == "0.00"


@pytest.mark.parametrize("tid", ["nope", "x" * 300, "a%00b", "%E2%80%AE"])
def test_unknown_or_hostile_ids_are_a_404(world, key, tid):
    assert_error(api(key).get(f"/api/v1/transactions/{tid}"), 404, "not_found")


def test_without_a_key_it_is_refused(world):
    assert_error(Client().get("/api/v1/transactions"), 401, "authentication_failed")
    assert_error(
        Client().get("/api/v1/transactions", HTTP_AUTHORIZATION="Bearer sbo_nope_nope"), 401, "authentication_failed"
    )


def test_a_signed_in_person_uses_their_membership(world, login):
    make_txn(world, terminal=world.t_porto, transaction_id="s2porto")
    make_txn(world, transaction_id="s2lisboa")
    rows = login(world.paula).get("/api/v1/transactions").json()["results"]
    assert [r["transaction_id"] for r in rows] == ["s2porto"]


def test_the_schema_documents_filters_cursor_and_shapes(db):
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    listing_op = schema["paths"]["/api/v1/transactions"]["get"]
    names = {p["name"] for p in listing_op["parameters"]}
    assert {"q", "period", "from", "to", "store", "terminal", "method", "type", "status"} <= names
    assert {"amount_min", "amount_max", "currency", "tab", "cursor", "limit"} <= names
    page = schema["components"]["schemas"]["TransactionPage"]["properties"]
    assert {"results", "next_cursor", "previous_cursor"} <= set(page)
    detail = schema["paths"]["/api/v1/transactions/{transaction_id}"]["get"]
    ref = detail["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/TransactionDetail")
    assert "events" in schema["components"]["schemas"]["TransactionDetail"]["properties"]


def test_a_page_costs_the_same_queries_for_3_rows_as_for_30(world, key):
    """No query per row: the list defers its large JSON columns, and nothing it shows needs them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(key)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/transactions", {"limit": 50}).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        make_txn(world, terminal=world.t_porto)
    queries()  # the first request also writes the session and the last merchant used
    few = queries()
    for _ in range(27):
        make_txn(world)
    assert queries() == few


def test_amounts_carry_their_currency_s_decimals_like_the_operations_api(world, key):
    make_txn(world, transaction_id="s2eur", amount=Decimal("16.2"), currency="EUR")
    make_txn(world, transaction_id="s2bhd", amount=Decimal("1.25"), currency="BHD")
    client = api(key)
    eur = client.get("/api/v1/transactions/s2eur").json()
    bhd = client.get("/api/v1/transactions/s2bhd").json()
    assert (eur["amount"], eur["balances"]["refunded"]) == ("16.20", "0.00")
    assert (bhd["amount"], bhd["balances"]["refunded"]) == ("1.250", "0.000")
