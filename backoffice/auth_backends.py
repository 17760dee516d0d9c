"""Authentication that respects the lockout (PCI DSS v4 8.3.4)."""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend


class LockoutAwareBackend(AuthenticationBackend):
    """allauth's e-mail backend, refusing accounts that are locked after failed logins.

    The friendly "locked until" message is given earlier, by the account adapter; this is the
    backstop for any other caller of ``authenticate()``.
    """

    def user_can_authenticate(self, user) -> bool:
        from backoffice.services import user_is_locked

        return super().user_can_authenticate(user) and not user_is_locked(user)
