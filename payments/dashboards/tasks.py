"""Celery adapter: the sweep of dashboard rollups (beat, every few seconds)."""

from __future__ import annotations

from celery import shared_task

from payments.dashboards import services


@shared_task(name="payments.rollups_sweep")
def rollups_sweep() -> int:
    done = total = services.rollups_sweep()
    while done == services.SWEEP_BATCH:  # a backlog (a rebuild of marks, an outage): keep going
        done = services.rollups_sweep()
        total += done
    return total
