"""The relay engine: deliveries written before any attempt, claimed under a lease, sent with
connection reuse from a small thread pool, recorded, retried from the database, given up.

The delivery rows are the outbox. A delivery is *due* when it is pending and its
``next_attempt_at`` has passed. Whoever sends it (the task queued after the notification was
processed, the periodic sweep, a person's resend) first *claims* it: in one statement the row
gets a fresh ``lease_token`` and its ``next_attempt_at`` moves a lease ahead, so nobody else
finds it due meanwhile. Candidates are read with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite, which serialises writers, the conditional ``UPDATE ... WHERE due`` alone
decides who wins. A worker killed mid-send, a lost task or a database blip leave the row
leased; when the lease ends it is due again and the sweep sends it. Nothing waits in the
broker: a retry is a future ``next_attempt_at``.

A delivery becomes *delivered* only on an acknowledgement (HTTP 200 and a JSON body echoing the
``notificationID`` with ``statusMsg`` ``Success`` and ``statusCode`` ``"200"`` or ``"000"``).
An acknowledgement is recorded even if the lease ran out meanwhile (the merchant has it); a
failure is only scheduled under the current lease, so a late worker cannot move a retry.

Throttle: at most ``WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT`` deliveries of one webhook are leased at
a time across all workers (counted when claiming; on PostgreSQL claims that touch the same
webhook take its row lock first, so two workers claiming at once cannot both fill the cap), and
a worker uses ``WEBHOOK_SEND_THREADS`` threads, more than that cap: a slow
endpoint holds some threads, never all of them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from payments.sibs.ack import check_ack
from payments.sibs.envelope import CONTENT_TYPE, encrypt
from webhooks.models import (
    DeliveryAttempt,
    DeliveryState,
    InboundNotification,
    OutboundWebhook,
    WebhookDelivery,
    WebhookKind,
)
from webhooks.outbound import transport
from webhooks.outbound.classify import classify
from webhooks.outbound.resolution import candidates, resolve_among
from webhooks.outbound.schedule import RetryPolicy

logger = logging.getLogger(__name__)

ERROR_CHARS = 1000
# A sweep (every 30 s) stops claiming after this long, so runs do not pile up.
SWEEP_TIME_BUDGET = 25.0
TASK_TIME_BUDGET = 60.0


def lease_duration() -> timedelta:
    """How long a claim holds a delivery: two full sends plus a margin. A killed worker's
    deliveries are due again after this."""
    return timedelta(seconds=2 * (settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT) + 5)


# --------------------------------------------------------------------------- creating


def deliveries_create(
    *, inbound: InboundNotification, payload: dict[str, Any], txn=None, now: datetime | None = None
) -> list[int]:
    """One pending, due delivery per webhook that applies to this notification. Call inside the
    transaction that marks the notification processed; enqueue the ids after it commits.

    Idempotent: (webhook, inbound) is unique, a second call creates nothing new.
    """
    notification_type = classify(payload)
    if notification_type is None:
        logger.info("notification %s has no recognised type; not relayed", inbound.notification_id)
        return []
    webhooks = candidates(inbound.merchant_id)
    if not webhooks:
        return []
    terminal_id = getattr(txn, "terminal_id", None)
    store_id = getattr(txn, "store_id", None)
    _level, winners, _shadowed = resolve_among(
        webhooks, notification_type=notification_type, terminal_id=terminal_id, store_id=store_id
    )
    if not winners:
        return []
    now = now or timezone.now()
    notification_id = payload.get("notificationID", payload.get("notificationId", inbound.notification_id))
    if not isinstance(notification_id, str):
        notification_id = inbound.notification_id
    rows = [
        WebhookDelivery(
            webhook=webhook,
            merchant_id=inbound.merchant_id,
            inbound=inbound,
            transaction=txn if getattr(txn, "pk", None) else None,
            notification_id=notification_id[:255],
            notification_type=notification_type,
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            cycle_started_at=now,
            created_at=now,
        )
        for webhook in winners
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        WebhookDelivery.objects.filter(inbound=inbound, webhook__in=winners, state=DeliveryState.PENDING).values_list(
            "pk", flat=True
        )
    )


def enqueue(delivery_ids: list[int]) -> bool:
    """Queue a delivery task. A broker that is down loses nothing: the rows stay due and the
    sweep sends them. Returns whether the task was queued."""
    if not delivery_ids:
        return True
    from webhooks.outbound.tasks import deliver_webhooks

    try:
        deliver_webhooks.apply_async((list(delivery_ids),), retry=False)
    except Exception:
        logger.warning(
            "could not queue %d webhook deliveries; the sweep will send them", len(delivery_ids), exc_info=True
        )
        return False
    return True


def enqueue_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        ids = list(delivery_ids)
        transaction.on_commit(lambda: enqueue(ids))


# --------------------------------------------------------------------------- claiming


def claim(
    *,
    limit: int,
    ids: list[int] | None = None,
    now: datetime | None = None,
    webhook_id: int | None = None,
    exclude_webhooks: set[int] | None = None,
) -> list[WebhookDelivery]:
    """Lease up to ``limit`` due deliveries (only among ``ids`` when given), oldest due first,
    respecting the per-endpoint in-flight cap. Returns them with webhook, merchant and inbound
    loaded; each carries the ``lease_token`` to record its result under."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    token = secrets.token_hex(16)
    lease_end = now + lease_duration()
    cap = settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT
    # A deactivated webhook's deliveries wait (paused) until it is active again.
    due = WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, webhook__is_active=True)
    if ids is not None:
        due = due.filter(pk__in=ids)
    if webhook_id is not None:
        due = due.filter(webhook_id=webhook_id)
    if exclude_webhooks:
        due = due.exclude(webhook_id__in=exclude_webhooks)
    with transaction.atomic():
        rows = due.order_by("next_attempt_at", "pk")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        # Read more than needed so a throttled endpoint does not starve the others in this batch.
        candidates_ = list(rows.values_list("pk", "webhook_id")[: limit * 4])
        if not candidates_:
            return []
        webhook_ids = {w for _pk, w in candidates_}
        if connection.vendor == "postgresql":
            # Serialise claims per webhook (in id order: no deadlock between claimers) so the
            # in-flight count below sees every lease another claim committed meanwhile.
            # FOR NO KEY UPDATE does not block new deliveries referencing the webhook.
            list(
                OutboundWebhook.objects.select_for_update(no_key=True)
                .filter(pk__in=webhook_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        in_flight = dict(
            WebhookDelivery.objects.filter(
                webhook_id__in=webhook_ids, state=DeliveryState.PENDING, leased_until__gt=now
            )
            .values_list("webhook_id")
            .annotate(n=Count("pk"))
            .values_list("webhook_id", "n")
        )
        chosen: list[int] = []
        for pk, webhook in candidates_:
            if in_flight.get(webhook, 0) >= cap:
                continue
            in_flight[webhook] = in_flight.get(webhook, 0) + 1
            chosen.append(pk)
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        # The condition re-checks due-ness: on SQLite this is what makes the claim exclusive.
        WebhookDelivery.objects.filter(pk__in=chosen, state=DeliveryState.PENDING, next_attempt_at__lte=now).update(
            lease_token=token, leased_until=lease_end, next_attempt_at=lease_end
        )
    return _loaded(
        list(
            WebhookDelivery.objects.filter(pk__in=chosen, lease_token=token)
            .select_related("inbound")
            .defer("payload")
            .order_by("pk")
        )
    )


def _loaded(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Attach each delivery's webhook (with its merchant) and, for tests and resends without a
    stored notification, its payload: one query each for the whole batch, and each webhook's key
    decrypted once per batch rather than once per delivery."""
    if not deliveries:
        return deliveries
    webhooks = OutboundWebhook.objects.select_related("merchant").in_bulk({d.webhook_id for d in deliveries})
    without_inbound = [d.pk for d in deliveries if d.inbound_id is None]
    payloads = (
        dict(WebhookDelivery.objects.filter(pk__in=without_inbound).values_list("pk", "payload"))
        if without_inbound
        else {}
    )
    for delivery in deliveries:
        delivery.webhook = webhooks[delivery.webhook_id]
        if delivery.inbound_id is None:
            # The deferred field's value, set here: no query when a sending thread reads it.
            delivery.payload = payloads.get(delivery.pk, "")
    return deliveries


# --------------------------------------------------------------------------- sending


@dataclass
class Outcome:
    """What one try produced; recorded by :func:`record`."""

    delivery: WebhookDelivery
    token: str
    started_at: datetime
    acknowledged: bool
    duration_ms: int = 0
    http_status: int | None = None
    excerpt: str = ""
    error: str = ""


def relay_plaintext(delivery: WebhookDelivery) -> str:
    """The notification JSON to relay: the original as SIBS sent it, or the stored test payload."""
    if delivery.inbound_id is not None:
        return delivery.inbound.plaintext
    return delivery.payload


def send_one(delivery: WebhookDelivery, *, http=None) -> Outcome:
    """One try, no database access (safe in a thread)."""
    started_at = timezone.now()
    webhook = delivery.webhook
    outcome = Outcome(delivery=delivery, token=delivery.lease_token, started_at=started_at, acknowledged=False)
    try:
        plaintext = relay_plaintext(delivery)
        if not plaintext:
            outcome.error = "nothing to relay: the notification is no longer stored"
            return outcome
        if webhook.kind == WebhookKind.EMAIL:
            return _send_email(delivery, plaintext, outcome)
        envelope = encrypt(plaintext, secret=webhook.encryption_key)
    except Exception as error:  # a broken key or payload must not stop the batch
        outcome.error = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
        return outcome
    headers = {"Content-Type": CONTENT_TYPE, **envelope.headers()}
    result = transport.post(webhook.url, data=envelope.body, headers=headers, http=http)
    outcome.duration_ms = result.duration_ms
    outcome.http_status = result.http_status
    outcome.excerpt = result.excerpt
    if result.error:
        outcome.error = result.error[:ERROR_CHARS]
        return outcome
    verdict = check_ack(result.http_status or 0, result.body, delivery.notification_id)
    outcome.acknowledged = verdict.ok
    if not verdict.ok:
        outcome.error = f"not acknowledged: {verdict.reason}"[:ERROR_CHARS]
    return outcome


def _send_email(delivery: WebhookDelivery, plaintext: str, outcome: Outcome) -> Outcome:
    from webhooks.outbound import emails

    started = time.monotonic()
    try:
        emails.send_notification_email(delivery.webhook, json.loads(plaintext), is_test=delivery.is_test)
    except Exception as error:
        outcome.error = f"e-mail not sent: {type(error).__name__}: {error}"[:ERROR_CHARS]
    else:
        outcome.acknowledged = True
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


# --------------------------------------------------------------------------- recording


def record(outcomes: list[Outcome], *, now: datetime | None = None, policy: RetryPolicy | None = None) -> list[int]:
    """Record tries in one transaction; returns the ids of deliveries given up just now."""
    if not outcomes:
        return []
    policy = policy or RetryPolicy.from_settings()
    given_up: list[int] = []
    with transaction.atomic():
        ids = [o.delivery.pk for o in outcomes]
        current = {
            d.pk: d
            for d in WebhookDelivery.objects.select_for_update()
            .filter(pk__in=ids)
            .only("pk", "cycle_started_at", "is_test", *_WRITTEN)
        }
        changed: dict[int, WebhookDelivery] = {}
        attempts: list[DeliveryAttempt] = []
        for outcome in outcomes:
            row = current.get(outcome.delivery.pk)
            if row is None:
                continue  # deleted meanwhile (its webhook was removed)
            finished = now or timezone.now()
            row.attempts += 1
            attempts.append(
                DeliveryAttempt(
                    delivery_id=row.pk,
                    number=row.attempts,
                    started_at=outcome.started_at,
                    duration_ms=max(0, outcome.duration_ms),
                    http_status=outcome.http_status,
                    response_excerpt=outcome.excerpt,
                    error=outcome.error,
                    acknowledged=outcome.acknowledged,
                )
            )
            row.last_attempt_at = outcome.started_at
            row.last_http_status = outcome.http_status
            row.last_error = outcome.error
            holds_lease = row.lease_token == outcome.token and row.state == DeliveryState.PENDING
            if outcome.acknowledged and row.state == DeliveryState.PENDING:
                row.state = DeliveryState.DELIVERED
                row.delivered_at = finished
                row.next_attempt_at = None
                row.lease_token, row.leased_until = "", None
                row.cycle_attempts += 1
            elif holds_lease:
                row.cycle_attempts += 1
                row.lease_token, row.leased_until = "", None
                at = None
                if not row.is_test:
                    at = policy.next_attempt(
                        tries_done=row.cycle_attempts, cycle_started_at=row.cycle_started_at, now=finished
                    )
                if at is None:
                    row.state = DeliveryState.FAILED
                    row.failed_at = finished
                    row.next_attempt_at = None
                    if not row.is_test:
                        given_up.append(row.pk)
                else:
                    row.next_attempt_at = at
            changed[row.pk] = row
        _write(list(changed.values()))
        DeliveryAttempt.objects.bulk_create(attempts)
        if given_up:
            ids_given_up = list(given_up)
            transaction.on_commit(lambda: _notify_given_up_quietly(ids_given_up))
    return given_up


_WRITTEN = (
    "state",
    "attempts",
    "cycle_attempts",
    "next_attempt_at",
    "last_attempt_at",
    "last_http_status",
    "last_error",
    "lease_token",
    "leased_until",
    "delivered_at",
    "failed_at",
)


def _write(rows: list[WebhookDelivery]) -> None:
    """One parameterised UPDATE per row, sent with executemany (pipelined by psycopg): far
    cheaper than ``bulk_update``'s CASE expressions for a batch of results."""
    if not rows:
        return
    meta = WebhookDelivery._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in _WRITTEN]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Identifiers come from the model's metadata, quoted; every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _notify_given_up_quietly(ids: list[int]) -> None:
    from webhooks.outbound import emails

    try:
        emails.notify_given_up(ids)
    except Exception:
        logger.exception("could not send the give-up e-mail for deliveries %s; the sweep will retry", ids)


# --------------------------------------------------------------------------- the pump


_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    if _executor is not None and _executor_pid == os.getpid():
        return _executor
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=settings.WEBHOOK_SEND_THREADS, thread_name_prefix="webhook-send")
            _executor_pid = os.getpid()
        return _executor


@dataclass
class PumpResult:
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed_attempts": self.failed_attempts,
            "given_up": self.given_up,
        }


