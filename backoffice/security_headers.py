"""Response headers every answer gets, the inbound fast path included (see ``apply``).

* ``Permissions-Policy``: no camera, microphone, geolocation, payment request, USB or motion
  sensors for any page (the backoffice uses none, so an injected frame or script cannot ask).
* ``Cache-Control: no-store`` on every answer to a signed-in person or an API key: the pages and
  the API hold customer and money data, which must not stay in a browser's or proxy's cache.
  An answer that already says how to cache itself (static files, ``never_cache``) keeps its word.
* ``Server``: the web server (Granian) names itself when the application does not; the answer
  names only the application, so nothing tells a scanner which software and version to try.

The Content-Security-Policy comes from django-csp (``CONTENT_SECURITY_POLICY`` in settings).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SERVER_NAME = "backoffice"


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return True
    return getattr(request, "api_key", None) is not None


def apply(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
    response["Server"] = SERVER_NAME
    if _signed_in(request) and "Cache-Control" not in response:
        response["Cache-Control"] = "no-store"
    return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return apply(request, self.get_response(request))


def _never_called(request):  # the middlewares below are used for their process_response only
    raise AssertionError("not a middleware chain")


def site_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Every header the middleware stack would add (HSTS, nosniff, referrer and opener
    policies, frame options, CSP, and :func:`apply`'s), for answers made outside it (the
    inbound fast path)."""
    from csp.middleware import CSPMiddleware
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    response = XFrameOptionsMiddleware(_never_called).process_response(request, response)
    response = CSPMiddleware(_never_called).process_response(request, response)
    response = SecurityMiddleware(_never_called).process_response(request, response)
    return apply(request, response)


def host_refused(request: HttpRequest) -> HttpResponse | None:
    """A 400 when the request's Host is not in ``ALLOWED_HOSTS`` (as Django answers), else None."""
    import logging

    from django.core.exceptions import DisallowedHost
    from django.http import JsonResponse

    try:
        request.get_host()
    except DisallowedHost as error:
        logging.getLogger("django.security.DisallowedHost").warning("%s", error)
        from backoffice.api.errors import error_body

        body = error_body(type_="bad_request", code="disallowed_host", message="This host is not served here.")
        return JsonResponse(body, status=400)
    return None
