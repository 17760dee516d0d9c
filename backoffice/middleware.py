"""Request-level rules that hold for every page."""

from __future__ import annotations

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
