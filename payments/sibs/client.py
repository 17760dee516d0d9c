"""SIBS Gateway v2 REST client (PROTOCOL.md §2).

One :class:`SibsClient` per gateway credential, each with its own ``requests.Session`` (connection
reuse, and one credential's headers never leak into another's requests). Every call:

* sends ``Authorization: Bearer <token>`` and ``X-IBM-Client-Id: <client id>`` to a configurable
  API root (the path prefix differs between SIBS hosts, so the root is stored whole);
* times out after 5 s to connect and 30 s to read (FENIX added the 30 s read timeout after
  real incidents);
* is never retried automatically: a retried refund could move money twice. Callers decide, and
  idempotent reads are retried by the status sweeper on its own schedule.

Only ``status()`` exists today; refund, capture and cancellation are :meth:`SibsClient._call`
with a JSON body, added with the operations themselves. The client does no database work.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

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
READ_TIMEOUT: Final = 30.0
MAX_RESPONSE_BYTES: Final = 1_000_000
USER_AGENT: Final = "sibs-backoffice/0.1 (+https://github.com/)"


class SibsApiError(Exception):
    """A call that did not produce a usable answer. ``code`` is stable and machine-readable."""

    code = "api_error"

    def __init__(self, message: str, *, http_status: int | None = None, response: ApiResponse | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.response = response


class SibsTransportError(SibsApiError):
    """No HTTP answer: connection refused, DNS, TLS, or a timeout."""

    code = "transport_error"


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
    ) -> None:
        if not api_root.startswith(("https://", "http://")):
            raise ValueError("api_root must be an http(s) URL")
        self.api_root = api_root.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # requests' default adapter already makes a single attempt; say so explicitly.
        adapter = HTTPAdapter(max_retries=0)
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

    # --- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> ApiResponse:
        url = self.api_root + path
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            with self.session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            ) as raw:
                content = raw.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
                status = raw.status_code
        except requests.Timeout as error:
            raise SibsTransportError(f"SIBS did not answer in time ({_kind(error)})") from None
        except requests.RequestException as error:
            raise SibsTransportError(f"SIBS could not be reached ({_kind(error)})") from None
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


def _kind(error: Exception) -> str:
    # The class name says what went wrong without echoing URLs (which hold transaction ids).
    return type(error).__name__


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        # SIBS wants amounts as JSON numbers; a float of a 2-decimal Decimal prints exactly.
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
