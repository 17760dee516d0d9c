"""Writes of the inbound side: endpoints and secrets, storing and processing notifications,
and the log of refused ones."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit, untrusted
from backoffice.access import Access
from backoffice.audit import SYSTEM, Actor
from backoffice.crypto import token_hash
from backoffice.models import Merchant
from backoffice.roles import Capability
from payments.services import ledger
from payments.sibs.envelope import BadSecretError, decode_secret, generate_secret
from payments.sibs.notification import NotificationError, parse_notification
from webhooks import outbound
from webhooks.inbound import dispatch, keyring
from webhooks.models import (
    AckStatusCode,
    InboundEndpoint,
    InboundNotification,
    InboundState,
    RejectedNotification,
    SecretOrigin,
    WebhookSecret,
)

logger = logging.getLogger(__name__)

# Each active secret costs one AES-GCM attempt on every notification that does not open with
# the ones before it; rotation needs two, a few per store or terminal are plenty.
MAX_ACTIVE_SECRETS = 10
BODY_EXCERPT_CHARS = 2048
PLAINTEXT_EXCERPT_CHARS = 4096
# A stored notification not processed after this long is picked up by the sweep (the task
# normally runs within a second; the grace keeps the sweep from racing it).
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 1000
SWEEP_TIME_BUDGET = 45.0


# --------------------------------------------------------------------------- endpoints


def endpoint_ensure(merchant: Merchant) -> InboundEndpoint:
    """The merchant's inbound endpoint, created on first use."""
    endpoint = InboundEndpoint.objects.filter(merchant=merchant).first()
    if endpoint is not None:
        return endpoint
    try:
        with transaction.atomic():
            return InboundEndpoint.objects.create(merchant=merchant, token=secrets.token_urlsafe(24))
    except IntegrityError:
        return InboundEndpoint.objects.get(merchant=merchant)


def endpoint_update(*, access: Access, actor: Actor, ack_status_code: str) -> InboundEndpoint:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if ack_status_code not in AckStatusCode.values:
        raise ValidationError({"ack_status_code": _("Choose one of the listed values.")})
    with transaction.atomic():
        endpoint = InboundEndpoint.objects.select_for_update().get(pk=endpoint_ensure(access.merchant).pk)
        if endpoint.ack_status_code != ack_status_code:
            before = {"ack_status_code": endpoint.ack_status_code}
            endpoint.ack_status_code = ack_status_code
            endpoint.save(update_fields=["ack_status_code"])
            audit.record(
                actor=actor,
                action="inbound_endpoint.updated",
                merchant=access.merchant,
                obj=endpoint,
                before=before,
                after={"ack_status_code": ack_status_code},
            )
            keyring.invalidate_on_commit()
    return endpoint


# --------------------------------------------------------------------------- secrets


def _secret_hash(canonical: str) -> str:
    return token_hash("webhook-secret:" + canonical)


def secret_add(*, merchant: Merchant, actor: Actor, label: str, canonical: str, origin: str) -> WebhookSecret:
    """Add an already validated secret (canonical Base64 of 32 bytes). People go through
    :func:`secret_generate` or :func:`secret_enter`; this is for the system (seed_demo)."""
    label = (label or "").strip()[:100]
    digest = _secret_hash(canonical)
    with transaction.atomic():
        # Lock the merchant's secrets so the count and duplicate checks hold under concurrency.
        active = list(
            WebhookSecret.objects.select_for_update()
            .filter(merchant=merchant, revoked_at__isnull=True)
            .only("pk", "secret_hash")
        )
        if any(s.secret_hash == digest for s in active):
            raise ValidationError({"secret": _("This secret is already active for this merchant.")})
        if len(active) >= MAX_ACTIVE_SECRETS:
            raise ValidationError(
                _("A merchant can have at most %(n)d active secrets. Revoke one you no longer use first.")
                % {"n": MAX_ACTIVE_SECRETS}
            )
        try:
            with transaction.atomic():
                secret = WebhookSecret.objects.create(
                    merchant=merchant,
                    label=label,
                    secret=canonical,
                    secret_hash=digest,
                    origin=origin,
                    created_by=actor.user,
                )
        except IntegrityError:
            raise ValidationError({"secret": _("This secret is already active for this merchant.")}) from None
        audit.record(
            actor=actor,
            action="webhook_secret.created",
            merchant=merchant,
            obj=secret,
            after={"label": label, "origin": origin, "fingerprint": secret.fingerprint},
        )
        endpoint_ensure(merchant)
        keyring.invalidate_on_commit()
    return secret


