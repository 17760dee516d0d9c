"""Money moves only after the person confirms with their password, as in SIBS's Backoffice.

A missing or wrong password is refused and audited; after ``PASSWORD_ATTEMPTS`` wrong ones within
``PASSWORD_WINDOW`` every attempt is refused until the window has passed. The pages and the API
both ask through :func:`password_confirm`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.models import AuditEvent

PASSWORD_ATTEMPTS = 5
PASSWORD_WINDOW = timedelta(minutes=15)
PASSWORD_FAILED = "payment.password_failed"  # noqa: S105 - an audit action name


class PasswordRefused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def password_confirm(*, user, password: Any, actor: audit.Actor, merchant, purpose: str, obj=None) -> None:
    """The person confirms money moving with their password, as in SIBS's Backoffice. A missing
    or wrong password is refused and audited; after ``PASSWORD_ATTEMPTS`` wrong ones within
    ``PASSWORD_WINDOW`` every attempt is refused until the window has passed. Raises
    :class:`PasswordRefused` (with the HTTP status to answer)."""
    since = timezone.now() - PASSWORD_WINDOW
    failures = AuditEvent.objects.filter(actor=user, action=PASSWORD_FAILED, created_at__gte=since).count()
    if failures >= PASSWORD_ATTEMPTS:
        raise PasswordRefused(
            _("Too many wrong passwords: nothing was done. Try again in %(minutes)s minutes.")
            % {"minutes": int(PASSWORD_WINDOW.total_seconds() // 60)},
            429,
        )
    if isinstance(password, str) and password and user.check_password(password):
        return
    audit.record(
        actor=actor,
        action=PASSWORD_FAILED,
        merchant=merchant,
        obj=obj,
        after={"purpose": purpose, "attempt": failures + 1, "empty": not password},
    )
    raise PasswordRefused(_("Nothing was done: the password is not correct."), 403)