RECORD_BATCH = 50
RECORD_EVERY = 0.05
# An endpoint whose answer takes longer than this, or that cannot be reached, is *slow* for the
# rest of the pump: one send at a time, no new claims, and what was claimed for it but not
# started is released (due again after SLOW_BACKOFF, not counted as a try).
SLOW_MS = 2000
SLOW_BACKOFF = timedelta(seconds=30)


def release(deliveries: list[WebhookDelivery], *, until: datetime) -> int:
    """Give back claimed, unsent deliveries: due again at ``until``, no try recorded."""
    count = 0
    for delivery in deliveries:
        count += WebhookDelivery.objects.filter(
            pk=delivery.pk, lease_token=delivery.lease_token, state=DeliveryState.PENDING
        ).update(lease_token="", leased_until=None, next_attempt_at=until)
    return count


def pump(
    *,
    ids: list[int] | None = None,
    time_budget: float = SWEEP_TIME_BUDGET,
    max_deliveries: int | None = None,
    threads: int | None = None,
) -> PumpResult:
    """Send due deliveries (only ``ids`` when given) until none is due, the budget is spent or
    ``max_deliveries`` were sent. Claims keep a local queue of about four per thread; results
    are recorded in batches. One webhook never runs on more than three quarters of the threads,
    and a slow one on a single thread (see SLOW_MS). What is claimed is sent and recorded, or
    released, before returning."""
    threads = threads or settings.WEBHOOK_SEND_THREADS
    per_webhook = max(1, (threads * 3) // 4)
    pool = executor()
    http = transport.session()
    result = PumpResult()
    deadline = time.monotonic() + time_budget
    queue: list[WebhookDelivery] = []
    running: dict[Future, int] = {}
    busy: dict[int, int] = defaultdict(int)
    slow: set[int] = set()
    done: list[Outcome] = []
    last_record = time.monotonic()
    exhausted = False
    need_claim = True
    claimed_total = 0
    remaining_ids = list(ids) if ids is not None else None

    def flush() -> None:
        nonlocal last_record, need_claim
        need_claim = True
        if not done:
            return
        batch = done[:]
        done.clear()
        try:
            given = record(batch)
        except Exception:
            # A database blip: the leases run out and the sweep tries again. Never "delivered"
            # without a recorded acknowledgement.
            logger.exception("could not record %d webhook attempts; they will be retried", len(batch))
            given = []
        result.given_up += len(given)
        for outcome in batch:
            result.sent += 1
            if outcome.acknowledged:
                result.delivered += 1
            else:
                result.failed_attempts += 1
        last_record = time.monotonic()

    def mark_slow(webhook_id: int) -> None:
        slow.add(webhook_id)
        held = [d for d in queue if d.webhook_id == webhook_id]
        if held:
            queue[:] = [d for d in queue if d.webhook_id != webhook_id]
            try:
                release(held, until=timezone.now() + SLOW_BACKOFF)
            except Exception:
                logger.exception("could not release deliveries of slow webhook %s; their lease will end", webhook_id)

    while True:
        want = threads * 4 - len(queue) - len(running)
        can_claim = need_claim and not exhausted and time.monotonic() < deadline
        if max_deliveries is not None and claimed_total >= max_deliveries:
            can_claim = False
        # Claim in batches (each claim is a few round trips), topping the queue up when it is half empty.
        if can_claim and want >= threads * 2:
            limit = want if max_deliveries is None else min(want, max_deliveries - claimed_total)
            try:
                got = claim(limit=limit, ids=remaining_ids, exclude_webhooks=slow)
            except Exception:
                logger.exception("could not claim webhook deliveries")
                got = []
            if got:
                claimed_total += len(got)
                queue.extend(got)
                if remaining_ids is not None:
                    taken = {d.pk for d in got}
                    remaining_ids = [pk for pk in remaining_ids if pk not in taken]
                    exhausted = not remaining_ids
            elif not running and not queue and not done:
                exhausted = True  # nothing due (or all of it throttled by other workers)
            else:
                need_claim = False  # throttled by our own sends: claim again after recording them
        # Start what the per-webhook limits allow, oldest claimed first.
        index = 0
        while index < len(queue) and len(running) < threads:
            delivery = queue[index]
            limit_here = 1 if delivery.webhook_id in slow else per_webhook
            if busy[delivery.webhook_id] >= limit_here:
                index += 1
                continue
            queue.pop(index)
            busy[delivery.webhook_id] += 1
            running[pool.submit(send_one, delivery, http=http)] = delivery.webhook_id
        if not running:
            flush()
            if queue:
                continue
            if exhausted or time.monotonic() >= deadline:
                break
            if max_deliveries is not None and claimed_total >= max_deliveries:
                break
            continue
        finished, _pending = wait(list(running), timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
        for future in finished:
            webhook_id = running.pop(future)
            busy[webhook_id] -= 1
            outcome = future.result()
            done.append(outcome)
            unreachable = not outcome.acknowledged and outcome.http_status is None
            if (unreachable or outcome.duration_ms > SLOW_MS) and webhook_id not in slow:
                mark_slow(webhook_id)
        # Record when a batch is full, when the pipeline runs dry (recording frees the
        # endpoint's in-flight slots for the next claim), or at least every RECORD_EVERY.
        starving = not queue and len(running) <= threads // 2
        if done and (len(done) >= RECORD_BATCH or starving or time.monotonic() - last_record >= RECORD_EVERY):
            flush()
    return result


def sweep(*, time_budget: float = SWEEP_TIME_BUDGET) -> dict[str, int]:
    """Send everything due (retries, deliveries whose task was lost or whose worker died), then
    send give-up e-mails that were not sent yet."""
    from webhooks.outbound import emails

    counts = pump(time_budget=time_budget).as_dict()
    try:
        counts["given_up_paused"] = give_up_paused()
    except Exception:
        logger.exception("could not give up deliveries of disabled webhooks")
        counts["given_up_paused"] = 0
    try:
        counts["give_up_emails"] = emails.notify_given_up()
    except Exception:
        logger.exception("could not send give-up e-mails")
        counts["give_up_emails"] = 0
    return counts


PAUSED_GIVEN_UP = "given up: the webhook stayed disabled past the retry period"


def give_up_paused(*, now: datetime | None = None, policy: RetryPolicy | None = None) -> int:
    """Deliveries of a disabled webhook are paused: never claimed, and resumed (due at once) when
    it is enabled again. One still paused when its retry cycle reaches the maximum age
    (``WEBHOOK_MAX_AGE_DAYS``) is given up like any other, without a give-up e-mail: disabling
    the webhook was someone's decision. Returns how many."""
    now = now or timezone.now()
    policy = policy or RetryPolicy.from_settings()
    return WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING,
        webhook__is_active=False,
        is_test=False,
        cycle_started_at__lte=now - policy.max_age,
    ).update(
        state=DeliveryState.FAILED,
        failed_at=now,
        next_attempt_at=None,
        lease_token="",
        leased_until=None,
        last_error=PAUSED_GIVEN_UP,
        failure_notified_at=now,
    )


def due_count(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).count()


def webhook_health(webhook: OutboundWebhook, *, now: datetime | None = None) -> dict[str, Any]:
    """Success rate of attempts over the last 24 hours and the pending backlog of one webhook."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    attempts = DeliveryAttempt.objects.filter(delivery__webhook=webhook, started_at__gte=since).aggregate(
        total=Count("pk"), ok=Count("pk", filter=Q(acknowledged=True))
    )
    total, ok = attempts["total"] or 0, attempts["ok"] or 0
    return {
        "attempts_24h": total,
        "acknowledged_24h": ok,
        "success_rate_24h": (ok / total) if total else None,
        "pending": webhook.deliveries.filter(state=DeliveryState.PENDING).count(),
        "failed": webhook.deliveries.filter(state=DeliveryState.FAILED).count(),
    }


def group_by_webhook(deliveries: list[WebhookDelivery]) -> dict[int, list[WebhookDelivery]]:
    groups: dict[int, list[WebhookDelivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.webhook_id].append(delivery)
    return groups
