"""Reads of the core domain, always scoped by an Access."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from backoffice.access import Access
from backoffice.models import ApiKey, AuditEvent, Membership, Store
from backoffice.roles import Capability


def membership_list(*, access: Access) -> QuerySet[Membership]:
    access.require(Capability.MANAGE_USERS)
    qs = (
        Membership.objects.filter(merchant=access.merchant, is_active=True)
        .select_related("user")
        .prefetch_related(Prefetch("stores", queryset=Store.objects.order_by("name")))
        .order_by("user__email")
    )
    if access.is_store_limited:
        # A store-limited manager sees the people of their stores, not the whole merchant.
        qs = qs.filter(stores__in=access.store_ids).distinct()
    return qs


def membership_get(*, access: Access, pk: int) -> Membership:
    return get_object_or_404(membership_list(access=access), pk=pk)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_event_list(
    *, access: Access, actor: str = "", action: str = "", since: date | None = None, until: date | None = None
) -> QuerySet[AuditEvent]:
    access.require(Capability.VIEW_AUDIT)
    qs = AuditEvent.objects.filter(merchant=access.merchant).select_related("actor").order_by("-created_at", "-id")
    if actor:
        qs = qs.filter(Q(actor_label__icontains=actor) | Q(actor__full_name__icontains=actor))
    if action:
        qs = qs.filter(action__icontains=action)
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until and until < date.max:  # up to the last day there is: no "day after" to stop before
        qs = qs.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return qs


def api_key_list(*, access: Access) -> QuerySet[ApiKey]:
    access.require(Capability.MANAGE_API_KEYS)
    return ApiKey.objects.filter(merchant=access.merchant).prefetch_related("stores").order_by("-created_at")


def api_key_get(*, access: Access, pk: int) -> ApiKey:
    return get_object_or_404(api_key_list(access=access), pk=pk)


def store_list(*, access: Access) -> QuerySet[Store]:
    return access.scope(Store.objects.all(), store_field="pk").prefetch_related("terminals")
