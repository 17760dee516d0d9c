"""The SIBS Gateway v2 webhook envelope: AES-256-GCM with Base64 parts.

Wire format (PROTOCOL.md §1.1-1.2), used both to read SIBS notifications and to emit
SIBS-compatible ones (outbound relay, sandbox):

* the HTTP body *is* the standard Base64 of the raw ciphertext — no JSON wrapper and, unlike
  the ``ciphertext || tag`` layout most libraries produce, **without** the GCM tag;
* the tag travels Base64-encoded in ``X-Authentication-Tag`` and the nonce in
  ``X-Initialization-Vector``;
* the key is the "webhook secret" shown in SIBS Backoffice: Base64 of 32 bytes (AES-256);
* no additional authenticated data.

Do not confuse it with the legacy v1/ACI scheme, which uses the same header names but hex
everywhere — many public "decrypt SIBS webhook" snippets are for that one.

Decisions taken where SIBS documents nothing:

* **Base64** is the standard alphabet (``+/``) with correct ``=`` padding, strictly validated.
  Neither missing padding nor the URL-safe alphabet (``-_``) is accepted: SIBS never produces
  them, one canonical spelling keeps stored secrets comparable, and guessing encodings is how a
  PHP integrator ended up mis-decoding Base64 that happened to look like hex. The error message
  says what looks wrong (URL-safe characters, missing padding) so an operator can fix a pasted
  secret. Surrounding whitespace is stripped everywhere; line breaks *inside* the body are also
  removed, since MIME-style wrapping at 76 columns is the one harmless transformation a proxy
  might apply. Nothing else is tolerated.
* **IV length**: not documented for v2 (v1 used 12 bytes). Any length ``cryptography``'s AESGCM
  supports (8 to 128 bytes) is accepted on decode; we emit 12 random bytes, the GCM standard.
* **Tag length**: exactly 16 bytes. Truncated GCM tags weaken authentication and no SIBS
  implementation uses them.
* **Secret rotation / several terminals**: there is no key-id header, so :func:`decrypt` tries
  each configured secret in turn, as FENIX does, and reports which one authenticated.

Error messages never contain plaintext, key material or header values.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from secrets import token_bytes
from typing import ClassVar, Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_IV_BYTES",
    "IV_HEADER",
    "KEY_BYTES",
    "MAX_IV_BYTES",
    "MIN_IV_BYTES",
    "TAG_BYTES",
    "TAG_HEADER",
    "AuthenticationFailedError",
    "BadBase64Error",
    "BadIVError",
    "BadSecretError",
    "BadTagError",
    "DecryptResult",
    "EmptyBodyError",
    "Envelope",
    "EnvelopeError",
    "MissingHeaderError",
    "NoSecretsError",
    "decode_secret",
    "decrypt",
    "decrypt_request",
    "encrypt",
    "generate_secret",
]

IV_HEADER: Final = "X-Initialization-Vector"
TAG_HEADER: Final = "X-Authentication-Tag"
# What to send when emitting: FENIX's endpoint only consumes text/plain, while SIBS's newer docs
# say application/json. text/plain is the one every known receiver accepts.
CONTENT_TYPE: Final = "text/plain"

KEY_BYTES: Final = 32
TAG_BYTES: Final = 16
DEFAULT_IV_BYTES: Final = 12
MIN_IV_BYTES: Final = 8
MAX_IV_BYTES: Final = 128

Part = Literal["body", "iv", "tag"]

_PART_NAMES: Final[dict[str, str]] = {
    "body": "request body",
    "iv": f"{IV_HEADER} header",
    "tag": f"{TAG_HEADER} header",
    "secret": "webhook secret",
}
_LINE_BREAKS = re.compile(r"[\r\n]+")
_OUTSIDE_ALPHABET = re.compile(r"[^A-Za-z0-9+/=]")


# --------------------------------------------------------------------------- errors


class EnvelopeError(ValueError):
    """Base class: the envelope could not be opened (or built). ``code`` is machine-readable,
    stable, and meant to be stored with the rejected delivery."""

    code: ClassVar[str] = "envelope_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingHeaderError(EnvelopeError):
    """``X-Initialization-Vector`` or ``X-Authentication-Tag`` is absent or empty."""

    code: ClassVar[str] = "missing_header"

    def __init__(self, header: str) -> None:
        super().__init__(f"the {header} header is missing or empty")
        self.header = header


class EmptyBodyError(EnvelopeError):
    """The request body is empty (after stripping whitespace)."""

    code: ClassVar[str] = "empty_body"


class BadBase64Error(EnvelopeError):
    """The body or a header is not strict standard Base64. ``part`` is ``body``, ``iv`` or
    ``tag``."""

    code: ClassVar[str] = "bad_base64"

    def __init__(self, message: str, *, part: Part) -> None:
        super().__init__(message)
        self.part = part


class BadIVError(EnvelopeError):
    """The IV decodes to a length AES-GCM cannot use."""

    code: ClassVar[str] = "bad_iv"


class BadTagError(EnvelopeError):
    """The authentication tag is not 16 bytes long."""

    code: ClassVar[str] = "bad_tag"


class BadSecretError(EnvelopeError):
    """A webhook secret is not Base64 of exactly 32 bytes (or raw bytes of the wrong size).

    ``index`` is the position in the list passed to :func:`decrypt`, when there was a list.
    """

    code: ClassVar[str] = "bad_secret"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        if index is not None:
            message = f"secret #{index}: {message}"
        super().__init__(message)
        self.index = index


class NoSecretsError(EnvelopeError):
    """:func:`decrypt` was given no secret to try — a configuration problem."""

    code: ClassVar[str] = "no_secrets"


class AuthenticationFailedError(EnvelopeError):
    """No secret authenticated the message: wrong key, or the body, IV or tag was altered.

    GCM cannot tell those cases apart, and that is the point: the payload must not be trusted.
    """

    code: ClassVar[str] = "authentication_failed"

    def __init__(self, *, attempts: int) -> None:
        plural = "" if attempts == 1 else "s"
        super().__init__(
            f"authentication failed with {attempts} configured secret{plural}: "
            "wrong webhook secret, or the body, IV or tag was altered in transit"
        )
        self.attempts = attempts


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Envelope:
    """An encrypted message ready to send: Base64 body and the two Base64 header values."""

    body: str
    iv: str
    tag: str

    def headers(self) -> dict[str, str]:
        """The ``X-Initialization-Vector`` and ``X-Authentication-Tag`` headers to send with
        :attr:`body`. (Send ``Content-Type:`` :data:`CONTENT_TYPE` as well.)"""
        return {IV_HEADER: self.iv, TAG_HEADER: self.tag}


@dataclass(frozen=True, slots=True)
class DecryptResult:
    """The authenticated plaintext and the index of the secret that opened it."""

    # Kept out of repr so a logged result never spills customer data.
    plaintext: bytes = field(repr=False)
    secret_index: int


# --------------------------------------------------------------------------- secrets


def decode_secret(text: str) -> bytes:
    """Decode a webhook secret as shown in SIBS Backoffice (Base64 of 32 bytes) to the AES key.

    Raises :class:`BadSecretError` with a message an operator can act on. Unlike FENIX, a longer
    key is not silently truncated to its first 32 bytes: that would accept a wrongly pasted
    value and only fail later, on every notification.
    """
    if not isinstance(text, str):
        raise BadSecretError(f"expected Base64 text, got {type(text).__name__}")
    cleaned = text.strip()
    if not cleaned:
        raise BadSecretError("the webhook secret is empty")
    try:
        key = _strict_b64decode(cleaned, what=_PART_NAMES["secret"])
    except _Base64Problem as problem:
        raise BadSecretError(str(problem)) from None
    if len(key) != KEY_BYTES:
        raise BadSecretError(
            f"the webhook secret decodes to {len(key)} bytes; SIBS webhook secrets are "
            f"{KEY_BYTES} bytes (AES-256), i.e. 44 Base64 characters ending in '='"
        )
    return key


def generate_secret() -> str:
    """A new webhook secret in the SIBS format: Base64 of 32 bytes from the OS CSPRNG."""
    return base64.b64encode(token_bytes(KEY_BYTES)).decode("ascii")


def _coerce_key(secret: bytes | str, *, index: int | None = None) -> bytes:
    # str is the Base64 form an operator handles; bytes is the raw key. A 44-byte bytes value is
    # therefore an error, not Base64 to be guessed at.
    if isinstance(secret, str):
        try:
            return decode_secret(secret)
        except BadSecretError as error:
            raise BadSecretError(error.message, index=index) from None
    if isinstance(secret, bytes | bytearray | memoryview):
        key = bytes(secret)
        if len(key) != KEY_BYTES:
            raise BadSecretError(
                f"a raw key must be {KEY_BYTES} bytes, got {len(key)} (pass the Base64 text as str, not bytes)",
                index=index,
            )
        return key
    raise BadSecretError(f"expected str or bytes, got {type(secret).__name__}", index=index)


# --------------------------------------------------------------------------- Base64


class _Base64Problem(Exception):
    """Internal: a Base64 validation failure, re-raised as the caller's error type."""


