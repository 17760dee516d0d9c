from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from backoffice.access import Access
from backoffice.mfa import mfa_required_for
from backoffice.models import Membership, User
from backoffice.navigation import SECTIONS


def _home_access(request) -> Access | None:
    """Pages outside a merchant (account, second factor, error pages) keep the menu of the
    person's first merchant, so there is always a way back."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not isinstance(user, User):
        return None  # nobody signed in, or an API key (the API's schema and docs pages)
    membership = (
        Membership.objects.filter(user=user, is_active=True, merchant__is_active=True)
        .select_related("merchant", "user")
        .order_by("merchant__name")
        .first()
    )
    return Access.for_membership(membership) if membership else None


def shell(request) -> dict:
    """Navigation for the current merchant, the merchant switcher, and the language switch."""
    access = getattr(request, "access", None)
    if access is None:
        access = _home_access(request)
    context: dict = {"LANGUAGES_AVAILABLE": settings.LANGUAGES, "access": access}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Asked only by the pages that offer to remove the second factor (one query, then).
        context["mfa_required"] = SimpleLazyObject(lambda: mfa_required_for(user))
    if access is None or access.user is None:
        return context
    slug = access.merchant.slug
    context["nav"] = [
        {
            "key": s.key,
            "label": s.label,
            "url": reverse(s.url_name, kwargs={"merchant": slug}),
            "count": import_string(s.count)(access) if s.count else 0,
        }
        for s in SECTIONS
        if access.can(s.capability)
    ]
    context["switchable_memberships"] = list(
        Membership.objects.filter(user=access.user, is_active=True, merchant__is_active=True)
        .select_related("merchant")
        .order_by("merchant__name")
    )
    return context
