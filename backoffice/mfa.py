"""Which users must use a second factor, and the second-factor step of signing in."""

from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core import context, ratelimit
from allauth.core.internal import ratelimit as ratelimit_impl
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.forms import AuthenticateForm
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


class LockoutAwareAuthenticateForm(AuthenticateForm):
    """The second-factor step of signing in, counted into the same lockout as passwords.

    allauth's own form limits codes through its cache only, and a right code clears that
    counter for the whole client address. Here a locked account is refused whatever the code,
    every wrong code counts as a failed sign-in of the account (the tenth locks it for
    ``LOGIN_LOCKOUT_MINUTES``), the cache limit is per account (as many codes as the lockout allows) and
    per address, and a right code clears only the account's own cache counter.
    """

    def clean_code(self) -> str:
        from backoffice.adapters import locked_error
        from backoffice.services import login_failure_record, user_is_locked

        user = self.user
        if user_is_locked(user):
            raise locked_error(user)
        request = context.request
        key = f"mfa-auth-user-{user.pk}"
        if not ratelimit.consume(request, action="login_failed", key=key):
            raise get_account_adapter().validation_error("too_many_login_attempts")
        code = self.cleaned_data["code"]
        for authenticator in Authenticator.objects.filter(user=user).exclude(type=Authenticator.Type.WEBAUTHN):
            if authenticator.wrap().validate_code(code):
                authenticator.user = user
                self.authenticator = authenticator
                ratelimit_impl.clear(
                    request, app="allauth.account", action="login_failed", key=key, config=_account_only()
                )
                return code
        main = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if main is not None:
            self._emit_authentication_failed(main)
        login_failure_record(email=user.email)
        user.refresh_from_db(fields=["locked_until"])
        if user_is_locked(user):
            raise locked_error(user)
        raise get_mfa_adapter().validation_error("incorrect_code")


def _account_only() -> dict[str, str]:
    """The per-account part of the login_failed limit, so clearing it leaves the address's count."""
    rates = [rate for rate in settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",") if rate.endswith("/key")]
    return {"login_failed": ",".join(rates)}
