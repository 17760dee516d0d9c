"""Celery adapters of the export engine (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task

from extracts import services


@shared_task(name="extracts.run")
def run_extract(extract_id: int) -> None:
    services.extract_run(extract_id)


@shared_task(name="extracts.expire")
def expire_extracts() -> int:
    return services.expire_files()


@shared_task(name="extracts.run_schedules")
def run_schedules() -> int:
    return services.run_due_schedules()
