from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from backoffice.models import Membership
from backoffice.navigation import SECTIONS


def shell(request) -> dict:
    """Navigation for the current merchant, the merchant switcher, and the language switch."""
    access = getattr(request, "access", None)
    context: dict = {"LANGUAGES_AVAILABLE": settings.LANGUAGES, "access": access}
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
