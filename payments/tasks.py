"""Celery adapters for payments: each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

from payments import services

# Payment requests keep their adapters beside their services; gathered here for autodiscovery.
from payments.requests import tasks as payment_request_tasks  # noqa: F401

logger = logging.getLogger(__name__)


@shared_task(name="payments.sweep_status")
def sweep_status() -> int:
    """Every minute: claim transactions no notification settled and ask SIBS about each."""
    claimed = services.status_sweep_claim()
    for pk in claimed:
        try:
            inquire_status.apply_async((pk,), retry=False)
        except Exception:
            # Claimed but not asked: it comes due again after its back-off.
            logger.warning("could not enqueue the status inquiry of transaction %s", pk, exc_info=True)
    # Refunds, captures and cancellations whose answer was lost: ask SIBS by their own id.
    from payments.services.operations import operations_sweep_claim

    operations = operations_sweep_claim()
    for pk in operations:
        try:
            inquire_operation.apply_async((pk,), retry=False)
        except Exception:
            logger.warning("could not enqueue the status inquiry of operation %s", pk, exc_info=True)
    return len(claimed) + len(operations)


@shared_task(name="payments.inquire_status")
def inquire_status(transaction_pk: int) -> str:
    return services.transaction_inquire(transaction_pk=transaction_pk)


@shared_task(name="payments.inquire_operation")
def inquire_operation(operation_pk: int) -> str:
    from payments.services.operations import operation_inquire

    return operation_inquire(operation_pk=operation_pk)


# Tasks of the payments sub-packages (Celery discovers ``payments.tasks`` only).
from payments.dashboards.tasks import rollups_sweep  # noqa: E402, F401
