"""Inviting people and changing their access, from the Users page."""

from __future__ import annotations

import pytest
from django.core import mail

from backoffice.models import AuditEvent, Membership, User
from backoffice.roles import Role


def post_invite(client, **data):
    payload = {"email": "nina@loja.example", "full_name": "Nina", "role": "viewer", "language": "en"}
    payload.update(data)
    return client.post("/m/loja/users/", payload)


def test_owner_invites_and_the_audit_log_says_so(world, login, django_capture_on_commit_callbacks):
    client = login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_invite(client, stores=[world.lisboa.pk])
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="nina@loja.example")
    assert membership.role == Role.VIEWER and list(membership.stores.all()) == [world.lisboa]
    assert len(mail.outbox) == 1
    event = AuditEvent.objects.get(action="membership.invited")
    assert event.actor == world.alice and event.merchant == world.loja
    assert event.after == {"email": "nina@loja.example", "role": "viewer", "stores": [world.lisboa.pk]}
    assert event.ip_address == "127.0.0.1"


def test_administrator_cannot_make_owners(world, login):
    client = login(world.adam)
    response = post_invite(client, role="owner")
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["form"].errors["role"])
    assert not User.objects.filter(email="nina@loja.example").exists()


def test_administrator_cannot_change_an_owner(world, login):
    client = login(world.adam)
    # the edit page is not offered, and refused when asked for: the same rule as the write
    assert client.get(f"/m/loja/users/{world.m_alice.pk}/").status_code == 403
    response = client.post(f"/m/loja/users/{world.m_alice.pk}/", {"role": "viewer"})
    assert response.status_code == 403
    world.m_alice.refresh_from_db()
    assert world.m_alice.role == Role.OWNER


def test_nobody_changes_their_own_role(world, login):
    client = login(world.alice)
    response = client.post(f"/m/loja/users/{world.m_alice.pk}/remove/")
    assert response.status_code == 302
    world.m_alice.refresh_from_db()
    assert world.m_alice.is_active


def test_owners_demote_each_other_but_the_last_owner_stays(world, login):
    from django.core.exceptions import ValidationError

    from backoffice import services
    from backoffice.access import Access
    from backoffice.audit import Actor

    world.m_victor.role = Role.OWNER
    world.m_victor.save()
    client = login(world.alice)
    response = client.post(f"/m/loja/users/{world.m_victor.pk}/", {"role": "viewer"})
    assert response.status_code == 302
    world.m_victor.refresh_from_db()
    assert world.m_victor.role == Role.VIEWER
    # alice is now the only Owner; even platform staff cannot leave the merchant without one
    platform = Access(merchant=world.loja, role=Role.OWNER)
    with pytest.raises(ValidationError, match="at least one Owner"):
        services.membership_update(
            access=platform, actor=Actor(), membership=world.m_alice, role=Role.VIEWER, stores=[]
        )


def test_store_of_another_merchant_is_refused(world, login):
    client = login(world.alice)
    response = post_invite(client, stores=[world.outra_store.pk])
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["form"].errors["stores"])


def test_member_of_another_merchant_is_404_for_edit(world, login):
    client = login(world.alice)
    assert client.get(f"/m/loja/users/{world.m_mallory.pk}/").status_code == 404
    assert client.post(f"/m/loja/users/{world.m_mallory.pk}/remove/").status_code == 404


def test_duplicate_invitation_is_explained(world, login):
    client = login(world.alice)
    response = post_invite(client, email="victor@loja.example")
    assert response.status_code == 200
    assert "already a member of Loja" in str(response.context["form"].errors)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": "a" * 300 + "@x.pt"}, "email"),
        ({"email": "<script>@x.pt"}, "email"),
        ({"role": "superuser"}, "role"),
        ({"role": ""}, "role"),
        ({"stores": ["999999"]}, "stores"),
        ({"stores": ["abc"]}, "stores"),
        ({"language": "xx"}, "language"),
        ({"full_name": "n" * 151}, "full_name"),
    ],
)
def test_hostile_invitations_are_refused_with_a_reason(world, login, data, field):
    client = login(world.alice)
    response = post_invite(client, **data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert Membership.objects.filter(merchant=world.loja).count() == 7


def test_store_limited_manager_cannot_grant_other_stores(world, login):
    from backoffice.models import Membership as M

    lim = M.objects.create(user=world.mallory, merchant=world.loja, role=Role.ADMINISTRATOR)
    lim.stores.set([world.porto])
    client = login(world.mallory)
    response = post_invite(client, stores=[world.lisboa.pk])
    assert response.status_code == 200
    assert response.context["form"].errors["stores"]
    response = post_invite(client, stores=[])
    assert response.status_code == 200
    assert "Choose at least one of your stores" in str(response.context["form"]["stores"].help_text)


def test_resend_code_only_for_pending_people(world, login, django_capture_on_commit_callbacks):
    client = login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        post_invite(client)
    pending = Membership.objects.get(user__email="nina@loja.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/loja/users/{pending.pk}/resend-code/", follow=True)
    assert "A new activation code was sent" in response.content.decode()
    assert len(mail.outbox) == 2
    response = client.post(f"/m/loja/users/{world.m_bob.pk}/resend-code/", follow=True)
    assert "has already activated" in response.content.decode()
