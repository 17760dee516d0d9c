"""Per-process cache of each inbound endpoint and its decrypted webhook secrets.

The inbound view runs at every notification and must stay lean, so an endpoint's keys are
read from the database (and decrypted) at most once per ``INBOUND_SECRET_CACHE_SECONDS`` per
process. A change made in this process (new secret, revocation, endpoint settings) clears the
cache at once; other processes see it within that time. Until then a just-added secret fails to
authenticate there, so a failure reloads the entry (at most every ``RELOAD_AFTER_FAILURE``
seconds per token) before refusing: a rotation never loses a notification, and a flood of bad
requests cannot turn into a flood of queries.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from payments.sibs.envelope import BadSecretError, decode_secret
from webhooks.models import InboundEndpoint, WebhookSecret

logger = logging.getLogger(__name__)

RELOAD_AFTER_FAILURE = 2.0
# Unknown tokens are cached too (as None), so scanners cost no query; the cache is bounded.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class EndpointKeys:
    endpoint_id: int
    merchant_id: int
    ack_status_code: str
    secret_ids: tuple[int, ...]
    keys: tuple[bytes, ...] = field(repr=False)
    loaded_at: float


_entries: dict[str, tuple[float, EndpointKeys | None]] = {}
_lock = threading.Lock()


def lookup(token: str) -> EndpointKeys | None:
    now = time.monotonic()
    hit = _entries.get(token)
    if hit is not None and now - hit[0] < settings.INBOUND_SECRET_CACHE_SECONDS:
        return hit[1]
    return _store(token, now)


def reload_after_failure(token: str) -> EndpointKeys | None:
    """A fresh read, unless this entry was read less than RELOAD_AFTER_FAILURE seconds ago."""
    now = time.monotonic()
    hit = _entries.get(token)
    if hit is not None and now - hit[0] < RELOAD_AFTER_FAILURE:
        return None
    return _store(token, now)


def invalidate() -> None:
    with _lock:
        _entries.clear()


def invalidate_on_commit() -> None:
    transaction.on_commit(invalidate)


def _store(token: str, now: float) -> EndpointKeys | None:
    value = _load(token, now)
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[token] = (now, value)
    return value


def _load(token: str, now: float) -> EndpointKeys | None:
    endpoint = (
        InboundEndpoint.objects.filter(token=token, is_active=True, merchant__is_active=True)
        .values("pk", "merchant_id", "ack_status_code")
        .first()
    )
    if endpoint is None:
        return None
    ids, keys = [], []
    # Newest first: after a rotation the new secret is the likely one.
    for secret in WebhookSecret.objects.filter(merchant_id=endpoint["merchant_id"], revoked_at__isnull=True).order_by(
        "-created_at", "-pk"
    ):
        try:
            keys.append(decode_secret(secret.secret))
        except BadSecretError:  # validated on entry; only a tampered row gets here
            logger.error("webhook secret %s of merchant %s is not a valid key", secret.pk, endpoint["merchant_id"])
            continue
        ids.append(secret.pk)
    return EndpointKeys(
        endpoint_id=endpoint["pk"],
        merchant_id=endpoint["merchant_id"],
        ack_status_code=endpoint["ack_status_code"],
        secret_ids=tuple(ids),
        keys=tuple(keys),
        loaded_at=now,
    )
