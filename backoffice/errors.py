"""The 403, 404 and 500 pages: in the person's language, inside the layout when signed in, with a
way back. The API keeps answering JSON (``backoffice.api.errors``)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

TEMPLATE = "errors/_page.html"
STANDALONE = "errors/500.html"


def _page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    body = loader.render_to_string(
        TEMPLATE, {"error_status": status, "error_title": title, "error_text": text}, request=request
    )
    return HttpResponse(body, status=status)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from backoffice.api.errors import json_forbidden

        return json_forbidden(request, exception)
    return _page(
        request,
        403,
        _("Not allowed"),
        _(
            "Your role does not allow this page or action. "
            "If you need it, ask an Owner or Administrator of this merchant."
        ),
    )


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from backoffice.api.errors import json_not_found

        return json_not_found(request, exception)
    return _page(
        request,
        404,
        _("Page not found"),
        _("There is nothing at this address, or it belongs to a merchant you do not have access to."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        from backoffice.api.errors import json_server_error

        return json_server_error(request)
    # Something failed: render without the database (no menu, no session), only the words.
    body = loader.render_to_string(STANDALONE, {"error_status": 500})
    return HttpResponse(body, status=500)


class ForbiddenWithoutTraceback(logging.Filter):
    """A refused request (403) is logged as one line: it is an expected answer, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
