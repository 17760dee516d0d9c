"""One error contract for the whole API.

Every error, whatever raised it, is::

    {"error": {"type": "validation_error", "code": "invalid", "message": "…", "fields": {"amount": ["…"]}}}

``type`` is stable and coarse (what a client switches on), ``code`` is finer, ``message`` is for
people, ``fields`` maps input fields to their problems (empty when none).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

_TYPES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def error_body(*, type_: str, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"type": type_, "code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> list[str]:
    if isinstance(detail, list):
        return [str(item) for sub in detail for item in _flatten(sub)]
    if isinstance(detail, dict):
        return [str(item) for sub in detail.values() for item in _flatten(sub)]
    return [str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: the 500 handler answers, in the same shape
    type_ = next((t for cls, t in _TYPES.items() if isinstance(exc, cls)), "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    fields: dict = {}
    if isinstance(detail, dict):
        fields = {key: _flatten(value) for key, value in detail.items() if key != "non_field_errors"}
        general = _flatten(detail.get("non_field_errors", []))
        message = general[0] if general else "Some fields are not valid."
        code = "invalid"
    else:
        messages = _flatten(detail)
        message = messages[0] if messages else "Error."
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else (_flatten(codes) or ["error"])[0]
    return Response(
        error_body(type_=type_, code=code, message=message, fields=fields),
        status=response.status_code,
        headers={k: v for k, v in response.items() if k in {"WWW-Authenticate", "Retry-After", "Allow"}},
    )


def json_not_found(request, exception=None):
    return JsonResponse(error_body(type_="not_found", code="not_found", message="Not found."), status=404)


def json_forbidden(request, exception=None):
    return JsonResponse(
        error_body(type_="permission_denied", code="permission_denied", message="You may not do this."), status=403
    )


def json_server_error(request):
    return JsonResponse(
        error_body(type_="server_error", code="server_error", message="Something went wrong on our side."),
        status=500,
    )
