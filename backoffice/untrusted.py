"""One rule for text that comes from outside (forms, query strings, API bodies, notifications).

Two kinds of character are valid in a Python ``str`` but can never be stored: NUL (PostgreSQL
refuses it in text and in ``jsonb``) and lone UTF-16 surrogates (``"\\ud800"`` from a JSON
escape: not encodable as UTF-8, so the driver fails). Either one reaching the database is a 500
or, worse, a notification retried and dropped. So:

* input a person or a client typed is **refused** with a clear error (:func:`validate_text`,
  :class:`UntrustedInputMiddleware`, :class:`backoffice.api.parsers.JSONParser`);
* input we already acknowledged (a SIBS notification) is **cleaned** and the cleaning flagged
  (:func:`clean_tree`), because refusing it would lose it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext_lazy as _

_UNSAFE = re.compile("[\x00\ud800-\udfff]")

MESSAGE = _("The text contains a character that cannot be stored (NUL or an unpaired surrogate).")


def is_unsafe(value: str) -> bool:
    return _UNSAFE.search(value) is not None


def strip_unsafe(value: str) -> str:
    return _UNSAFE.sub("", value)


def validate_text(value: Any) -> None:
    """Django/DRF validator: refuse NUL and lone surrogates."""
    if isinstance(value, str) and is_unsafe(value):
        raise ValidationError(MESSAGE, code="unsafe_characters")


def find_unsafe(value: Any, path: str = "") -> str | None:
    """The path of the first string (or object key) in a JSON-like tree that holds an unsafe
    character, or None. Iterative: depth is bounded by the caller's parser."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if is_unsafe(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and is_unsafe(key):
                    return where or "body"
                stack.append((child, child_path))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


def clean_tree(value: Any, on_clean: Callable[[str], None], path: str = "") -> Any:
    """A copy of a JSON-like tree with NUL and lone surrogates removed from every string and
    key; ``on_clean(path)`` is called for each place cleaned."""
    if isinstance(value, str):
        if is_unsafe(value):
            on_clean(path or "body")
            return strip_unsafe(value)
        return value
    if isinstance(value, dict):
        cleaned = {}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_unsafe(key):
                key = strip_unsafe(key)
                child_path = f"{path}.{key}" if path else key
                on_clean(child_path)
            cleaned[key] = clean_tree(child, on_clean, child_path)
        return cleaned
    if isinstance(value, list):
        return [clean_tree(child, on_clean, f"{path}[{index}]") for index, child in enumerate(value)]
    return value


def cleaned(value: Any) -> Any:
    """:func:`clean_tree` when the places cleaned are already flagged elsewhere."""
    return clean_tree(value, lambda _path: None)


class UntrustedInputMiddleware:
    """Query strings with NUL or lone surrogates never reach a view as they are (a search for
    ``%00`` would otherwise reach PostgreSQL): the API refuses them with its 400, pages get them
    stripped and then validate what is left like any other input.

    Form fields need no such guard: Django's ``CharField`` refuses NUL with a form error, and
    form bodies are decoded as UTF-8 with replacement, so no lone surrogate survives. API bodies
    go through :class:`backoffice.api.parsers.JSONParser`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        unsafe = [name for name, values in request.GET.lists() if is_unsafe(name) or any(is_unsafe(v) for v in values)]
        if unsafe:
            if request.path.startswith("/api/"):
                return _api_refusal(field=strip_unsafe(unsafe[0]))
            clean = QueryDict(mutable=True)
            for name, values in request.GET.lists():
                clean.setlist(strip_unsafe(name), [strip_unsafe(value) for value in values])
            clean._mutable = False
            request.GET = clean
        return self.get_response(request)


def _api_refusal(*, field: str) -> HttpResponse:
    from backoffice.api.errors import error_body

    message = str(MESSAGE)
    body = error_body(type_="validation_error", code="invalid", message=message, fields={field: [message]})
    return JsonResponse(body, status=400)
