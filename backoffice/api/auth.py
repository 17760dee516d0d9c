"""API authentication: per-merchant API keys (``Authorization: Bearer sbo_…``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from backoffice.access import Access, membership_for
from backoffice.models import ApiKey, Membership


class ApiKeyPrincipal:
    """Stands in for ``request.user`` when a key, not a person, calls the API."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        from backoffice.services import api_key_authenticate

        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed("The Authorization header has no key after 'Bearer'.")
        key = api_key_authenticate(token)
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        request._request.api_key = key
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "backoffice.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A merchant API key: `sbo_…`"}


def api_access(request: HttpRequest) -> Access:
    """The Access of an API call: the key's merchant and role, or the signed-in person's membership.

    A person with several merchants picks one with the ``X-Merchant`` header (the merchant's
    short name); without it their last-used merchant applies.
    """
    if isinstance(request.auth, ApiKey):
        return Access.for_api_key(request.auth)
    user = request.user
    slug = request.headers.get("X-Merchant", "").strip()
    if slug:
        try:
            return Access.for_membership(membership_for(user, slug))
        except Exception:  # Http404 from membership_for
            raise exceptions.NotFound("No such merchant.") from None
    membership = (
        Membership.objects.filter(user=user, is_active=True, merchant__is_active=True)
        .select_related("merchant", "user")
        .order_by("-merchant_id" if user.last_merchant_id is None else "merchant_id")
    )
    chosen = membership.filter(merchant_id=user.last_merchant_id).first() or membership.first()
    if chosen is None:
        raise exceptions.PermissionDenied("You are not a member of any merchant.")
    return Access.for_membership(chosen)


class DocsAccess(permissions.BasePermission):
    """The schema and its documentation page: anyone where ``API_DOCS_PUBLIC`` (development),
    otherwise a signed-in person or an API key."""

    def has_permission(self, request, view) -> bool:
        if settings.API_DOCS_PUBLIC:
            return True
        user = request.user
        return request.auth is not None or (user is not None and user.is_authenticated)
