"""Who is acting, for which merchant, with what rights.

Every read and write a person or an API key triggers carries an ``Access``: the merchant, the
role and the stores it is limited to. Selectors cannot be called without one, so a view that
forgets to scope a query does not compile into a leak: it fails to call the selector at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from backoffice.models import ApiKey, Membership, Merchant, User
from backoffice.roles import Capability, Role, has_capability


@dataclass(frozen=True)
class Access:
    merchant: Merchant
    role: Role
    store_ids: frozenset[int] = field(default_factory=frozenset)
    user: User | None = None
    api_key: ApiKey | None = None

    @classmethod
    def for_membership(cls, membership: Membership) -> Access:
        return cls(
            merchant=membership.merchant,
            role=Role(membership.role),
            store_ids=membership.store_ids,
            user=membership.user,
        )

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> Access:
        return cls(
            merchant=api_key.merchant,
            role=Role(api_key.role),
            store_ids=frozenset(api_key.stores.values_list("id", flat=True)),
            api_key=api_key,
        )

    @property
    def is_store_limited(self) -> bool:
        return bool(self.store_ids)

    def can(self, capability: Capability) -> bool:
        return has_capability(self.role, capability)

    def require(self, capability: Capability) -> None:
        if not self.can(capability):
            raise PermissionDenied(f"Your role ({self.role.label}) does not allow this.")

    def scope(self, queryset: QuerySet, *, merchant_field: str = "merchant", store_field: str | None = "store"):
        """Limit a queryset to this merchant and, for store-limited access, to its stores."""
        qs = queryset.filter(**{merchant_field: self.merchant})
        if self.store_ids and store_field is not None:
            qs = qs.filter(Q(**{f"{store_field}__in": self.store_ids}))
        return qs

    def allows_store(self, store_id: int | None) -> bool:
        return not self.store_ids or store_id in self.store_ids


def membership_for(user: User, merchant_slug: str) -> Membership:
    """The user's active membership in that merchant, or 404: another merchant does not exist."""
    try:
        return (
            Membership.objects.select_related("merchant", "user")
            .prefetch_related("stores")
            .get(user=user, merchant__slug=merchant_slug, is_active=True, merchant__is_active=True)
        )
    except Membership.DoesNotExist:
        raise Http404("No such merchant") from None


def merchant_view(capability: Capability | None = None):
    """Decorate a view taking ``merchant`` (a slug) so it receives ``request.access``.

    Another merchant's slug is a 404; a capability the role lacks is a 403.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, merchant: str, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                if getattr(request, "htmx", False):
                    # A fragment an open page asked for (a poll, a filter): the session has ended,
                    # so reload the whole page, which leads to the sign-in, instead of swapping the
                    # sign-in form into the fragment.
                    from django_htmx.http import HttpResponseClientRefresh

                    return HttpResponseClientRefresh()
                return redirect_to_login(request.get_full_path())
            membership = membership_for(request.user, merchant)
            request.access = Access.for_membership(membership)
            if capability is not None:
                request.access.require(capability)
            if request.user.last_merchant_id != membership.merchant_id:
                User.objects.filter(pk=request.user.pk).update(last_merchant=membership.merchant)
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability
        return wrapper

    return decorate
