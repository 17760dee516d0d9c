"""The API's keys, its one error format, and its documentation served without a CDN."""

from __future__ import annotations

import pytest
from django.test import Client

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import ApiKey
from backoffice.roles import Role


@pytest.fixture
def owner_key(world):
    _, plaintext = services.api_key_create(
        access=Access.for_membership(world.m_alice), actor=Actor(user=world.alice), name="e-shop", role=Role.VIEWER
    )
    return plaintext


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def assert_error(response, status, type_, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "code", "message", "fields"}
    assert body["error"]["type"] == type_
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_key_is_shown_once_and_stored_hashed(world, owner_key):
    key = ApiKey.objects.get(name="e-shop")
    assert owner_key.startswith(f"sbo_{key.prefix}_")
    assert owner_key not in key.key_hash and len(key.key_hash) == 64


def test_key_authenticates_with_its_role(world, owner_key):
    body = Client().get("/api/v1/me", **bearer(owner_key)).json()
    assert body["merchant"]["slug"] == "loja"
    assert body["role"] == "viewer"
    assert "manage_users" not in body["capabilities"]
    assert body["principal"].startswith("api-key:")


def test_revoked_key_is_refused(world, owner_key):
    key = ApiKey.objects.get(name="e-shop")
    services.api_key_revoke(access=Access.for_membership(world.m_alice), actor=Actor(user=world.alice), key=key)
    error = assert_error(Client().get("/api/v1/me", **bearer(owner_key)), 401, "authentication_failed")
    assert "revoked" in error["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ",
        "Bearer sbo_nothing_here",
        "Bearer sbo_%s_tampered",
        "Bearer " + "x" * 5000,
        "Bearer sbo_' OR 1=1 --_x",
    ],
)
def test_bad_keys_are_401_in_the_error_format(world, owner_key, header):
    prefix = ApiKey.objects.get(name="e-shop").prefix
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header.replace("%s", prefix))
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401(db):
    assert_error(Client().get("/api/v1/me"), 401, "authentication_failed")


def test_unknown_api_path_is_json_404(db):
    assert_error(Client().get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_in_the_error_format(world, owner_key):
    assert_error(Client().post("/api/v1/me", **bearer(owner_key)), 405, "method_not_allowed")


def test_malformed_json_is_a_parse_error(world, owner_key):
    response = Client().post("/api/v1/me", data="{not json", content_type="application/json", **bearer(owner_key))
    assert response.status_code in {400, 405}
    assert response.json()["error"]["type"] in {"parse_error", "method_not_allowed"}


def test_person_picks_a_merchant_with_a_header(world, login):
    from backoffice.models import Membership

    Membership.objects.create(user=world.victor, merchant=world.outra, role=Role.FINANCE)
    client = login(world.victor)
    assert client.get("/api/v1/me", HTTP_X_MERCHANT="outra").json()["role"] == "finance"
    assert client.get("/api/v1/me", HTTP_X_MERCHANT="loja").json()["role"] == "viewer"


def test_person_cannot_pick_a_merchant_they_do_not_belong_to(world, login):
    client = login(world.victor)
    assert_error(client.get("/api/v1/me", HTTP_X_MERCHANT="outra"), 404, "not_found")


def test_store_limited_key(world):
    access = Access.for_membership(world.m_alice)
    _, plaintext = services.api_key_create(
        access=access, actor=Actor(user=world.alice), name="porto", role=Role.VIEWER, stores=[world.porto]
    )
    stores = Client().get("/api/v1/stores", **bearer(plaintext)).json()
    assert [s["code"] for s in stores] == ["porto"]


def test_openapi_schema_and_swagger_are_served_locally(db):
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/me" in paths and "/api/v1/stores" in paths
    docs = Client().get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


def test_api_keys_page_shows_a_new_key_once(world, login):
    client = login(world.alice)
    response = client.post("/m/loja/api-keys/", {"name": "ERP", "role": "finance"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plaintext = response.context["created"]["plaintext"]
    assert plaintext in response.content.decode()
    again = client.get("/m/loja/api-keys/").content.decode()
    assert plaintext not in again
    assert Client().get("/api/v1/me", **bearer(plaintext)).json()["role"] == "finance"


def test_administrator_cannot_mint_an_owner_key(world, login):
    client = login(world.adam)
    response = client.post("/m/loja/api-keys/", {"name": "x", "role": "owner"})
    assert response.context["form"].errors["role"]
    assert not ApiKey.objects.exists()


def test_viewer_cannot_reach_api_keys(world, login):
    client = login(world.victor)
    assert client.get("/m/loja/api-keys/").status_code == 403
    assert client.post("/m/loja/api-keys/", {"name": "x", "role": "viewer"}).status_code == 403
    assert not ApiKey.objects.exists()
