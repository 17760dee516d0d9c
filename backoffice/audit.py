"""The audit log: every state-changing action, who did it, before and after, from where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from backoffice.models import ApiKey, AuditEvent, Merchant, User


@dataclass(frozen=True)
class Actor:
    """Whoever triggers a write: a person, an API key, or the system itself."""

    user: User | None = None
    api_key: ApiKey | None = None
    ip_address: str | None = None
    user_agent: str = ""

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.api_key is not None:
            return f"api-key:{self.api_key.prefix}"
        return "system"


SYSTEM = Actor()


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; X-Forwarded-For is only believed behind a trusted proxy."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def actor_from_request(request: HttpRequest) -> Actor:
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    api_key = getattr(getattr(request, "auth", None), "api_key", None) or getattr(request, "api_key", None)
    return Actor(
        user=user,
        api_key=api_key,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


def record(
    *,
    actor: Actor,
    action: str,
    merchant: Merchant | None = None,
    obj: Any = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        merchant=merchant,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        object_type=obj._meta.label_lower if obj is not None and hasattr(obj, "_meta") else "",
        object_id=str(getattr(obj, "pk", "") or "") if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        ip_address=actor.ip_address,
        user_agent=actor.user_agent,
    )


def change_once(
    *,
    queryset: QuerySet,
    update: dict,
    actor: Actor,
    action: str,
    merchant: Merchant | None,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> bool:
    """A conditional UPDATE audited only when it changed a row.

    For revoke/deactivate actions: the queryset carries the "still active" condition, so a
    double click or two people at once record one event, and the second is a no-op.
    """
    with transaction.atomic():
        changed = queryset.update(**update) > 0
        if changed:
            record(actor=actor, action=action, merchant=merchant, obj=obj, before=before, after=after)
    return changed
