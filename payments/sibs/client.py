"""SIBS Gateway v2 REST client (PROTOCOL.md §2).

One :class:`SibsClient` per gateway credential, each with its own ``requests.Session`` (connection
reuse, and one credential's headers never leak into another's requests). Every call:

* sends ``Authorization: Bearer <token>`` and ``X-IBM-Client-Id: <client id>`` to a configurable
  API root (the path prefix differs between SIBS hosts, so the root is stored whole);
* times out after 5 s to connect and 30 s to read (FENIX added the 30 s read timeout after
  real incidents);
* is never retried automatically: a retried refund could move money twice. Callers decide, and
  idempotent reads are retried by the status sweeper on its own schedule.

Calls: ``status()`` and ``status_by_merchant_transaction()`` (reads), and ``refund()``,
``capture()``, ``cancellation()`` (money: ``POST /payments/{id}/refund|capture|cancellation``,
the body shape of the SIBS documentation, ``originalTransaction`` inside ``transaction``,
amounts as JSON numbers with exactly two decimals). The client does no database work.

A money call that gets no answer may still have been processed by SIBS; the error says whether
the request certainly never left (``SibsTransportError.sent is False``: connection refused or
connect timeout) so the caller can tell "not done" from "unknown".
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from backoffice.ssrf import GuardedAdapter

from .notification import NotificationError, StatusResponse, parse_status_response

__all__ = [
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "ApiResponse",
    "SibsApiError",
    "SibsClient",
    "SibsHttpError",
    "SibsInvalidResponseError",
    "SibsTransportError",
]

CONNECT_TIMEOUT: Final = 5.0
# The money calls' path segments (note the double L of "cancellation").
OPERATION_ACTIONS: Final = frozenset({"refund", "capture", "cancellation"})
# Server-to-server execution calls, authorised with the checkout's transactionSignature.
EXECUTION_ACTIONS: Final = frozenset({"mbway-id/purchase", "service-reference/generate"})
READ_TIMEOUT: Final = 30.0
MAX_RESPONSE_BYTES: Final = 1_000_000
USER_AGENT: Final = "sibs-backoffice/0.1 (+https://github.com/)"


logger = logging.getLogger(__name__)

NETWORK_FAILURE: Final = "SIBS could not be reached or did not answer in time"


class SibsApiError(Exception):
    """A call that did not produce a usable answer. ``code`` is stable and machine-readable."""

    code = "api_error"

    def __init__(self, message: str, *, http_status: int | None = None, response: ApiResponse | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.response = response


class SibsTransportError(SibsApiError):
    """No HTTP answer: connection refused, DNS, TLS, or a timeout.

    ``sent`` is False only when the request certainly did not reach SIBS (the connection was
    never made); a read timeout or a connection dropped mid-way may have been processed.
    """

    code = "transport_error"

    def __init__(self, message: str, *, sent: bool = True, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.sent = sent


class SibsHttpError(SibsApiError):
    """An HTTP answer other than 2xx. ``response.data`` holds the JSON body when there is one
    (SIBS answers errors with the same shape and a ``returnStatus``)."""

    code = "http_error"


class SibsInvalidResponseError(SibsApiError):
    """A 2xx answer whose body is not a JSON object SIBS would send."""

    code = "invalid_response"


@dataclass(frozen=True, slots=True)
class ApiResponse:
    http_status: int
    body: bytes = field(repr=False)
    # The decoded JSON object (plain floats), or None when the body is not one.
    data: dict[str, Any] | None = field(repr=False)
    elapsed: float


class SibsClient:
    def __init__(
        self,
        *,
        api_root: str,
        client_id: str,
        bearer_token: str,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        guard_setting: str | None = None,
    ) -> None:
        if not api_root.startswith(("https://", "http://")):
            raise ValueError("api_root must be an http(s) URL")
        self.api_root = api_root.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # requests' default adapter already makes a single attempt; say so explicitly. An address
        # a person typed goes through the outbound guard (no private, loopback or link-local
        # address, checked at every connection) unless the setting named here allows them.
        adapter = (
            HTTPAdapter(max_retries=0)
            if guard_setting is None
            else GuardedAdapter(max_retries=0, setting=guard_setting)
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # Environment proxies and .netrc must not redirect or decorate calls carrying the token.
        self.session.trust_env = False
        self.session.headers.update(
            {
                "Authorization": f"Bearer {bearer_token}",
                "X-IBM-Client-Id": client_id,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def __repr__(self) -> str:
        return f"<SibsClient {self.api_root}>"

    def close(self) -> None:
        self.session.close()

    # --- operations ------------------------------------------------------------------------

    def status(self, transaction_id: str) -> tuple[StatusResponse, ApiResponse]:
        """``GET /payments/{transactionID}/status``: SIBS's view of a transaction.

        Raises :class:`SibsApiError` (HTTP 404 and 408 arrive as :class:`SibsHttpError` with
        that ``http_status``, as FENIX maps them).
        """
        if not transaction_id or not transaction_id.strip():
            raise ValueError("transaction_id is required")
        response = self._call("GET", f"/payments/{quote(transaction_id.strip(), safe='')}/status")
        try:
            return parse_status_response(response.body), response
        except NotificationError as error:
            raise SibsInvalidResponseError(
                f"the status answer cannot be read: {error.message}",
                http_status=response.http_status,
                response=response,
            ) from None

    def status_by_merchant_transaction(
        self, merchant_transaction_id: str, *, terminal_id: int | None = None
    ) -> tuple[StatusResponse, ApiResponse]:
        """``GET /payments/status?merchantTransactionId=…``: how an operation whose answer was
        lost is found again (its merchantTransactionId is ours; its transactionID is unknown)."""
        if not merchant_transaction_id or not merchant_transaction_id.strip():
            raise ValueError("merchant_transaction_id is required")
        query = f"merchantTransactionId={quote(merchant_transaction_id.strip(), safe='')}"
        if terminal_id is not None:
            query += f"&terminalId={int(terminal_id)}"
        response = self._call("GET", f"/payments/status?{query}")
        return self._parse(response), response

    def refund(self, transaction_id: str, **kwargs: Any) -> tuple[StatusResponse, ApiResponse]:
        """``POST /payments/{id}/refund``: refund all or part of a purchase or captured authorisation."""
        return self._operation("refund", transaction_id, **kwargs)

    def capture(self, transaction_id: str, **kwargs: Any) -> tuple[StatusResponse, ApiResponse]:
        """``POST /payments/{id}/capture``: capture all or part of an authorisation."""
        return self._operation("capture", transaction_id, **kwargs)

    def cancellation(self, transaction_id: str, **kwargs: Any) -> tuple[StatusResponse, ApiResponse]:
        """``POST /payments/{id}/cancellation`` (double L): reverse an uncaptured authorisation
        or cancel an unpaid MULTIBANCO reference."""
        return self._operation("cancellation", transaction_id, **kwargs)

    def _operation(
        self,
        action: str,
        transaction_id: str,
        *,
        terminal_id: int,
        merchant_transaction_id: str,
        amount: Decimal,
        currency: str,
        original_datetime: datetime | None = None,
        description: str = "",
        timestamp: datetime | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[StatusResponse, ApiResponse]:
        """One money call. Never retried here: the caller records it as unknown when no answer
        comes back and settles it with a status inquiry."""
        if not transaction_id or not transaction_id.strip():
            raise ValueError("transaction_id is required")
        body = operation_body(
            transaction_id=transaction_id.strip(),
            terminal_id=terminal_id,
            merchant_transaction_id=merchant_transaction_id,
            amount=amount,
            currency=currency,
            original_datetime=original_datetime,
            description=description,
            timestamp=timestamp,
        )
        return self.send_operation(action, transaction_id, body, extra_headers=extra_headers)

    def send_operation(
        self, action: str, transaction_id: str, body: dict[str, Any], *, extra_headers: dict[str, str] | None = None
    ) -> tuple[StatusResponse, ApiResponse]:
        """``POST /payments/{id}/{action}`` with a body from :func:`operation_body`, for a caller
        that records exactly what it sends."""
        if action not in OPERATION_ACTIONS:
            raise ValueError(f"unknown operation {action!r}")
        if not transaction_id or not transaction_id.strip():
            raise ValueError("transaction_id is required")
        response = self._call(
            "POST",
            f"/payments/{quote(transaction_id.strip(), safe='')}/{action}",
            body=body,
            extra_headers=extra_headers,
        )
        return self._parse(response), response

    # --- server-to-server checkout (seed 003; payments.sibs.checkout builds the bodies) ------

    def checkout(self, body: dict[str, Any]) -> ApiResponse:
        """``POST /payments`` (Bearer): prepare a checkout. The caller reads the answer with
        :func:`payments.sibs.checkout.parse_checkout_answer`."""
        return self._call("POST", "/payments", body=body)

    def execute(
        self,
        transaction_id: str,
        action: str,
        signature: str,
        body: dict[str, Any],
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[StatusResponse, ApiResponse]:
        """``POST /payments/{id}/mbway-id/purchase`` or ``…/service-reference/generate``,
        authorised with ``Digest <transactionSignature>`` instead of the bearer token."""
        if action not in EXECUTION_ACTIONS:
            raise ValueError(f"unknown execution {action!r}")
        if not transaction_id or not transaction_id.strip():
            raise ValueError("transaction_id is required")
        if not signature or any(c.isspace() for c in signature):
            raise ValueError("signature is required")
        response = self._call(
            "POST",
            f"/payments/{quote(transaction_id.strip(), safe='')}/{action}",
            body=body,
            extra_headers={**(extra_headers or {}), "Authorization": f"Digest {signature}"},
        )
        return self._parse(response), response

    def _parse(self, response: ApiResponse) -> StatusResponse:
        try:
            return parse_status_response(response.body)
        except NotificationError as error:
            raise SibsInvalidResponseError(
                f"the answer cannot be read: {error.message}", http_status=response.http_status, response=response
            ) from None

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        url = self.api_root + path
        data = None
        headers = dict(extra_headers or {})
        if body is not None:
            data = encode_body(body)
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            with self.session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            ) as raw:
                content = raw.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
                status = raw.status_code
        except requests.RequestException as error:
            # One text for every network failure (refused, reset, DNS, TLS, timeouts): a custom
            # API root must not become a port scanner through the wording. The detail is logged.
            sent = not (isinstance(error, requests.ConnectTimeout) or _never_connected(error))
            logger.warning("SIBS call to %s failed: %s (%s)", urlsplit(url).netloc, _kind(error), _cause(error))
            raise SibsTransportError(NETWORK_FAILURE, sent=sent) from None
        elapsed = time.monotonic() - started
        if len(content) > MAX_RESPONSE_BYTES:
            raise SibsInvalidResponseError("the answer is larger than any SIBS answer", http_status=status)
        response = ApiResponse(http_status=status, body=content, data=_json_object(content), elapsed=elapsed)
        if not 200 <= status < 300:
            raise SibsHttpError(f"SIBS answered HTTP {status}", http_status=status, response=response)
        if response.data is None:
            raise SibsInvalidResponseError(
                "SIBS answered with something that is not a JSON object", http_status=status, response=response
            )
        return response


def _never_connected(error: Exception) -> bool:
    """True when the connection itself failed (refused, DNS), so nothing was sent."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError):
            return True
        for arg in getattr(current, "args", ()):
            if isinstance(arg, NewConnectionError | NameResolutionError):
                return True
            reason = getattr(arg, "reason", None)
            if isinstance(reason, NewConnectionError | NameResolutionError):
                return True
        current = current.__cause__ or current.__context__
    return False


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def operation_body(
    *,
    transaction_id: str,
    terminal_id: int,
    merchant_transaction_id: str,
    amount: Decimal,
    currency: str,
    original_datetime: datetime | None = None,
    description: str = "",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The ``BackOfficeRequest`` of SIBS's refund, capture and cancellation pages
    (PROTOCOL.md §2.7): ``originalTransaction`` inside ``transaction``."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be a positive Decimal")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount has more than two decimals")
    if not merchant_transaction_id:
        raise ValueError("merchant_transaction_id is required")
    original: dict[str, Any] = {"id": transaction_id}
    if original_datetime is not None:
        original["datetime"] = _iso(original_datetime)
    transaction: dict[str, Any] = {
        "transactionTimestamp": _iso(timestamp or datetime.now(UTC)),
        "description": (description or "")[:70],
        "amount": {"value": amount.quantize(Decimal("0.01")), "currency": currency},
        "originalTransaction": original,
    }
    return {
        "merchant": {
            "terminalId": int(terminal_id),
            "channel": "web",
            "merchantTransactionId": merchant_transaction_id,
        },
        "transaction": transaction,
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """JSON with Decimals written as numbers with two decimals (``12.50``, not ``12.5`` nor
    ``"12.50"``), exactly, never through a float."""
    numbers: list[str] = []
    # A random marker: no text in the body (a description, an id) can collide with it.
    marker = secrets.token_hex(8)

    def default(value: object) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise TypeError("not a finite amount")
            numbers.append(f"{value.quantize(Decimal('0.01')):f}")
            return f"{marker}:{len(numbers) - 1}"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(body, default=default, separators=(",", ":"), ensure_ascii=False)
    for index, number in enumerate(numbers):
        text = text.replace(json.dumps(f"{marker}:{index}"), number, 1)
    return text.encode()


def _cause(error: BaseException) -> str:
    """The innermost cause's class and words (a refused port, a blocked address), for the log."""
    seen: set[int] = set()
    current: BaseException = error
    while id(current) not in seen:
        seen.add(id(current))
        inner = current.__cause__ or current.__context__
        reason = next((getattr(a, "reason", None) for a in current.args if getattr(a, "reason", None)), None)
        nxt = inner or reason
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return f"{type(current).__name__}: {str(current)[:300]}"


def _kind(error: Exception) -> str:
    # The class name says what went wrong without echoing URLs (which hold transaction ids).
    return type(error).__name__


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
