"""The inbound URL SIBS posts notifications to: ``POST /hooks/sibs/<token>/``.

Decrypt with the merchant's active secrets (each tried until one authenticates), parse, store
durably, then acknowledge with HTTP 200 and ``{"statusCode", "statusMsg", "notificationID"}``,
the id echoed exactly as sent. Processing happens in a Celery task after the commit; if the
broker is down the answer is still 200 and the sweep processes the stored row later. A
duplicate ``notificationID`` is acknowledged again and changes nothing.

Refusals get the API's one error shape, ``{"error": {"type", "code", "message", "fields"}}``,
and a row in the merchant's rejected log (size- and rate-limited):

====  =========================================================================================
400   malformed envelope (missing IV/tag header, empty body, bad Base64, bad IV or tag length)
      or plaintext (not UTF-8, not JSON, not an object, no usable notificationID or
      transactionID); other fields are read by the processing task (see ``identify``)
401   the tag does not authenticate under any active secret (wrong key, or altered in transit)
404   unknown or inactive endpoint (not logged: no merchant to log it for)
405   anything but POST (not logged)
411   a body framed neither by Content-Length nor chunked (chunked bodies are read, within the limit)
413   body above ``INBOUND_MAX_BODY_BYTES``, refused from Content-Length before reading it
503   the merchant has no active secret yet: SIBS retries, and will succeed once one is added
====  =========================================================================================

Every non-200 answer makes SIBS retry on its schedule (up to two months), which is what a
merchant fixing a wrong secret needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from backoffice.api.errors import error_body
from backoffice.audit import client_ip
from backoffice.http_body import read_bounded
from payments.sibs.ack import build_ack_body
from payments.sibs.envelope import (
    IV_HEADER,
    TAG_HEADER,
    AuthenticationFailedError,
    EnvelopeError,
    decrypt,
)
from payments.sibs.notification import MAX_ID_LENGTH, NotificationError
from webhooks.inbound import keyring, services
from webhooks.inbound.services import Rejection

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_HEADER_VALUE_MAX = 512


def _json_error(status: int, type_: str, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(type_=type_, code=code, message=message), status=status)


def _recorded_headers(request: HttpRequest) -> dict[str, str]:
    meta = request.META
    headers = {
        IV_HEADER: meta.get("HTTP_X_INITIALIZATION_VECTOR"),
        TAG_HEADER: meta.get("HTTP_X_AUTHENTICATION_TAG"),
        "Content-Type": meta.get("CONTENT_TYPE"),
        "Content-Length": meta.get("CONTENT_LENGTH"),
        "User-Agent": meta.get("HTTP_USER_AGENT"),
    }
    return {name: value[:_HEADER_VALUE_MAX] for name, value in headers.items() if value}


def server_error() -> JsonResponse:
    return _json_error(500, "server_error", "server_error", "Something went wrong on our side.")


@csrf_exempt
def not_found(request: HttpRequest) -> JsonResponse:
    return _json_error(404, "not_found", "not_found", "No inbound endpoint at this address.")


@dataclass(frozen=True, slots=True)
class Identified:
    notification_id: str  # stripped, for uniqueness
    raw_notification_id: str  # exactly as sent, for the acknowledgement
    transaction_id: str


def _identifier(obj: dict, keys: tuple[str, str], path: str) -> tuple[str, str]:
    raw = obj.get(keys[0], obj.get(keys[1]))
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise NotificationError(f"notification has no {path}", code="missing_field", field=path)
    if not isinstance(raw, str):
        raise NotificationError(f"{path}: expected a string identifier", code="invalid_field", field=path)
    text = raw.strip()
    if len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise NotificationError(f"{path}: not a usable identifier", code="invalid_field", field=path)
    return text, raw


def identify(plaintext: bytes) -> Identified:
    """What must be known before acknowledging: a JSON object with its notificationID and
    transactionID, read with the parser's rules for identifiers.

    The rest of the payload is parsed by the processing task. Once authenticated, a notification
    is never refused for its content: one with an impossible value somewhere is stored,
    acknowledged, and marked failed when processed, for a person to look at, rather than
    refused and re-sent by SIBS for two months unchanged.
    """
    try:
        text = plaintext.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotificationError(
            f"notification is not valid UTF-8 (byte {error.start})", code="invalid_encoding"
        ) from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise NotificationError(f"notification is not valid JSON: {error}", code="invalid_json") from None
    if not isinstance(obj, dict):
        raise NotificationError("notification must be a JSON object", code="not_an_object")
    notification_id, raw_id = _identifier(obj, ("notificationID", "notificationId"), "notificationID")
    transaction_id, _raw = _identifier(obj, ("transactionID", "transactionId"), "transactionID")
    return Identified(notification_id=notification_id, raw_notification_id=raw_id, transaction_id=transaction_id)


_TYPES = {
    400: "invalid_notification",
    401: "authentication_failed",
    411: "length_required",
    413: "payload_too_large",
    503: "unavailable",
}
_LENGTH_STATUS = {"too_large": 413, "invalid_length": 400, "length_required": 411}


@csrf_exempt
def sibs_inbound(request: HttpRequest, token: str) -> HttpResponse:
    received_at = timezone.now()
    if request.method != "POST":
        response = _json_error(405, "method_not_allowed", "method_not_allowed", "Only POST is accepted here.")
        response["Allow"] = "POST"
        return response
    keys = keyring.lookup(token) if _TOKEN.fullmatch(token) else None
    if keys is None:
        return _json_error(404, "not_found", "not_found", "No inbound endpoint at this address.")

    def refuse(rejection: Rejection, *, body: bytes | None = None, size: int = 0, plaintext: bytes | None = None):
        services.rejected_record(
            merchant_id=keys.merchant_id,
            rejection=rejection,
            body=body,
            body_size=size,
            headers=_recorded_headers(request),
            remote_addr=client_ip(request),
            plaintext=plaintext,
            received_at=received_at,
        )
        return _json_error(rejection.http_status, _TYPES[rejection.http_status], rejection.reason, rejection.message)

    read = read_bounded(request, settings.INBOUND_MAX_BODY_BYTES)  # chunked bodies too, within the limit
    if read.data is None:
        return refuse(Rejection(read.problem, _LENGTH_STATUS[read.problem], read.message), size=read.size)
    body = read.data
    if not keys.keys:
        message = "No webhook secret is configured for this merchant yet; add the one set in SIBS Backoffice."
        return refuse(Rejection("no_secrets", 503, message), body=body, size=len(body))

    iv = request.META.get("HTTP_X_INITIALIZATION_VECTOR")
    tag = request.META.get("HTTP_X_AUTHENTICATION_TAG")
    try:
        try:
            opened = decrypt(body=body, iv=iv, tag=tag, secrets=keys.keys)
        except AuthenticationFailedError:
            # Perhaps a secret added a moment ago in another process: look again, once.
            fresh = keyring.reload_after_failure(token)
            if fresh is None or fresh.keys == keys.keys or not fresh.keys:
                raise
            keys = fresh
            opened = decrypt(body=body, iv=iv, tag=tag, secrets=keys.keys)
    except AuthenticationFailedError as error:
        return refuse(Rejection(error.code, 401, error.message), body=body, size=len(body))
    except EnvelopeError as error:
        return refuse(Rejection(error.code, 400, error.message), body=body, size=len(body))

    try:
        notification = identify(opened.plaintext)
    except NotificationError as error:
        return refuse(Rejection(error.code, 400, error.message), body=body, size=len(body), plaintext=opened.plaintext)

    headers = _recorded_headers(request)
    remote = client_ip(request)
    if remote:
        headers["Remote-Addr"] = remote
    services.inbound_store(
        merchant_id=keys.merchant_id,
        notification_id=notification.notification_id,
        transaction_id=notification.transaction_id,
        body=body.decode("ascii"),  # authenticated Base64: ASCII by construction
        headers=headers,
        plaintext=opened.plaintext.decode("utf-8-sig"),
        secret_id=keys.secret_ids[opened.secret_index],
        received_at=received_at,
    )
    return HttpResponse(
        build_ack_body(notification.raw_notification_id, status_code=keys.ack_status_code),
        content_type="application/json",
    )
