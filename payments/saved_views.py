"""Saved views of the transaction list: reads and writes, scoped by an Access.

A saved view is a name and the list's query string (normalised: only valid filter parameters
are kept). Private views are seen by their owner only; shared ones by everyone in the merchant
who sees transactions. The owner renames and deletes their views; the people who manage the
team (``MANAGE_USERS``: Owners and Administrators) may also rename and delete shared ones.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Capability
from payments import listing
from payments.models import SavedView

NAME_MAX_LENGTH = 60
MAX_VIEWS_PER_PERSON = 50


def _person(access: Access):
    access.require(Capability.VIEW_TRANSACTIONS)
    if access.user is None:
        raise PermissionDenied("Saved views belong to people, not API keys.")
    return access.user


def saved_view_list(*, access: Access) -> QuerySet[SavedView]:
    user = _person(access)
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


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [_("At most %(n)d characters.") % {"n": NAME_MAX_LENGTH}]})
    if not name.isprintable():
        raise ValidationError({"name": [_("The name has characters that cannot be shown.")]})
    return name


def _taken(access: Access, name: str, *, exclude: int | None = None) -> bool:
    qs = SavedView.objects.filter(merchant=access.merchant, owner=access.user, name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _duplicate() -> ValidationError:
    return ValidationError({"name": [_("You already have a view with this name.")]})


def saved_view_create(*, access: Access, actor: Actor, name: str, query: str, shared: bool) -> SavedView:
    user = _person(access)
    name = _clean_name(name)
    query, _errors = listing.normalise_query(query or "", access=access)
    if len(query) > 2000:
        raise ValidationError({"query": [_("These filters are too long to save.")]})
    if SavedView.objects.filter(merchant=access.merchant, owner=user).count() >= MAX_VIEWS_PER_PERSON:
        raise ValidationError({"name": [_("You have reached %(n)d saved views.") % {"n": MAX_VIEWS_PER_PERSON}]})
    if _taken(access, name):
        raise _duplicate()
    now = timezone.now()
    try:
        with transaction.atomic():
            view = SavedView.objects.create(
                merchant=access.merchant,
                owner=user,
                name=name,
                query=query,
                shared=bool(shared),
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # the same name saved twice at once
        raise _duplicate() from None
    audit.record(
        actor=actor,
        action="saved_view.created",
        merchant=access.merchant,
        obj=view,
        after={"name": name, "query": query, "shared": view.shared},
    )
    return view


def saved_view_rename(*, access: Access, actor: Actor, view: SavedView, name: str) -> SavedView:
    _person(access)
    if not can_manage(access, view):
        raise PermissionDenied(_("Only the person who saved this view can change it."))
    name = _clean_name(name)
    if name == view.name:
        return view
    if view.owner_id == access.user.pk and _taken(access, name, exclude=view.pk):
        raise _duplicate()
    before = view.name
    try:
        with transaction.atomic():
            view.name, view.updated_at = name, timezone.now()
            view.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        view.name = before
        raise _duplicate() from None
    audit.record(
        actor=actor,
        action="saved_view.renamed",
        merchant=access.merchant,
        obj=view,
        before={"name": before},
        after={"name": name},
    )
    return view


def saved_view_delete(*, access: Access, actor: Actor, view: SavedView) -> None:
    _person(access)
    if not can_manage(access, view):
        raise PermissionDenied(_("Only the person who saved this view can delete it."))
    snapshot = {"name": view.name, "query": view.query, "shared": view.shared, "owner": view.owner.email}
    audit.record(actor=actor, action="saved_view.deleted", merchant=access.merchant, obj=view, before=snapshot)
    view.delete()
