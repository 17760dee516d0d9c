"""Celery adapters: the daily Check with SIBS of every terminal, one task per terminal."""

from __future__ import annotations

import logging

from celery import shared_task

from payments.methods.services import check

logger = logging.getLogger(__name__)


@shared_task(name="payments.methods.check_all")
def check_all() -> int:
    terminals = check.terminals_to_check()
    for pk in terminals:
        try:
            check_terminal.apply_async((pk,), retry=False)
        except Exception:
            logger.warning("could not enqueue the payment methods check of terminal %s", pk, exc_info=True)
    return len(terminals)


@shared_task(name="payments.methods.check_terminal")
def check_terminal(terminal_pk: int) -> str:
    return check.terminal_check(terminal_pk=terminal_pk).outcome
