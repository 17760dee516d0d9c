"""Account events from allauth and Django written to the audit log.

These are the security events of a person's own account (sign-in, password, second factor);
business writes are audited inside their services, not through signals.
"""

from __future__ import annotations

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from backoffice import audit
from backoffice.audit import Actor, client_ip
from backoffice.models import User


def _actor(request, user) -> Actor:
    if request is None:
        return Actor(user=user)
    return Actor(user=user, ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit.record(actor=_actor(request, user), action="user.logged_in", obj=user)


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(actor=_actor(request, user), action="user.logged_out", obj=user)


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    email = (credentials.get("email") or credentials.get("username") or "")[:254]
    user = User.objects.filter(email__iexact=email).first() if email else None
    actor = Actor(
        ip_address=client_ip(request) if request else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request else "",
    )
    audit.record(actor=actor, action="user.login_failed", obj=user, after={"email": email})


@receiver(account_signals.password_changed)
def _password_changed(sender, request, user, **kwargs):
    audit.record(actor=_actor(request, user), action="user.password_changed", obj=user)


@receiver(account_signals.password_reset)
def _password_reset(sender, request, user, **kwargs):
    # Proving control of the mailbox is the identity check PCI DSS 8.3.4 allows to end a lockout.
    User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    audit.record(actor=_actor(request, user), action="user.password_reset", obj=user)


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    audit.record(actor=_actor(request, user), action="mfa.added", obj=user, after={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    audit.record(actor=_actor(request, user), action="mfa.removed", obj=user, before={"type": authenticator.type})


@receiver(mfa_signals.authenticator_reset)
def _mfa_reset(sender, request, user, authenticator, **kwargs):
    audit.record(actor=_actor(request, user), action="mfa.reset", obj=user, after={"type": authenticator.type})
