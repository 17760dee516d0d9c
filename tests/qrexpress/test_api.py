"""The QR Code Express API: products, stock changes with Idempotency-Key, ledger, purchases."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Role
from backoffice.services import api_key_create
from qrexpress.models import StockEntry
from tests.qrexpress.support import apply_notification, make_product, purchase_notification

ROOT = "/api/v1/qr-express"


def _key(world, role=Role.QR_MANAGER, stores=()):
    _obj, plaintext = api_key_create(
        access=Access.for_membership(world.m_alice),
        actor=Actor(user=world.alice),
        name=f"k-{role}",
        role=role,
        stores=stores,
    )
    return {"Authorization": f"Bearer {plaintext}"}


def _post(headers, path, body, key="k-1"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    extra = {**headers, **({"Idempotency-Key": key} if key is not None else {})}
    return Client().post(f"{ROOT}{path}", data=data, content_type="application/json", headers=extra)


@pytest.fixture
def product(world):
    return make_product(world, units=10)


def test_products_ledger_and_purchases(world, product):
    headers = _key(world)
    apply_notification(world.loja, purchase_notification(quantity=2))
    products = Client().get(f"{ROOT}/products", headers=headers).json()
    assert products["results"][0]["stock_units"] == 8
    assert products["results"][0]["price"] == "1.50"
    assert products["results"][0]["sold_total"] == 2
    one = Client().get(f"{ROOT}/products/{product.pk}", headers=headers).json()
    assert one["qr_code_id"] == product.qr_code_id
    ledger = Client().get(f"{ROOT}/products/{product.pk}/ledger", headers=headers).json()["results"]
    assert [(e["source"], e["delta"], e["units_after"]) for e in ledger] == [("purchase", -2, 8), ("creation", 10, 10)]
    purchases = Client().get(f"{ROOT}/purchases?product={product.pk}", headers=headers).json()["results"]
    assert purchases[0]["quantity"] == 2 and purchases[0]["shipping_name"] == "Olga Rodrigues"
    # a Finance key sees purchases without personal data
    finance = Client().get(f"{ROOT}/purchases", headers=_key(world, Role.FINANCE)).json()["results"]
    assert "shipping_name" not in finance[0] and "billing_tin" not in finance[0]


def test_stock_change_with_idempotency_key(world, product):
    headers = _key(world)
    first = _post(headers, f"/products/{product.pk}/stock", {"operation": "remove", "units": 3, "reason": "broken"})
    assert first.status_code == 201, first.content
    assert first.json()["product"]["stock_units"] == 7
    assert first.json()["entry"]["source"] == "api"
    again = _post(headers, f"/products/{product.pk}/stock", {"operation": "remove", "units": 3, "reason": "broken"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["entry"]["id"] == first.json()["entry"]["id"]
    other = _post(headers, f"/products/{product.pk}/stock", {"operation": "remove", "units": 4})
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    product.refresh_from_db()
    assert product.stock_units == 7


@pytest.mark.parametrize(
    ("body", "key", "status", "code"),
    [
        ({"operation": "add", "units": 1}, None, 400, "idempotency_key_missing"),
        ({"operation": "add", "units": 1}, "   ", 400, "idempotency_key_missing"),
        ({"operation": "add", "units": 1}, "x" * 256, 400, "idempotency_key_invalid"),
        ({"operation": "steal", "units": 1}, "k", 400, "invalid_operation"),
        ({"operation": "add", "units": -1}, "k", 400, "invalid_units"),
        ({"operation": "add", "units": "1e9"}, "k", 400, "invalid_units"),
        ({"operation": "add", "units": 1.5}, "k", 400, "invalid_units"),
        ({"operation": "add"}, "k", 400, "invalid_units"),
        ({"operation": "add", "units": 1, "price": 0}, "k", 400, "unknown_field"),
        ({"operation": "add", "units": 1, "reason": ["x"]}, "k", 400, "invalid_reason"),
        ({"operation": "add", "units": 1, "reason": "x" * 201}, "k", 400, "invalid_reason"),
        ({"operation": "remove", "units": 11}, "k", 409, "not_enough_stock"),
        ([1, 2], "k", 400, "invalid_body"),
        ("{not json", "k", 400, "parse_error"),
    ],
)
def test_bad_stock_requests_get_clear_errors_and_change_nothing(world, product, body, key, status, code):
    response = _post(_key(world), f"/products/{product.pk}/stock", body, key=key)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code or error["type"] == code
    assert error["message"]
    product.refresh_from_db()
    assert product.stock_units == 10
    assert StockEntry.objects.count() == 1


def test_scoping_roles_and_other_merchants(world, product):
    porto_product = make_product(world, units=1, qr_code_id="PORTO-1", terminal=world.t_porto)
    # a key limited to Porto sees Porto only
    porto_key = _key(world, Role.QR_MANAGER, stores=[world.porto])
    listed = Client().get(f"{ROOT}/products", headers=porto_key).json()["results"]
    assert [p["id"] for p in listed] == [porto_product.pk]
    assert Client().get(f"{ROOT}/products/{product.pk}", headers=porto_key).status_code == 404
    assert _post(porto_key, f"/products/{product.pk}/stock", {"operation": "add", "units": 1}).status_code == 404
    # a Viewer key reads but cannot change stock
    viewer = _key(world, Role.VIEWER)
    assert Client().get(f"{ROOT}/products", headers=viewer).status_code == 200
    assert _post(viewer, f"/products/{product.pk}/stock", {"operation": "add", "units": 1}).status_code == 403
    # another merchant's key: the product does not exist
    outra_key = api_key_create(
        access=Access.for_membership(world.m_mallory), actor=Actor(user=world.mallory), name="o", role=Role.OWNER
    )[1]
    other = {"Authorization": f"Bearer {outra_key}"}
    assert Client().get(f"{ROOT}/products/{product.pk}", headers=other).status_code == 404
    assert Client().get(f"{ROOT}/products", headers=other).json()["results"] == []
    assert Client().get(f"{ROOT}/products").status_code in (401, 403)
    product.refresh_from_db()
    assert product.stock_units == 10


@pytest.mark.parametrize("query", ["limit=abc", "limit=201", "offset=-1", "status=ON"])
def test_bad_list_parameters_are_400(world, product, query):
    response = Client().get(f"{ROOT}/products?{query}", headers=_key(world))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation_error"


def test_the_schema_documents_the_endpoints(world, login):
    client = login(world.alice)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/qr-express/products",
        "/api/v1/qr-express/products/{id}/stock",
        "/api/v1/qr-express/purchases",
    ):
        assert path in text


def _create(headers, body, key="create-1"):
    return _post(headers, "/products", body, key=key)


def test_create_a_product_through_the_api_once(world):
    headers = _key(world)
    body = {
        "terminal_id": 11111,
        "qr_code_id": "API-1",
        "product_name": "Caneca",
        "description": "Caneca 33 cl",
        "price": "4.90",
        "initial_units": 7,
    }
    created = _create(headers, body)
    assert created.status_code == 201, created.content
    assert created.json()["stock_units"] == 7 and created.json()["price"] == "4.90"
    again = _create(headers, body)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == created.json()["id"]
    other = _create(headers, {**body, "price": "5.00"})
    assert other.status_code == 422
    duplicate = _create(headers, body, key="create-2")
    assert duplicate.status_code == 400
    assert "Another product already has this QR Code ID." in duplicate.json()["error"]["fields"]["qr_code_id"]
    assert StockEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"terminal_id": 33333}, "terminal_id"),  # another merchant's terminal
        ({"terminal_id": "abc"}, "terminal_id"),
        ({"description": "x" * 101}, "description"),
        ({"price": "0"}, "price"),
        ({"price": "1.005"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"expires_on": "2001-01-01"}, "expires_on"),
        ({"expires_on": "tomorrow"}, "expires_on"),
        ({"qr_code_id": "x" * 37}, "qr_code_id"),
        ({"qr_code_id": "has space"}, "qr_code_id"),
        ({"status": "ON"}, "status"),
        ({"initial_units": -1}, "initial_units"),
        ({"stock_units": 5}, "stock_units"),  # unknown: stock changes through the ledger only
    ],
)
def test_bad_products_are_refused_field_by_field(world, changes, field):
    body = {
        "terminal_id": 11111,
        "qr_code_id": "API-1",
        "product_name": "Caneca",
        "description": "Caneca",
        "price": "4.90",
        **changes,
    }
    response = _create(_key(world), body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not StockEntry.objects.exists()


def test_update_a_product_and_set_fulfilment_through_the_api(world, product):
    headers = _key(world)
    patched = Client().patch(
        f"{ROOT}/products/{product.pk}",
        data=json.dumps({"status": "SUS", "price": "2.00"}),
        content_type="application/json",
        headers=headers,
    )
    assert patched.status_code == 200, patched.content
    assert (patched.json()["status"], patched.json()["price"], patched.json()["stock_units"]) == ("SUS", "2.00", 10)
    refused = Client().patch(
        f"{ROOT}/products/{product.pk}",
        data=json.dumps({"stock_units": 99}),
        content_type="application/json",
        headers=headers,
    )
    assert refused.status_code == 400
    apply_notification(world.loja, purchase_notification())
    purchase_id = Client().get(f"{ROOT}/purchases", headers=headers).json()["results"][0]["id"]
    shipped = _post(headers, f"/purchases/{purchase_id}/fulfilment", {"state": "shipped", "note": "CTT"}, key=None)
    assert shipped.status_code == 200 and shipped.json()["fulfilment"] == "shipped"
    backwards = _post(headers, f"/purchases/{purchase_id}/fulfilment", {"state": "new"}, key=None)
    assert backwards.status_code == 409 and backwards.json()["error"]["code"] == "invalid_transition"
    bad = _post(headers, f"/purchases/{purchase_id}/fulfilment", {"state": "lost"}, key=None)
    assert bad.status_code == 400
    viewer = _post(_key(world, Role.VIEWER), f"/purchases/{purchase_id}/fulfilment", {"state": "delivered"}, key=None)
    assert viewer.status_code == 403
    assert _post(headers, "/purchases/999999/fulfilment", {"state": "shipped"}, key=None).status_code == 404
