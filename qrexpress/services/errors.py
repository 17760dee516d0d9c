"""One error for every refused QR Code Express write: a message for people, a stable code."""

from __future__ import annotations


class QrExpressError(Exception):
    def __init__(self, message: str, *, code: str, field: str | None = None, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status
