"""Which users must use a second factor."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.conf import settings

from backoffice.models import Membership, User


def mfa_required_for(user: User) -> bool:
    """Owners, Administrators and Operators (in any merchant) and platform staff need TOTP."""
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user=user, is_active=True, merchant__is_active=True, role__in=settings.MFA_REQUIRED_ROLES
    ).exists()


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
