"""Celery adapters for the outbound relay: each takes ids (or nothing) and calls the engine."""

from __future__ import annotations

from celery import shared_task


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
