"""Celery adapters: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reconciliation.notify_exceptions", ignore_result=True)
def notify_exceptions(settlement_file_id: int) -> None:
    from reconciliation.services.notify import notify_file_exceptions

    notify_file_exceptions(settlement_file_id=settlement_file_id)


@shared_task(name="reconciliation.rematch_all", ignore_result=True)
def rematch_all() -> None:
    """Late notifications and the passing of business days: match again, sweep the missing."""
    from reconciliation.models import ReconciliationSettings
    from reconciliation.services.importing import rematch

    for settings in ReconciliationSettings.objects.filter(expected_from__isnull=False).select_related("merchant"):
        rematch(merchant=settings.merchant)


@shared_task(name="reconciliation.sftp_pickup_all", ignore_result=True)
def sftp_pickup_all() -> None:
    from reconciliation.models import ReconciliationSettings

    for pk in ReconciliationSettings.objects.filter(sftp_enabled=True).values_list("pk", flat=True):
        sftp_pickup.delay(pk)


@shared_task(name="reconciliation.sftp_pickup", ignore_result=True)
def sftp_pickup(settings_id: int) -> None:
    from reconciliation.services.sftp import pickup

    pickup(settings_id=settings_id)
