"""Celery adapters for inbound notifications: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task

from webhooks.inbound import services


@shared_task(name="webhooks.process_inbound")
def process_inbound(inbound_id: int) -> str:
    # Safe to run twice (a redelivery after a killed worker): the service locks the row and
    # leaves a processed one alone.
    return services.notification_process(inbound_id=inbound_id)


@shared_task(name="webhooks.process_inbound_batch")
def process_inbound_batch(inbound_ids: list[int]) -> dict:
    """What the web processes publish: the notifications stored since their last publish.

    Each is processed in its own transaction; one that fails is left to the sweep and does not
    stop the others. Redelivered after a killed worker, the ones done are no-ops.
    """
    return services.notification_process_many(inbound_ids=inbound_ids)


@shared_task(name="webhooks.sweep_inbound")
def sweep_inbound() -> dict:
    """Every minute: process whatever was stored and not processed (broker outage, lost task)."""
    return services.inbound_sweep()


@shared_task(name="webhooks.prune_rejected")
def prune_rejected() -> int:
    return services.rejected_prune()


# --------------------------------------------------------------------------- outbound relay


@shared_task(name="webhooks.deliver")
def deliver_webhooks(delivery_ids: list[int]) -> dict:
    """Send these deliveries now (queued after the notification that created them committed).

    Safe to run twice or after a killed worker: each delivery is claimed under a lease first,
    and one already sent, or being sent, is not claimed again.
    """
    from webhooks.outbound import engine

    return engine.pump(ids=[int(pk) for pk in delivery_ids], time_budget=engine.TASK_TIME_BUDGET).as_dict()


@shared_task(name="webhooks.sweep_deliveries")
def sweep_deliveries() -> dict:
    """Every 30 s: send every due delivery (retries, lost tasks, killed workers) and the give-up e-mails."""
    from webhooks.outbound import engine

    return engine.sweep()


@shared_task(name="webhooks.failure_digest")
def failure_digest() -> dict:
    """Every few minutes: at WEBHOOK_DIGEST_HOUR (Lisbon), each failure e-mail gets its daily summary, once."""
    from webhooks.outbound import digest

    return digest.digest_run()
