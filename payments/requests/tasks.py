"""Celery adapters for payment requests: each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="payments.requests.send_reference_email")
def send_reference_email(request_pk: int, reminder: bool = False) -> bool:
    from payments.requests.emails import reference_email_send

    return reference_email_send(request_pk=request_pk, reminder=reminder)


@shared_task(name="payments.requests.sweep")
def sweep() -> int:
    """Every minute: requests whose answer was lost are asked about (by their own ids)."""
    from payments.requests.services import payment_requests_sweep_claim

    claimed = payment_requests_sweep_claim()
    for pk in claimed:
        try:
            inquire.apply_async((pk,), retry=False)
        except Exception:
            logger.warning("could not enqueue the inquiry of payment request %s", pk, exc_info=True)
    return len(claimed)


@shared_task(name="payments.requests.inquire")
def inquire(request_pk: int) -> str:
    from payments.requests.services import payment_request_inquire

    return payment_request_inquire(request_pk=request_pk)
