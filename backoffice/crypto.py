"""Secrets at rest (gateway tokens, webhook keys) and hashing of one-time credentials."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils.functional import SimpleLazyObject


def _build() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.SECRETS_ENCRYPTION_KEYS])


_fernet = SimpleLazyObject(_build)


class SecretDecryptionError(Exception):
    """The stored value was encrypted with a key that is no longer configured."""


def encrypt_secret(plaintext: str) -> str:
    return _fernet.encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted: check SECRETS_ENCRYPTION_KEY (all past keys must stay listed)."
        ) from None


class EncryptedTextField(models.TextField):
    """A text column encrypted with the installation's key (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt_secret(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt_secret(value)


def token_hash(token: str) -> str:
    """Hash for high-entropy tokens (API keys): SHA-256 keyed with SECRET_KEY, so a leaked table alone is useless."""
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# Activation codes are read aloud and typed: no 0/O, 1/I/L, no vowels (no accidental words).
CODE_ALPHABET = "23456789BCDFGHJKMNPQRSTVWXZ"


def generate_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
