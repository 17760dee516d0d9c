"""HTTP face of the simulated gateway: SIBS authentication, JSON in and out, test headers.

Every view is CSRF-exempt (a gateway is called by servers, not browsers) and answers 404 when
``SANDBOX_ENABLED`` is off. The rules themselves live in :mod:`sandbox.gateway`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from backoffice.crypto import constant_time_equals

from . import gateway, magic, wire
from .answers import Answer, GatewayError, not_found, return_status_body, unauthorized
from .models import SandboxMerchant, SandboxNotification, SandboxPayment

DELAY_HEADER = "X-Sandbox-Delay"
OUTCOME_HEADER = "X-Sandbox-Outcome"


def sandbox_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """404 unless the sandbox is enabled; no CSRF (server-to-server calls)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.SANDBOX_ENABLED:
            raise Http404("The sandbox gateway is disabled (SANDBOX_ENABLED).")
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def respond(answer: Answer) -> HttpResponse:
    response = HttpResponse(wire.dumps(answer.body), status=answer.status, content_type="application/json")
    for name, value in answer.headers.items():
        response[name] = value
    return response


# --------------------------------------------------------------------------- request pieces


def _test_headers(request: HttpRequest) -> tuple[float, str | None]:
    raw_delay = request.headers.get(DELAY_HEADER, "").strip()
    delay = 0.0
    if raw_delay:
        try:
            delay = float(raw_delay)
        except ValueError:
            delay = -1.0
        if not 0 <= delay <= magic.MAX_DELAY_SECONDS:
            raise GatewayError(
                "E0101", f"{DELAY_HEADER} must be a number of seconds from 0 to {magic.MAX_DELAY_SECONDS:g}."
            )
    outcome = request.headers.get(OUTCOME_HEADER, "").strip().lower() or None
    if outcome is not None and outcome not in magic.OUTCOMES:
        raise GatewayError("E0101", f"{OUTCOME_HEADER} must be one of {', '.join(magic.OUTCOMES)}.")
    return delay, outcome


def _read_json(request: HttpRequest, *, allow_empty: bool = False) -> dict[str, Any]:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > wire.MAX_BODY_BYTES:
        raise wire.JsonError(f"request body is larger than {wire.MAX_BODY_BYTES} bytes", status=413)
    # Read at most one byte past the cap ourselves, rather than request.body, whose own limit
    # (DATA_UPLOAD_MAX_MEMORY_SIZE) is far larger than any SIBS body.
    raw = request.read(wire.MAX_BODY_BYTES + 1)
    return wire.load_body(raw, allow_empty=allow_empty)


def _client(request: HttpRequest) -> SandboxMerchant | Answer:
    client_id = request.headers.get("X-IBM-Client-Id", "").strip()
    if not client_id:
        return unauthorized("The X-IBM-Client-Id header is missing.")
    merchant = SandboxMerchant.objects.filter(client_id=client_id[:64]).first()
    if merchant is None:
        return unauthorized("Client id not registered.")
    return merchant


def _credential(request: HttpRequest, scheme: str) -> str | None:
    given_scheme, _, credential = request.headers.get("Authorization", "").strip().partition(" ")
    if given_scheme.lower() != scheme.lower() or not credential.strip():
        return None
    return credential.strip()


def _bearer(request: HttpRequest) -> SandboxMerchant | Answer:
    merchant = _client(request)
    if isinstance(merchant, Answer):
        return merchant
    token = _credential(request, "Bearer")
    if token is None:
        if _credential(request, "Digest"):
            return unauthorized("This call is authorised with 'Authorization: Bearer <AuthToken>', not Digest.")
        return unauthorized("The Authorization header must be 'Bearer <AuthToken>'.")
    if not constant_time_equals(token, merchant.bearer_token):
        return unauthorized("The bearer token is not valid for this client id.")
    return merchant


