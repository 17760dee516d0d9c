"""The webhook acknowledgement: HTTP 200 with ``{"statusCode", "statusMsg", "notificationID"}``.

Used both ways: to answer SIBS (:func:`build_ack`, :func:`build_ack_body`) and, for the
outbound relay, to judge whether a merchant system acknowledged a notification we sent
(:func:`check_ack`, :func:`is_valid_ack`).

Sources disagree on ``statusCode`` (PROTOCOL.md §1.3): the production docs say the string
``"200"``, the 2026 QLY docs the string ``"000"``, and FENIX — in production since 2023 — sends
the *number* ``200``. Whether SIBS validates the body at all is unknown. Hence:

* we send ``"200"`` by default and ``"000"`` on request (a per-merchant setting later);
* we accept ``"200"``, ``"000"`` and the number ``200`` from others — a receiver that works
  against SIBS today must not be failed by our relay. ``statusMsg`` must be exactly
  ``"Success"`` (every source agrees on it) and ``notificationID`` must echo the one sent,
  compared after stripping surrounding whitespace on both sides.

Echo the notification id *exactly as received* (:attr:`Notification.raw_notification_id`): if
SIBS compares byte for byte, an id with a trailing space (seed example 8) must come back with
it; if SIBS strips, nothing is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

__all__ = [
    "ACCEPTED_STATUS_CODES",
    "ACK_CONTENT_TYPE",
    "ACK_STATUS_CODES",
    "ACK_STATUS_MSG",
    "AckCheck",
    "AckStatusCode",
    "build_ack",
    "build_ack_body",
    "check_ack",
    "is_valid_ack",
]

AckStatusCode = Literal["200", "000"]
ACK_STATUS_CODES: Final[tuple[AckStatusCode, ...]] = ("200", "000")
"""What we may send, the DOC-PT value first."""
ACCEPTED_STATUS_CODES: Final[tuple[object, ...]] = ("200", "000", 200)
"""What we accept from others: the two documented strings and FENIX's number."""
ACK_STATUS_MSG: Final = "Success"
ACK_CONTENT_TYPE: Final = "application/json"
MAX_ACK_BYTES: Final = 64 * 1024


def build_ack(notification_id: str, *, status_code: AckStatusCode = "200") -> dict[str, str]:
    """The acknowledgement object for ``notification_id`` (echoed unchanged)."""
    if status_code not in ACK_STATUS_CODES:
        raise ValueError(f"status_code must be one of {ACK_STATUS_CODES}, got {status_code!r}")
    if not isinstance(notification_id, str) or not notification_id.strip():
        raise ValueError("notification_id must be a non-empty string")
    return {"statusCode": status_code, "statusMsg": ACK_STATUS_MSG, "notificationID": notification_id}


def build_ack_body(notification_id: str, *, status_code: AckStatusCode = "200") -> bytes:
    """:func:`build_ack` serialised as compact UTF-8 JSON, ready to be the HTTP 200 body."""
    ack = build_ack(notification_id, status_code=status_code)
    return json.dumps(ack, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class AckCheck:
    """Outcome of :func:`check_ack`; ``reason`` says what was wrong, for the delivery log."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_ack(status_code_http: int, body: bytes | str | None, expected_notification_id: str) -> AckCheck:
    """Judge a receiver's answer to a notification. Never raises."""
    if status_code_http != 200:
        return AckCheck(False, f"HTTP status {status_code_http}, expected 200")
    if body is None:
        return AckCheck(False, "empty body")
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if len(raw) > MAX_ACK_BYTES:
            return AckCheck(False, f"body is {len(raw)} bytes, too large for an acknowledgement")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return AckCheck(False, "body is not valid UTF-8")
    elif isinstance(body, str):
        if len(body) > MAX_ACK_BYTES:
            return AckCheck(False, f"body is {len(body)} characters, too large for an acknowledgement")
        text = body
    else:
        return AckCheck(False, f"body has unsupported type {type(body).__name__}")
    if not text.strip():
        return AckCheck(False, "empty body")
    try:
        ack = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return AckCheck(False, "body is not valid JSON")
    if not isinstance(ack, dict):
        return AckCheck(False, "body is not a JSON object")

    status_code = ack.get("statusCode")
    # bool is an int subclass and True == 1, so exclude it explicitly before comparing.
    if isinstance(status_code, bool) or status_code not in ACCEPTED_STATUS_CODES:
        return AckCheck(False, f'statusCode {_short(status_code)} is not "200", "000" or 200')
    if isinstance(status_code, Decimal):
        return AckCheck(False, 'statusCode must be "200", "000" or the integer 200')
    status_msg = ack.get("statusMsg")
    if status_msg != ACK_STATUS_MSG:
        return AckCheck(False, f'statusMsg {_short(status_msg)} is not "Success"')
    echoed = ack.get("notificationID")
    if not isinstance(echoed, str):
        return AckCheck(False, "notificationID is missing or not a string")
    if echoed.strip() != expected_notification_id.strip():
        return AckCheck(False, "notificationID does not echo the notification sent")
    return AckCheck(True, "ok")


def is_valid_ack(status_code_http: int, body_bytes: bytes | str | None, expected_notification_id: str) -> bool:
    """True when the answer is a valid acknowledgement of ``expected_notification_id``."""
    return check_ack(status_code_http, body_bytes, expected_notification_id).ok


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
