"""Client of SIBS's QR Code Express stock API: add, remove, define and obtain stock units.

What SIBS documents (seed "Manage and edit QR Code Express prices and stock"): the four actions
and their request headers — ``Content-Type: application/json``; ``Digest``, the hash of the body,
when there is a body; ``x-ibm-client-id``; ``TPP-Transaction-ID`` (UUID of the operation) and
``TPPRequest-ID`` (UUID unique to each call); ``PSU-Agent``, ``PSU-IPAddress``,
``PSU-GeoLocation``, ``PSU-Device-ID`` and ``PSU-Device-Fingerprint`` (the person behind the
call); ``Terminal``; the QR Code ID — and an answer whose ``returnStatus.statusCode`` is ``"000"``
on success, with the updated stock units.

What it does not publish: the paths, the methods, the body fields and the digest algorithm. The
paths are therefore configurable per gateway credential (:class:`qrexpress.models.StockApiSettings`),
the sandbox's being the default. The choices made here, and implemented alike by the sandbox:

* the units travel in a JSON body ``{"stockUnits": 5}``; ``obtain`` is a ``GET`` without a body;
* ``Digest: SHA-256=<Base64 of the SHA-256 of the body>`` (RFC 3230, as PSD2 APIs use it);
* the QR Code ID travels in a ``QRCode-ID`` header (header names cannot hold spaces);
* the answer carries ``stockUnits`` (a string or a number) beside ``returnStatus``.

The client does no database work and is never retried automatically (an "add" retried after a
lost answer would add twice).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

import requests
from requests.adapters import HTTPAdapter

CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 20.0
MAX_RESPONSE_BYTES: Final = 100_000
USER_AGENT: Final = "sibs-backoffice/0.1"
QR_CODE_HEADER: Final = "QRCode-ID"
# No place is known for a person using a browser: SIBS lists the header as mandatory, so the
# neutral "unknown" position of the Berlin Group format is sent.
UNKNOWN_GEO: Final = "GEO:0.000000;0.000000"

DEFAULT_PATHS: Final = {
    "add": "/qrcode-express/stock/add",
    "remove": "/qrcode-express/stock/remove",
    "define": "/qrcode-express/stock/define",
    "obtain": "/qrcode-express/stock",
}
METHODS: Final = {"add": "POST", "remove": "POST", "define": "POST", "obtain": "GET"}


class StockApiError(Exception):
    """No usable "000" answer. ``code`` is stable; ``message`` says why, for people."""

    def __init__(self, message: str, *, code: str, http_status: int | None = None, status_code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.status_code = status_code


@dataclass(frozen=True)
class Psu:
    """The person (or system) on whose behalf the call is made, for the ``PSU-*`` headers."""

    agent: str = USER_AGENT
    ip_address: str = "127.0.0.1"
    geo_location: str = UNKNOWN_GEO
    device_id: str = ""
    device_fingerprint: str = ""


@dataclass(frozen=True)
class StockAnswer:
    units: int | None
    status_code: str
    message: str
    http_status: int
    request_id: str


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def device_fingerprint(agent: str) -> str:
    return hashlib.sha256(agent.encode("utf-8", "replace")).hexdigest()


class StockApiClient:
    def __init__(
        self,
        *,
        api_root: str,
        client_id: str,
        bearer_token: str,
        paths: dict[str, str] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        if not api_root.startswith(("https://", "http://")):
            raise ValueError("api_root must be an http(s) URL")
        self.api_root = api_root.rstrip("/")
        self.client_id = client_id
        self.paths = {**DEFAULT_PATHS, **(paths or {})}
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.trust_env = False
        self.session.headers.update(
            {
                "Authorization": f"Bearer {bearer_token}",
                "x-ibm-client-id": client_id,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def add(self, **kwargs: Any) -> StockAnswer:
        return self.call("add", **kwargs)

    def remove(self, **kwargs: Any) -> StockAnswer:
        return self.call("remove", **kwargs)

    def define(self, **kwargs: Any) -> StockAnswer:
        return self.call("define", **kwargs)

    def obtain(self, **kwargs: Any) -> StockAnswer:
        return self.call("obtain", **kwargs)

    def call(
        self,
        operation: str,
        *,
        terminal: int,
        qr_code_id: str,
        units: int | None = None,
        psu: Psu | None = None,
        transaction_id: str | None = None,
    ) -> StockAnswer:
        if operation not in METHODS:
            raise ValueError(f"unknown stock operation {operation!r}")
        if operation != "obtain" and (units is None or isinstance(units, bool) or units < 0):
            raise ValueError("units must be a whole number >= 0")
        psu = psu or Psu()
        request_id = str(uuid.uuid4())
        path = self.paths[operation].replace("{qrCodeId}", qr_code_id).replace("{terminal}", str(terminal))
        body = None if operation == "obtain" else json.dumps({"stockUnits": units}, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "TPP-Transaction-ID": transaction_id or str(uuid.uuid4()),
            "TPPRequest-ID": request_id,
            "PSU-Agent": psu.agent[:300] or USER_AGENT,
            "PSU-IPAddress": psu.ip_address or "127.0.0.1",
            "PSU-GeoLocation": psu.geo_location or UNKNOWN_GEO,
            "PSU-Device-ID": psu.device_id or str(uuid.uuid5(uuid.NAMESPACE_URL, self.api_root + self.client_id)),
            "PSU-Device-Fingerprint": psu.device_fingerprint or device_fingerprint(psu.agent),
            "Terminal": str(int(terminal)),
            QR_CODE_HEADER: qr_code_id,
        }
        if body is not None:
            headers["Digest"] = digest(body)
        try:
            with self.session.request(
                METHODS[operation],
                self.api_root + path,
                data=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as raw:
                content = raw.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
                http_status = raw.status_code
        except requests.Timeout:
            raise StockApiError("SIBS did not answer in time.", code="timeout") from None
        except requests.RequestException as error:
            raise StockApiError(f"SIBS could not be reached ({type(error).__name__}).", code="unreachable") from None
        data = _json_object(content) if len(content) <= MAX_RESPONSE_BYTES else None
        status = data.get("returnStatus") if isinstance(data, dict) else None
        if not isinstance(status, dict):
            raise StockApiError(
                f"SIBS answered HTTP {http_status} without a returnStatus.",
                code="invalid_answer",
                http_status=http_status,
            )
        code = str(status.get("statusCode", "")).strip()
        text = " ".join(str(status.get(k) or "") for k in ("statusMsg", "statusDescription")).strip()
        if code != "000" or not 200 <= http_status < 300:
            raise StockApiError(
                f"SIBS refused: {code or '?'} {text}".strip(), code="refused", http_status=http_status, status_code=code
            )
        units_value = data.get("stockUnits")
        parsed = _units(units_value)
        if units_value is not None and parsed is None:
            raise StockApiError(
                "SIBS answered with stock units that are not a whole number.",
                code="invalid_answer",
                http_status=http_status,
            )
        return StockAnswer(units=parsed, status_code=code, message=text, http_status=http_status, request_id=request_id)


def _units(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