def _digest(request: HttpRequest, transaction_id: str) -> SandboxPayment | Answer:
    merchant = _client(request)
    if isinstance(merchant, Answer):
        return merchant
    signature = _credential(request, "Digest")
    if signature is None:
        if _credential(request, "Bearer"):
            return unauthorized(
                "Payment execution calls are authorised with 'Authorization: Digest <transactionSignature>', "
                "not the bearer token."
            )
        return unauthorized("The Authorization header must be 'Digest <transactionSignature>'.")
    payment = gateway.payment_for(merchant, transaction_id)
    if payment is None:
        return not_found(transaction_id)
    if not payment.signature_hash or not constant_time_equals(wire.signature_hash(signature), payment.signature_hash):
        return unauthorized("The transactionSignature does not belong to this transaction.")
    return payment


def _method_not_allowed(allowed: str) -> HttpResponse:
    answer = Answer(
        405, return_status_body("E0101", "Error", f"Method not allowed; use {allowed}."), {"Allow": allowed}
    )
    return respond(answer)


def _serve(
    request: HttpRequest,
    *,
    method: str,
    authenticate: Callable[[HttpRequest], Any],
    call: Callable[[Any, dict[str, Any], str | None], Answer],
    body: str = "json",
) -> HttpResponse:
    """The pipeline of every endpoint: method, test headers, auth, body, call, test outcome."""
    if request.method != method:
        return _method_not_allowed(method)
    try:
        delay, forced = _test_headers(request)
    except GatewayError as error:
        return respond(error.answer())
    subject = authenticate(request)
    if isinstance(subject, Answer):
        return respond(subject)
    try:
        data = {} if body == "none" else _read_json(request, allow_empty=body == "optional")
    except wire.JsonError as error:
        return respond(Answer(error.status, return_status_body("E0101", "Error", error.message)))
    if forced == "error":
        answer = Answer(500, return_status_body("90.000.0001", "Error", "Exception (X-Sandbox-Outcome: error)."))
    else:
        answer = call(subject, data, forced)
        if forced == "timeout":
            answer = Answer(408, return_status_body("T9999", "Timeout", "Request timed out."))
    if delay:
        time.sleep(delay)
    return respond(answer)


# --------------------------------------------------------------------------- endpoints


@sandbox_endpoint
def payments(request: HttpRequest) -> HttpResponse:
    """POST /payments — checkout."""
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=_bearer,
        call=lambda merchant, data, forced: gateway.checkout(merchant, data, now=now),
    )


def _with_payment(
    transaction_id: str, call: Callable[[SandboxPayment, dict[str, Any], str | None], Answer]
) -> Callable[[SandboxMerchant, dict[str, Any], str | None], Answer]:
    def run(merchant: SandboxMerchant, data: dict[str, Any], forced: str | None) -> Answer:
        payment = gateway.payment_for(merchant, transaction_id)
        if payment is None:
            return not_found(transaction_id)
        return call(payment, data, forced)

    return run


@sandbox_endpoint
def payment_status(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """GET /payments/{id}/status."""
    now = timezone.now()
    return _serve(
        request,
        method="GET",
        authenticate=_bearer,
        body="none",
        call=_with_payment_or_operation(transaction_id, now),
    )


def _with_payment_or_operation(
    transaction_id: str, now
) -> Callable[[SandboxMerchant, dict[str, Any], str | None], Answer]:
    """A status inquiry may name a payment or one of its refunds, captures or cancellations
    (they have transactionIDs of their own)."""

    def run(merchant: SandboxMerchant, data: dict[str, Any], forced: str | None) -> Answer:
        payment = gateway.payment_for(merchant, transaction_id)
        if payment is not None:
            return gateway.status(payment, now=now)
        operation = gateway.operation_for(merchant, transaction_id)
        if operation is not None:
            return gateway.operation_status(operation, now=now)
        return not_found(transaction_id)

    return run


@sandbox_endpoint
def payment_status_query(request: HttpRequest) -> HttpResponse:
    """GET /payments/status?merchantTransactionId=…[&terminalId=…]."""
    now = timezone.now()
    return _serve(
        request,
        method="GET",
        authenticate=_bearer,
        body="none",
        call=lambda merchant, data, forced: gateway.status_by_merchant_transaction(
            merchant,
            request.GET.get("merchantTransactionId", "").strip(),
            request.GET.get("terminalId", "").strip() or None,
            now=now,
        ),
    )


def _execution(request: HttpRequest, transaction_id: str, func: Callable[..., Answer], body: str) -> HttpResponse:
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=lambda req: _digest(req, transaction_id),
        body=body,
        call=lambda payment, data, forced: func(payment, data, forced=forced, now=now),
    )


