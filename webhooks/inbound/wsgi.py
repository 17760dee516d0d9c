"""A WSGI wrapper that sends inbound SIBS notifications straight to their view.

``backoffice.wsgi:application`` is the project's usual Django application wrapped with
:func:`with_inbound_fast_path`: a ``POST /hooks/sibs/<token>/`` skips the middleware stack and
URL resolution. None of the
middleware does anything for a machine-to-machine POST with no cookie (sessions, locale,
CSRF (exempt), authentication, messages, MFA, htmx, allauth, static files, clickjacking), but
together they cost about half a millisecond of CPU per request: on a 2-core machine that is
the difference between roughly 500 and 800 notifications a second per web process
(``make bench-ingest``). The view is the same function either way, so the behaviour is
identical: the Host is checked against ``ALLOWED_HOSTS`` and the answer carries the site's
security headers (``backoffice.security_headers``); what the fast path does not add is the
HTTPS redirect (which a POST cannot follow anyway; terminate TLS at the proxy).

``backoffice/wsgi.py`` wraps the project's application with :func:`with_inbound_fast_path`, so
every web process serves inbound notifications this way.
"""

from __future__ import annotations

import logging
import os

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

logger = logging.getLogger(__name__)

PREFIX = "/hooks/sibs/"


def with_inbound_fast_path(django_application):
    from backoffice import security_headers
    from webhooks.inbound.endpoint import server_error, sibs_inbound

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        token = path[len(PREFIX) :].removesuffix("/") if path.startswith(PREFIX) else ""
        if not token or "/" in token or environ.get("REQUEST_METHOD") != "POST":
            return django_application(environ, start_response)
        # What Django's handler does around a view: stale database connections are closed
        # before (request_started) and after (request_finished, sent by response.close()).
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        try:
            # ALLOWED_HOSTS and the site's security headers hold here as everywhere else.
            response = security_headers.host_refused(request) or sibs_inbound(request, token)
        except Exception:
            logger.exception("inbound notification failed on %s", path)
            response = server_error()
        response = security_headers.site_headers(request, response)
        response._handler_class = WSGIHandler
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response

    return application
