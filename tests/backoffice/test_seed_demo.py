import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from backoffice.models import ApiKey, Membership, Merchant, Store, Terminal, User


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent(db):
    seed()
    counts = (
        Merchant.objects.count(),
        Store.objects.count(),
        Terminal.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )
    seed()
    assert counts == (1, 2, 4, 7, 7)
    assert (
        Merchant.objects.count(),
        Store.objects.count(),
        Terminal.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    ) == counts


def test_seed_demo_prints_one_user_per_role(db):
    output = seed()
    for role in ["owner", "administrator", "operator", "finance", "viewer", "qr_manager"]:
        assert role in output
    assert "Demo-Backoffice-2026" in output


def test_seed_demo_json_gives_a_working_owner_key(db):
    data = json.loads(seed("--json"))
    assert {u["role"] for u in data["users"]} >= {
        "owner",
        "administrator",
        "operator",
        "finance",
        "viewer",
        "qr_manager",
    }
    me = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {data['owner_api_key']}").json()
    assert me["role"] == "owner" and me["merchant"]["slug"] == "loja-demo"
    # a second run revokes the previous demo key: keys are shown only once
    second = json.loads(seed("--json"))
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {data['owner_api_key']}").status_code == 401
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {second['owner_api_key']}").status_code == 200
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 1


def test_seed_demo_refuses_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusing in production"):
        seed()


def test_seed_demo_prints_the_gateway_credential_as_a_table_not_a_python_dict(db):
    output = seed()
    assert "{'" not in output and "': " not in output
    assert "  gateway:" in output
    assert any(line.strip().startswith("api_root") and "/sandbox/api/v2" in line for line in output.splitlines())