def secret_generate(*, access: Access, actor: Actor, label: str = "") -> tuple[WebhookSecret, str]:
    """A new random secret (32 bytes, Base64) for SIBS Backoffice; the plaintext is shown once."""
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    plaintext = generate_secret()
    secret = secret_add(
        merchant=access.merchant, actor=actor, label=label, canonical=plaintext, origin=SecretOrigin.GENERATED
    )
    return secret, plaintext


def secret_enter(*, access: Access, actor: Actor, label: str = "", secret: str) -> WebhookSecret:
    """A secret generated (or typed) in SIBS Backoffice: must be Base64 of exactly 32 bytes."""
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if not isinstance(secret, str) or len(secret) > 200:
        raise ValidationError({"secret": _("A SIBS webhook secret is 44 Base64 characters.")})
    try:
        key = decode_secret(secret)
    except BadSecretError as error:
        raise ValidationError(
            {"secret": _("This is not a SIBS webhook secret: %(reason)s.") % {"reason": error.message}}
        ) from None
    canonical = base64.b64encode(key).decode("ascii")
    return secret_add(
        merchant=access.merchant, actor=actor, label=label, canonical=canonical, origin=SecretOrigin.ENTERED
    )


def secret_revoke(*, access: Access, actor: Actor, secret: WebhookSecret) -> None:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if secret.merchant_id != access.merchant.pk:
        raise PermissionDenied
    revoked = audit.change_once(
        queryset=WebhookSecret.objects.filter(pk=secret.pk, revoked_at__isnull=True),
        update={"revoked_at": timezone.now()},
        actor=actor,
        action="webhook_secret.revoked",
        merchant=access.merchant,
        obj=secret,
        before={"active": True, "fingerprint": secret.fingerprint},
        after={"active": False},
    )
    if revoked:
        keyring.invalidate_on_commit()


# --------------------------------------------------------------------------- storing (hot path)


_INSERT_COLUMNS = (
    "merchant",
    "notification_id",
    "transaction_ref",
    "received_at",
    "body",
    "headers",
    "plaintext",
    "secret",
    "state",
    "attempts",
    "last_error",
    "processed_at",
)
_insert_sql: dict[str, str] = {}


def _insert_statement(connection) -> str:
    """``INSERT … ON CONFLICT (merchant, notification_id) DO NOTHING RETURNING id``, built once.

    One statement that never fails on a duplicate (PostgreSQL, and SQLite from 3.35): no
    exception, no savepoint, no extra round trip on the path SIBS waits on.
    """
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        meta = InboundNotification._meta
        quote = connection.ops.quote_name
        columns = [meta.get_field(name).column for name in _INSERT_COLUMNS]
        # Identifiers come from the model's metadata, quoted; every value is a parameter.
        table, names = quote(meta.db_table), ", ".join(quote(c) for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        conflict = f"{quote('merchant_id')}, {quote('notification_id')}"
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders}) ON CONFLICT ({conflict}) DO NOTHING "  # noqa: S608
        sql += f"RETURNING {quote(meta.pk.column)}"
        _insert_sql[connection.vendor] = sql
    return sql


def _execute_insert(connection, params: list):
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_insert_statement(connection), params)
            return cursor.fetchone()
    # PostgreSQL: a server-side prepared statement (parsed and planned once per connection) on a
    # plain psycopg cursor, still inside Django's error translation.
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_insert_statement(connection), params, prepare=True)
        return cursor.fetchone()


