"""The audit log: every state-changing action, who did it, before and after, from where."""

from __future__ import annotations

import ipaddress
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
    """The client's address, for the audit log and the sign-in rate limits alike.

    X-Forwarded-For is read only through ``TRUSTED_PROXY_COUNT`` proxies: each appends the
    address it got the request from, so the client is that many entries from the right; entries
    further left are whatever the client wrote. Without the setting, the connection's address.
    """
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count > 0:
        entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        entries = [entry for entry in entries if entry]
        if len(entries) >= count:
            return _clean_ip(entries[-count])
    return _clean_ip(request.META.get("REMOTE_ADDR") or "")


def _clean_ip(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


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
