"""Saved views of the transaction list: what a person may see and manage, scoped by an Access.

A saved view is a name and the list's query string (normalised: only valid filter parameters
are kept). Private views are seen by their owner only; shared ones by everyone in the merchant
who sees transactions. The owner renames and deletes their views; the people who manage the
team (``MANAGE_USERS``: Owners and Administrators) may also rename and delete shared ones.
Writes are in :mod:`payments.services.saved_views`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from backoffice.access import Access
from backoffice.roles import Capability
from payments.models import SavedView

NAME_MAX_LENGTH = 60
MAX_VIEWS_PER_PERSON = 50


def require_person(access: Access):
    access.require(Capability.VIEW_TRANSACTIONS)
    if access.user is None:
        raise PermissionDenied("Saved views belong to people, not API keys.")
    return access.user


def saved_view_list(*, access: Access) -> QuerySet[SavedView]:
    user = require_person(access)
    return (
        SavedView.objects.filter(merchant=access.merchant)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by(Lower("name"), "pk")
    )


def saved_view_get(*, access: Access, pk: int) -> SavedView:
    return get_object_or_404(saved_view_list(access=access), pk=pk)


def can_manage(access: Access, view: SavedView) -> bool:
    if access.user is None:
        return False
    return view.owner_id == access.user.pk or (view.shared and access.can(Capability.MANAGE_USERS))
