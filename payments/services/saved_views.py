"""Saved views of the transaction list: create, rename, delete (audited).

Reads and the rules of who sees what are in :mod:`payments.selectors.saved_views`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from payments.models import SavedView
from payments.selectors import listing
from payments.selectors.saved_views import MAX_VIEWS_PER_PERSON, NAME_MAX_LENGTH, can_manage, require_person


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
    user = require_person(access)
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
    require_person(access)
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
    require_person(access)
    if not can_manage(access, view):
        raise PermissionDenied(_("Only the person who saved this view can delete it."))
    snapshot = {"name": view.name, "query": view.query, "shared": view.shared, "owner": view.owner.email}
    audit.record(actor=actor, action="saved_view.deleted", merchant=access.merchant, obj=view, before=snapshot)
    view.delete()
