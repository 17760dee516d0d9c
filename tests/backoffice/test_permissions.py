"""The permission matrix, enforced on the server for every page and API call."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from backoffice.navigation import SECTIONS
from backoffice.roles import MATRIX, Capability, Role, matrix_markdown

ROLES = ["owner", "administrator", "operator", "finance", "viewer", "qr_manager"]


def expected_status(role: str, capability: Capability) -> int:
    return 200 if capability in MATRIX[Role(role)] else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.key)
def test_every_section_follows_the_matrix(world, login, role, section):
    client = login(world.by_role(role))
    response = client.get(reverse(section.url_name, kwargs={"merchant": "loja"}))
    assert response.status_code == expected_status(role, section.capability)


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_exactly_the_allowed_sections(world, login, role):
    client = login(world.by_role(role))
    response = client.get("/m/loja/transactions/")
    shown = {item["key"] for item in response.context["nav"]}
    assert shown == {s.key for s in SECTIONS if s.capability in MATRIX[Role(role)]}


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.key)
def test_another_merchants_sections_do_not_exist(world, login, section):
    client = login(world.mallory)
    response = client.get(reverse(section.url_name, kwargs={"merchant": "loja"}))
    assert response.status_code == 404


def test_a_removed_member_loses_access_at_once(world, login):
    client = login(world.victor)
    assert client.get("/m/loja/transactions/").status_code == 200
    world.m_victor.is_active = False
    world.m_victor.save()
    assert client.get("/m/loja/transactions/").status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/m/loja/transactions/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/m/loja/transactions/")


def test_store_limited_operator_sees_only_their_store_in_the_api(world, login):
    client = login(world.paula)
    stores = client.get("/api/v1/stores").json()
    assert [s["code"] for s in stores] == ["porto"]
    assert stores[0]["terminals"] == [{"terminal_id": 22222, "name": "T22222"}]
    assert client.get("/api/v1/me").json()["store_ids"] == [world.porto.pk]


def test_owner_sees_every_store(world, login):
    client = login(world.alice)
    stores = client.get("/api/v1/stores").json()
    assert sorted(s["code"] for s in stores) == ["lisboa", "porto"]


def test_docs_match_the_matrix():
    path = Path(settings.BASE_DIR) / "docs" / "permissions.md"
    assert path.read_text() == matrix_markdown(), "run `make permissions` to regenerate docs/permissions.md"


def test_only_owner_and_administrator_manage_users_and_configuration():
    managers = {r for r in Role if Capability.MANAGE_USERS in MATRIX[r]}
    assert managers == {Role.OWNER, Role.ADMINISTRATOR}
    movers = {r for r in Role if Capability.OPERATE_PAYMENTS in MATRIX[r]}
    assert movers == {Role.OWNER, Role.ADMINISTRATOR, Role.OPERATOR}
    assert movers <= set(settings.MFA_REQUIRED_ROLES) | {Role.OWNER, Role.ADMINISTRATOR, Role.OPERATOR}
