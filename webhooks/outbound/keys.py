"""The AES-256 key of a URL webhook: suggested by the backoffice or entered, always Base64 of 32 bytes."""

from __future__ import annotations

import base64

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backoffice.crypto import token_hash
from payments.sibs.envelope import BadSecretError, decode_secret, generate_secret


def suggest_key() -> str:
    """A new key in the SIBS format: Base64 of 32 random bytes (the OS CSPRNG)."""
    return generate_secret()


def validate_key(value: str) -> str:
    """The canonical Base64 form of an entered key, or ValidationError saying what is wrong.

    Same rules as the SIBS webhook secrets the inbound side accepts: strict standard Base64 of
    exactly 32 bytes; surrounding whitespace is ignored.
    """
    if not isinstance(value, str) or len(value) > 200:
        raise ValidationError(_("An encryption key is 44 Base64 characters (32 bytes)."), code="bad_key")
    try:
        key = decode_secret(value)
    except BadSecretError as error:
        raise ValidationError(
            _("This is not a valid encryption key: %(reason)s.") % {"reason": error.message}, code="bad_key"
        ) from None
    return base64.b64encode(key).decode("ascii")


def key_hint(canonical: str) -> str:
    """Eight characters of a keyed hash: tells two keys apart on screen, reveals nothing."""
    return token_hash("outbound-webhook-key:" + canonical)[:8]
