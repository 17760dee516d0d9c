"""Reads of the export engine, always scoped by an Access.

Everyone with an export right sees the extracts and schedules they asked for; Owners and
Administrators of the whole merchant see everyone's. Another merchant's extract is a 404.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from backoffice.access import Access
from backoffice.roles import Capability
from extracts import registry
from extracts.models import Extract, ExtractSchedule
from extracts.services import can_see_all


def _require_some_export(access: Access) -> None:
    if not registry.exportable(access):
        access.require(Capability.EXPORT_TRANSACTIONS)


def extract_list(*, access: Access) -> QuerySet[Extract]:
    _require_some_export(access)
    qs = Extract.objects.filter(merchant=access.merchant).select_related("requested_by", "schedule")
    if not can_see_all(access):
        if access.api_key is not None:
            qs = qs.filter(api_key=access.api_key)
        else:
            # Their own, and those of schedules they receive (checked when the schedule was made
            # and at every run: allowed to see at least the owner's stores).
            qs = qs.filter(
                Q(requested_by=access.user, api_key__isnull=True) | Q(schedule__recipients=access.user)
            ).distinct()
    return qs.order_by("-created_at", "-pk")


def extract_get(*, access: Access, pk: int) -> Extract:
    return get_object_or_404(extract_list(access=access), pk=pk)


def schedule_list(*, access: Access) -> QuerySet[ExtractSchedule]:
    _require_some_export(access)
    qs = ExtractSchedule.objects.filter(merchant=access.merchant).select_related("owner")
    if not can_see_all(access):
        qs = qs.filter(owner=access.user)
    return qs.prefetch_related("recipients").order_by("name", "pk")


def schedule_get(*, access: Access, pk: int) -> ExtractSchedule:
    return get_object_or_404(schedule_list(access=access), pk=pk)
