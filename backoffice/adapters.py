"""allauth adapters: invitation-only accounts, lockout, mandatory second factor."""

from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from backoffice.models import User


def _credential_email(credentials: dict) -> str:
    return (credentials.get("email") or credentials.get("username") or "").strip()


def locked_error(user: User) -> forms.ValidationError:
    until = formats.time_format(timezone.localtime(user.locked_until), "H:i")
    return forms.ValidationError(
        _(
            "Too many failed sign-in attempts: this account is locked until %(time)s. "
            "Reset your password to unlock it now."
        )
        % {"time": until},
        code="locked",
    )


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # People join by invitation and activation code only.
        return False

    def pre_authenticate(self, request, **credentials) -> None:
        from backoffice.services import user_is_locked

        email = _credential_email(credentials)
        user = User.objects.filter(email__iexact=email).only("locked_until").first() if email else None
        if user is not None and user_is_locked(user):
            raise locked_error(user)
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request, **credentials) -> None:
        from backoffice.services import login_failure_record

        login_failure_record(email=_credential_email(credentials))
        super().authentication_failed(request, **credentials)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A sign-in of the last few minutes counts as a reauthentication.

        Otherwise an Owner made to set up TOTP right after signing in (or activating) would
        be asked for the password they have just typed.
        """
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        from allauth.account import app_settings
        from allauth.account.internal.flows.login import get_authentication_records
        from allauth.core import context

        request = context.request
        if request is None or not request.user.is_authenticated:
            return True
        records = get_authentication_records(request, request.user)
        return not (records and time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT)

    def send_mail(self, template_prefix, email, context) -> None:
        """allauth's e-mails (password reset…) in the person's language, signed with the product
        name and the public address rather than the host the request came in on."""
        from django.conf import settings
        from django.utils import translation

        user = User.objects.filter(email__iexact=email).only("language").first()
        language = (user.language if user is not None and user.language else None) or translation.get_language()
        context = {**context, "product_name": "SIBS Backoffice", "site_url": settings.SITE_URL}
        with translation.override(language):
            super().send_mail(template_prefix, email, context)

    def get_client_ip(self, request) -> str:
        # One rule for the client address (TRUSTED_PROXY_COUNT), shared with the audit log.
        from django.core.exceptions import PermissionDenied

        from backoffice.audit import client_ip

        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address")
        return ip

    def login(self, request, user) -> None:
        from backoffice.services import login_success_reset

        login_success_reset(user=user)
        super().login(request, user)


class MFAAdapter(DefaultMFAAdapter):
    # TOTP secrets are encrypted at rest with the installation's key, like every other secret.
    def encrypt(self, text: str) -> str:
        from backoffice.crypto import encrypt_secret

        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        from backoffice.crypto import decrypt_secret

        return decrypt_secret(encrypted_text)

    def can_delete_authenticator(self, authenticator) -> bool:
        """A user whose role requires a second factor cannot switch it off."""
        from backoffice.mfa import mfa_required_for

        if authenticator.type == authenticator.Type.TOTP and mfa_required_for(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
