"""Platform staff create merchants and their first Owner in the Django admin."""

from __future__ import annotations

import re

from django.core import mail

from backoffice.models import AuditEvent, Membership, Merchant
from tests.factories import make_user


def staff(login):
    user = make_user("ops@platform.example", "Platform Ops")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return login(user)


def test_staff_creates_a_merchant_and_its_owner_receives_a_code(world, login, django_capture_on_commit_callbacks):
    client = staff(login)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/backoffice/merchant/add/",
            {
                "name": "Pastelaria Belém",
                "slug": "pastelaria-belem",
                "legal_name": "Pastelaria Belém, Lda.",
                "nif": "501964843",
                "language": "pt",
                "owner_email": "dona@pastelaria.example",
            },
        )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    merchant = Merchant.objects.get(slug="pastelaria-belem")
    owner = Membership.objects.get(merchant=merchant)
    assert owner.role == "owner" and owner.user.email == "dona@pastelaria.example"
    assert re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", mail.outbox[0].body)
    assert AuditEvent.objects.filter(action="merchant.created", merchant=merchant).exists()


def test_invalid_nif_is_refused(world, login):
    client = staff(login)
    response = client.post(
        "/admin/backoffice/merchant/add/",
        {
            "name": "X",
            "slug": "x",
            "legal_name": "X, Lda.",
            "nif": "123456780",
            "language": "pt",
            "owner_email": "a@b.example",
        },
    )
    assert response.status_code == 200
    assert "check digit" in str(response.context["adminform"].form.errors)
    assert not Merchant.objects.filter(slug="x").exists()


def test_admin_login_goes_through_the_backoffice_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_reset_sends_a_link(client, world):
    response = client.post("/accounts/password/reset/", {"email": "victor@loja.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_password_reset_for_unknown_address_reveals_nothing(client, world):
    response = client.post("/accounts/password/reset/", {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
