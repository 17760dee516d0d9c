"""Reading a request body that must be bounded, whatever framing the client chose.

Django reads ``Content-Length`` bytes and nothing more: a body sent with
``Transfer-Encoding: chunked`` (no length) looks empty to it. A machine endpoint that refused
such a body "as empty" would misreport what it got, so here a chunked body is read from the
server's (de-chunked, end-terminated) input, at most ``limit + 1`` bytes, and any other framing
without a length is answered 411.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True, slots=True)
class BoundedBody:
    data: bytes | None  # None when refused
    size: int  # bytes read, or the declared length when refused for it
    problem: str = ""  # "", "too_large", "invalid_length", "length_required"
    message: str = ""


def read_bounded(request: HttpRequest, limit: int) -> BoundedBody:
    meta = request.META
    declared = str(meta.get("CONTENT_LENGTH") or "").strip()
    encoding = str(meta.get("HTTP_TRANSFER_ENCODING") or "").strip().lower()
    if declared:
        if not (declared.isascii() and declared.isdigit()) or len(declared) > 30:
            return BoundedBody(None, 0, "invalid_length", "The Content-Length header is not a number of bytes.")
        size = int(declared)
        if size > limit:
            return BoundedBody(None, size, "too_large", f"The body is {size} bytes; the limit is {limit} bytes.")
        data = request.read(limit + 1)
    elif encoding == "chunked":
        stream = meta.get("wsgi.input")
        data = stream.read(limit + 1) if stream is not None else b""
    elif encoding:
        return BoundedBody(None, 0, "length_required", "Send the body with a Content-Length or chunked.")
    else:
        data = b""
    if len(data) > limit:
        return BoundedBody(None, len(data), "too_large", f"The body is above the {limit}-byte limit.")
    return BoundedBody(data, len(data))
