"""A demo e-shop's webhook receiver, so the demo merchant's outbound webhook has somewhere to go.

``seed_demo`` gives the demo merchant a URL webhook pointing here, with :func:`shop_key` as its
encryption key. This view plays the merchant's own system: it decrypts what the backoffice
relays exactly as an e-shop integrated with SIBS would, and acknowledges it the way SIBS
expects (HTTP 200, the ``notificationID`` echoed, ``statusMsg`` ``Success``, ``statusCode``
``"200"``). A notification whose ``merchantTransactionId`` contains ``shop-down`` is answered
with HTTP 503, to watch retries and the failure digest in the demo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from payments.sibs.ack import build_ack
from payments.sibs.envelope import IV_HEADER, TAG_HEADER, EnvelopeError, decrypt

from .views import sandbox_endpoint

MAX_BODY = 256 * 1024
FAIL_MARKER = "shop-down"


def shop_key() -> str:
    """The demo shop's key (Base64 of 32 bytes), derived from SECRET_KEY: stable across runs."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"sandbox demo shop webhook key", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@sandbox_endpoint
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
        return JsonResponse({"error": "too large"}, status=413)
    try:
        result = decrypt(
            body=request.body,
            iv=request.headers.get(IV_HEADER),
            tag=request.headers.get(TAG_HEADER),
            secrets=[shop_key()],
        )
        notification = json.loads(result.plaintext)
    except EnvelopeError as error:
        return JsonResponse({"error": error.code}, status=400)
    except ValueError:
        return JsonResponse({"error": "not_json"}, status=400)
    if not isinstance(notification, dict) or not isinstance(notification.get("notificationID"), str):
        return JsonResponse({"error": "no notificationID"}, status=400)
    merchant = notification.get("merchant")
    order = merchant.get("merchantTransactionId") if isinstance(merchant, dict) else None
    if isinstance(order, str) and FAIL_MARKER in order:
        return JsonResponse({"error": "the shop is down"}, status=503)
    return JsonResponse(build_ack(notification["notificationID"]))