def _strict_b64decode(text: str, *, what: str) -> bytes:
    if "-" in text or "_" in text:
        raise _Base64Problem(
            f"the {what} contains '-' or '_' (URL-safe Base64); SIBS uses the standard alphabet with '+' and '/'"
        )
    stray = _OUTSIDE_ALPHABET.search(text)
    if stray is not None:
        # Report the position, never the character: for the secret it is key material.
        kind = "whitespace" if stray.group().isspace() else "a character outside the Base64 alphabet"
        raise _Base64Problem(f"the {what} contains {kind} at position {stray.start()}")
    if len(text) % 4:
        raise _Base64Problem(
            f"the {what} is {len(text)} characters long, not a multiple of 4 (truncated, or missing '=' padding)"
        )
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except binascii.Error:
        raise _Base64Problem(f"the {what} is not valid Base64 (misplaced '=' padding)") from None


def _decode_part(value: str, *, part: Part) -> bytes:
    try:
        return _strict_b64decode(value, what=_PART_NAMES[part])
    except _Base64Problem as problem:
        raise BadBase64Error(str(problem), part=part) from None


def _clean_body(body: bytes | str) -> str:
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as error:
            raise BadBase64Error(
                f"the request body contains a non-ASCII byte at position {error.start}; it must be Base64 text",
                part="body",
            ) from None
    elif isinstance(body, str):
        text = body
    else:
        raise BadBase64Error(f"the request body must be bytes or str, got {type(body).__name__}", part="body")
    return _LINE_BREAKS.sub("", text.strip())