def inbound_store(
    *,
    merchant_id: int,
    notification_id: str,
    transaction_id: str,
    body: str,
    headers: dict,
    plaintext: str,
    secret_id: int | None,
    received_at: datetime,
) -> int | None:
    """Store an authenticated notification durably, then hand it to a worker after the commit.

    Returns the new row's id, or None for a duplicate ``notificationID`` (nothing changes). The
    unique constraint decides, so two deliveries at the same moment cannot both be stored.

    This is the one write on the acknowledgement path, so it skips the ORM's per-object work
    (about half a millisecond of CPU) and sends a single statement. In autocommit (the usual
    case, no ``ATOMIC_REQUESTS``) it is its own transaction, committed when it returns. Values
    that need it go through their field's own preparation, so the row is exactly what
    ``create()`` would write (the plaintext encrypted, the headers as JSON, the time as stored).
    """
    connection = transaction.get_connection()
    meta = InboundNotification._meta
    params = [
        merchant_id,
        notification_id,
        transaction_id,
        meta.get_field("received_at").get_db_prep_save(received_at, connection),
        body,
        meta.get_field("headers").get_db_prep_save(headers, connection),
        meta.get_field("plaintext").get_db_prep_save(plaintext, connection),  # encrypted here
        secret_id,
        InboundState.RECEIVED.value,
        0,
        "",
        None,
    ]
    row = _execute_insert(connection, params)
    if row is None:
        return None
    inbound_id = row[0]
    transaction.on_commit(lambda: inbound_enqueue(inbound_id))
    return inbound_id


def inbound_enqueue(inbound_id: int) -> None:
    """Hand a stored notification to a worker, without waiting for the broker (see
    :mod:`webhooks.dispatch`). A broker that is down loses nothing: the sweep processes what
    no task did."""
    dispatch.enqueue(inbound_id)


# --------------------------------------------------------------------------- rejected log


@dataclass(frozen=True)
class Rejection:
    reason: str
    http_status: int
    message: str


def _admit_rejection(merchant_id: int) -> tuple[bool, int]:
    """(store it?, rejections not stored since the last stored one)."""
    limit = settings.INBOUND_REJECTED_PER_MINUTE
    window = f"inbound-rejected:{merchant_id}:{int(time.time() // 60)}"
    pending = f"inbound-rejected-suppressed:{merchant_id}"
    try:
        cache.add(window, 0, 120)
        count = cache.incr(window)
        if count > limit:
            cache.add(pending, 0, 7 * 24 * 3600)
            cache.incr(pending)
            return False, 0
        suppressed = cache.get(pending) or 0
        if suppressed:
            cache.decr(pending, suppressed)
        return True, suppressed
    except Exception:  # the cache is down: keep logging; pruning still bounds the table
        logger.warning("rejected-notification rate limit unavailable", exc_info=True)
        return True, 0


def rejected_suppressed_count(merchant_id: int) -> int:
    try:
        return cache.get(f"inbound-rejected-suppressed:{merchant_id}") or 0
    except Exception:
        return 0


MAX_RECORDED_SIZE = 2**31 - 1  # body_size's column; the message keeps the exact figure


