"""Request-level rules that hold for every page."""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from backoffice.mfa import has_totp, mfa_required_for

# Pages a user without the required second factor may still reach: setting it up, leaving,
# choosing a language, and the static assets those pages need.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/activate/", "/healthz")


class RequireMfaMiddleware:
    """Roles that move money or change configuration must set up TOTP before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        blocked = (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not self._satisfied(user)
        )
        if not blocked:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            from backoffice.api.errors import error_body

            return JsonResponse(
                error_body(
                    type_="permission_denied",
                    code="mfa_required",
                    message="Your role requires two-factor authentication; set it up first.",
                ),
                status=403,
            )
        return redirect(reverse("mfa_activate_totp") + "?required=1")

    def _satisfied(self, user) -> bool:
        # Checked on every request (two indexed lookups): a role granted a minute ago applies
        # now, and a removed authenticator is noticed at once.
        return not mfa_required_for(user) or has_totp(user)


# An unchanged session's row is rewritten (its expiry pushed back) at most this often, and at
# most every quarter of the idle timeout: a 60-second timeout must not become a fixed lifetime.
SESSION_TOUCH_SECONDS = 60


def session_touch_seconds() -> int:
    return max(1, min(SESSION_TOUCH_SECONDS, settings.SESSION_IDLE_TIMEOUT // 4))


_TOUCHED = "_touched_at"


def passive_request(view):
    """For endpoints an open page calls on its own (polls): not the person's activity.

    The session is not written, so its idle timeout keeps counting from the person's last action
    (PCI DSS 8.2.8): a list left open on a screen does not keep it alive, and once it has ended
    the poll is answered like any signed-out request and the page goes to the sign-in.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.session_passive = True
        return view(request, *args, **kwargs)

    return wrapper


def _keep_row(*args, **kwargs) -> None:
    return None


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware, with the idle timeout kept in one write a minute.

    ``SESSION_SAVE_EVERY_REQUEST`` makes every request rewrite the session row so that its expiry
    (``SESSION_COOKIE_AGE`` = the idle timeout) counts from the last request: one database commit
    per page, fragment and API call of a signed-in person. Here an unchanged session is rewritten
    only when its last write is :func:`session_touch_seconds` old (a minute, or a quarter of a
    shorter timeout), so the session ends between ``SESSION_IDLE_TIMEOUT`` minus that interval and
    ``SESSION_IDLE_TIMEOUT`` after the last request: never later than configured. Requests
    marked :func:`passive_request` never write it.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and settings.SESSION_SAVE_EVERY_REQUEST and not session.is_empty():
            now = int(time.time())
            touched = session.get(_TOUCHED)
            fresh = isinstance(touched, int) and 0 <= now - touched < session_touch_seconds()
            if not session.modified and (fresh or getattr(request, "session_passive", False)):
                session.save = _keep_row  # SessionMiddleware calls it below: the row stays as it is
            else:
                session[_TOUCHED] = now
        return super().process_response(request, response)


class LinkLanguageMiddleware:
    """``?lang=pt`` (or ``en``) on a link, as the e-mails write them: the page is shown in that
    language and the choice is remembered in the language cookie, as the language switch does.
    Anything else in ``lang`` is ignored."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        lang = request.GET.get("lang", "") if request.method == "GET" else ""
        if lang not in dict(settings.LANGUAGES):
            return self.get_response(request)
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response