@sandbox_endpoint
def mbway_purchase(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/mbway-id/purchase."""
    return _execution(request, transaction_id, gateway.mbway, "json")


@sandbox_endpoint
def reference_generate(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/service-reference/generate."""
    return _execution(request, transaction_id, gateway.reference, "optional")


@sandbox_endpoint
def card_purchase(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/card/purchase."""
    return _execution(request, transaction_id, gateway.card, "json")


@sandbox_endpoint
def token_purchase(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/token/purchase."""
    return _execution(request, transaction_id, gateway.token, "optional")


def _back_office(request: HttpRequest, transaction_id: str, kind: str) -> HttpResponse:
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=_bearer,
        body="optional",
        call=_with_payment(
            transaction_id,
            lambda payment, data, forced: gateway.operation(payment, kind, data, forced=forced, now=now),
        ),
    )


@sandbox_endpoint
def refund(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/refund."""
    return _back_office(request, transaction_id, gateway.OPERATION_KINDS["refund"])


@sandbox_endpoint
def capture(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/capture."""
    return _back_office(request, transaction_id, gateway.OPERATION_KINDS["capture"])


@sandbox_endpoint
def cancellation(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/cancellation (double L, as in every SIBS source)."""
    return _back_office(request, transaction_id, gateway.OPERATION_KINDS["cancellation"])


@sandbox_endpoint
def mit(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/mit — merchant-initiated charge against the CIT ``id``."""
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=_bearer,
        call=_with_payment(
            transaction_id, lambda payment, data, forced: gateway.mit(payment, data, forced=forced, now=now)
        ),
    )


# --------------------------------------------------------------------------- control API


@sandbox_endpoint
def control_reference(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /sandbox/control/payments/{id}/reference — pay or expire a MULTIBANCO reference."""
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=_bearer,
        call=_with_payment(
            transaction_id, lambda payment, data, forced: gateway.control_reference(payment, data, now=now)
        ),
    )


@sandbox_endpoint
def control_qrcode(request: HttpRequest) -> HttpResponse:
    """POST /sandbox/control/qrcode-purchases — a customer pays a static QR code."""
    now = timezone.now()
    return _serve(
        request,
        method="POST",
        authenticate=_bearer,
        call=lambda merchant, data, forced: gateway.control_qrcode(merchant, data, now=now),
    )


@sandbox_endpoint
def control_tick(request: HttpRequest) -> HttpResponse:
    """POST /sandbox/control/tick — let due customers act and send due notifications now."""
    from .tasks import sandbox_tick

    def call(merchant: SandboxMerchant, data: dict[str, Any], forced: str | None) -> Answer:
        return Answer(200, {"returnStatus": {"statusCode": "000", "statusMsg": "Success"}, **sandbox_tick()})

    return _serve(request, method="POST", authenticate=_bearer, body="optional", call=call)


# --------------------------------------------------------------------------- overview page


@sandbox_endpoint
def index(request: HttpRequest) -> HttpResponse:
    """A page for people: what the sandbox is, its test values, and what it did lately.
    No secrets and no client ids are shown."""
    context = {
        "api_root": request.build_absolute_uri("/sandbox/api/v2"),
        "merchants": SandboxMerchant.objects.all()[:20],
        "payments": SandboxPayment.objects.select_related("merchant")[:25],
        "notifications": SandboxNotification.objects.select_related("merchant")[:25],
        "magic": magic,
    }
    return render(request, "sandbox/index.html", context)