def rejected_record(
    *,
    merchant_id: int,
    rejection: Rejection,
    body: bytes | None,
    body_size: int,
    headers: dict,
    remote_addr: str | None,
    plaintext: bytes | None = None,
    received_at: datetime,
) -> RejectedNotification | None:
    store, suppressed = _admit_rejection(merchant_id)
    logger.info("inbound notification for merchant %s refused: %s", merchant_id, rejection.reason)
    if not store:
        return None
    excerpt = (body or b"")[:BODY_EXCERPT_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")
    plain = None
    if plaintext is not None:
        plain = plaintext[:PLAINTEXT_EXCERPT_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")
    return RejectedNotification.objects.create(
        merchant_id=merchant_id,
        received_at=received_at,
        reason=rejection.reason[:40],
        http_status=rejection.http_status,
        message=rejection.message[:1000],
        body_size=min(body_size, MAX_RECORDED_SIZE),  # a declared Content-Length may be anything
        body_excerpt=excerpt,
        headers=headers,
        remote_addr=remote_addr,
        plaintext_excerpt=plain,
        suppressed_before=suppressed,
    )


def rejected_prune(*, keep: int | None = None) -> int:
    """Keep the newest ``INBOUND_REJECTED_KEEP`` rows of each merchant."""
    keep = keep or settings.INBOUND_REJECTED_KEEP
    deleted = 0
    for merchant_id in RejectedNotification.objects.values_list("merchant_id", flat=True).distinct():
        rows = RejectedNotification.objects.filter(merchant_id=merchant_id)
        cutoff = rows.order_by("-received_at", "-id").values_list("received_at", "id")[keep : keep + 1]
        cutoff = list(cutoff)
        if cutoff:
            at, pk = cutoff[0]
            deleted += rows.filter(received_at__lte=at).exclude(received_at=at, id__gt=pk).delete()[0]
    return deleted


# --------------------------------------------------------------------------- processing


def notification_process(*, inbound_id: int) -> str:
    """Apply a stored notification to its transaction. Idempotent: the row is locked and a
    processed one is left alone, and the event is unique per transaction and notification.
    """
    try:
        with transaction.atomic():
            inbound = (
                InboundNotification.objects.select_for_update().select_related("merchant").filter(pk=inbound_id).first()
            )
            if inbound is None:
                return "missing"
            if inbound.state != InboundState.RECEIVED:
                return f"already_{inbound.state}"
            notification = parse_notification(inbound.plaintext)
            decoded = untrusted.cleaned(json.loads(inbound.plaintext))  # the parser flagged what it cleaned
            applied = ledger.notification_apply(
                merchant=inbound.merchant,
                payload=notification,
                stored_payload=ledger.masked_payload(decoded),
                occurred_at=inbound.received_at,
                notification_id=notification.raw_notification_id,
                inbound=inbound,
            )
            # The relay's outbox rows, in this same transaction: committed with "processed" or
            # not at all. Queued after the commit; a queue that fails leaves them due for the sweep.
            relay_ids = outbound.deliveries_create(inbound=inbound, payload=decoded, txn=applied.transaction)
            outbound.enqueue_on_commit(relay_ids)
            now = timezone.now()
            inbound.state = InboundState.PROCESSED
            inbound.processed_at = now
            inbound.attempts += 1
            inbound.last_error = ""
            inbound.save(update_fields=["state", "processed_at", "attempts", "last_error"])
            if inbound.secret_id:
                # "Last used" to the minute, without a write per notification.
                WebhookSecret.objects.filter(pk=inbound.secret_id).exclude(
                    last_used_at__gt=now - timedelta(minutes=1)
                ).update(last_used_at=now)
        return "processed"
    except NotificationError as error:
        # Parsed fine when stored, so this is a parser change: retrying will not help.
        _record_failure(inbound_id, f"{error.code}: {error.message}", final=True)
        return "failed"
    except Exception as error:
        _record_failure(inbound_id, f"{type(error).__name__}: {error}", final=False)
        raise


def _record_failure(inbound_id: int, message: str, *, final: bool) -> None:
    limit = settings.INBOUND_MAX_ATTEMPTS
    InboundNotification.objects.filter(pk=inbound_id, state=InboundState.RECEIVED).update(
        attempts=F("attempts") + 1,
        last_error=message[:2000],
        state=Value(InboundState.FAILED)
        if final
        else Case(When(attempts__gte=limit - 1, then=Value(InboundState.FAILED)), default=Value(InboundState.RECEIVED)),
    )


def notification_process_many(*, inbound_ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pk in inbound_ids:
        try:
            outcome = notification_process(inbound_id=int(pk))
        except Exception:
            logger.exception("could not process inbound notification %s; the sweep will try again", pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def inbound_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Process what was stored and never processed (broker down, task lost), oldest first,
    within a time budget so runs do not pile up. Also re-tries linking orphan operations."""
    now = now or timezone.now()
    started = time.monotonic()
    ids = list(
        InboundNotification.objects.filter(state=InboundState.RECEIVED, received_at__lte=now - SWEEP_GRACE)
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch]
    )
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    for pk in ids:
        if time.monotonic() - started > SWEEP_TIME_BUDGET:
            break
        try:
            outcome = notification_process(inbound_id=pk)
        except Exception:
            logger.exception("sweep could not process inbound notification %s", pk)
            counts["failed"] += 1
            continue
        counts["processed" if outcome == "processed" else "skipped"] += 1
    counts["relinked"] = ledger.operations_relink()
    return counts


def inbound_reprocess(*, inbound_ids: list[int], actor: Actor = SYSTEM) -> int:
    """Put failed notifications back in line for the sweep (platform staff, from the admin)."""
    with transaction.atomic():
        failed = list(
            InboundNotification.objects.select_for_update()
            .filter(pk__in=inbound_ids, state=InboundState.FAILED)
            .values_list("pk", "merchant_id")
        )
        InboundNotification.objects.filter(pk__in=[pk for pk, _m in failed]).update(
            state=InboundState.RECEIVED, attempts=0
        )
        for pk, merchant_id in failed:
            audit.record(
                actor=actor,
                action="inbound_notification.reprocess",
                merchant=Merchant(pk=merchant_id),
                before={"id": pk, "state": InboundState.FAILED},
                after={"state": InboundState.RECEIVED},
            )
    return len(failed)
