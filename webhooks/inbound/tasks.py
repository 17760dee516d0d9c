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