def _clean_header(value: str | bytes | None, *, header: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is None or not value.strip():
        raise MissingHeaderError(header)
    return value.strip()


# --------------------------------------------------------------------------- encrypt / decrypt


def encrypt(plaintext: bytes | str, *, secret: bytes | str) -> Envelope:
    """Encrypt ``plaintext`` (str is encoded as UTF-8) the way SIBS does.

    ``secret`` is the Base64 webhook secret (str) or the raw 32-byte key (bytes). A fresh random
    12-byte IV is drawn for every call — there is deliberately no way to pass one in, since
    reusing a GCM nonce under the same key breaks both confidentiality and authentication.
    Raises :class:`BadSecretError` for a malformed secret and ``ValueError`` for an empty
    plaintext.
    """
    key = _coerce_key(secret)
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
    if not data:
        # An empty plaintext gives an empty body, which decrypt() rightly reads as "nothing
        # was sent". SIBS never sends empty notifications, so neither do we.
        raise ValueError("refusing to encrypt an empty plaintext: the body would be empty")
    iv = token_bytes(DEFAULT_IV_BYTES)
    sealed = AESGCM(key).encrypt(iv, data, None)
    # AESGCM returns ciphertext || tag; SIBS sends them apart.
    ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    return Envelope(
        body=base64.b64encode(ciphertext).decode("ascii"),
        iv=base64.b64encode(iv).decode("ascii"),
        tag=base64.b64encode(tag).decode("ascii"),
    )


def decrypt(
    *,
    body: bytes | str,
    iv: str | bytes | None,
    tag: str | bytes | None,
    secrets: Sequence[bytes | str],
) -> DecryptResult:
    """Authenticate and decrypt a SIBS webhook.

    ``body`` is the raw request body; ``iv`` and ``tag`` are the raw header values (``None`` when
    absent). ``secrets`` are tried in order — Base64 str or raw 32-byte bytes — and the first
    that authenticates wins; :attr:`DecryptResult.secret_index` says which. All secrets are
    validated before any is tried, so a broken configuration fails the same way whichever key
    the message happens to use.

    Raises a subclass of :class:`EnvelopeError`; checks run from cheapest to dearest:
    ``no_secrets``/``bad_secret``, ``missing_header``, ``empty_body``, ``bad_base64``,
    ``bad_iv``, ``bad_tag``, then ``authentication_failed``.
    """
    if isinstance(secrets, str | bytes):
        # A lone secret would otherwise be iterated character by character.
        raise TypeError("secrets must be a sequence of secrets, not a single secret")
    keys = [_coerce_key(secret, index=index) for index, secret in enumerate(secrets)]
    if not keys:
        raise NoSecretsError("no webhook secret is configured to decrypt this notification")

    iv_text = _clean_header(iv, header=IV_HEADER)
    tag_text = _clean_header(tag, header=TAG_HEADER)
    body_text = _clean_body(body)
    if not body_text:
        raise EmptyBodyError("the request body is empty; SIBS sends the Base64 ciphertext as the body")

    ciphertext = _decode_part(body_text, part="body")
    nonce = _decode_part(iv_text, part="iv")
    if not MIN_IV_BYTES <= len(nonce) <= MAX_IV_BYTES:
        raise BadIVError(
            f"the IV is {len(nonce)} bytes; AES-GCM here accepts {MIN_IV_BYTES} to {MAX_IV_BYTES} "
            f"bytes (SIBS is expected to use {DEFAULT_IV_BYTES})"
        )
    auth_tag = _decode_part(tag_text, part="tag")
    if len(auth_tag) != TAG_BYTES:
        raise BadTagError(f"the authentication tag is {len(auth_tag)} bytes; expected {TAG_BYTES}")

    sealed = ciphertext + auth_tag
    for index, key in enumerate(keys):
        try:
            plaintext = AESGCM(key).decrypt(nonce, sealed, None)
        except InvalidTag:
            continue
        return DecryptResult(plaintext=plaintext, secret_index=index)
    raise AuthenticationFailedError(attempts=len(keys))


def _header_key(name: str) -> str:
    # Accept both HTTP-style names ("X-Authentication-Tag") and WSGI META keys
    # ("HTTP_X_AUTHENTICATION_TAG"), in any case.
    key = name.lower().replace("_", "-")
    return key.removeprefix("http-")


def decrypt_request(
    *,
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: Sequence[bytes | str],
) -> DecryptResult:
    """:func:`decrypt` reading the IV and tag from a header mapping, case-insensitively
    (``request.headers`` and ``request.META`` both work)."""
    found: dict[str, str | None] = {_header_key(IV_HEADER): None, _header_key(TAG_HEADER): None}
    for name, value in headers.items():
        key = _header_key(name)
        if key in found and found[key] is None:
            found[key] = value
    return decrypt(
        body=body,
        iv=found[_header_key(IV_HEADER)],
        tag=found[_header_key(TAG_HEADER)],
        secrets=secrets,
    )
