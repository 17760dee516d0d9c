"""The audit log is append-only and browsable by Owners and Administrators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backoffice import audit
from backoffice.audit import Actor
from backoffice.models import AuditEvent


def test_events_cannot_be_changed_or_deleted(world):
    event = audit.record(actor=Actor(user=world.alice), action="test.thing", merchant=world.loja)
    event.action = "something.else"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.thing"


def test_owner_filters_by_actor_action_and_date(world, login):
    now = timezone.now()
    audit.record(actor=Actor(user=world.bob), action="payment.refunded", merchant=world.loja)
    audit.record(actor=Actor(user=world.alice), action="membership.invited", merchant=world.loja)
    old = audit.record(actor=Actor(user=world.alice), action="membership.removed", merchant=world.loja)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    audit.record(actor=Actor(user=world.mallory), action="membership.invited", merchant=world.outra)
    client = login(world.alice)

    def actions(**query):
        response = client.get("/m/loja/audit/", query)
        assert response.status_code == 200
        return [e.action for e in response.context["page"]]

    assert actions(actor="bob@") == ["payment.refunded"]
    assert actions(action="membership") == ["membership.invited", "membership.removed"]
    assert actions(action="membership", since=(now - timedelta(days=2)).date().isoformat()) == ["membership.invited"]
    # another merchant's events never show
    assert "mallory" not in client.get("/m/loja/audit/").content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"since": "not-a-date"},
        {"since": "2026-02-30"},
        {"since": "2026-05-01", "until": "2026-04-01"},
        {"actor": "x" * 1000},
        {"page": "-1"},
        {"page": "abc"},
    ],
)
def test_bad_filters_do_not_break_the_page(world, login, query):
    client = login(world.alice)
    response = client.get("/m/loja/audit/", query)
    assert response.status_code == 200


def test_viewer_cannot_read_the_audit_log(world, login):
    assert login(world.victor).get("/m/loja/audit/").status_code == 403
