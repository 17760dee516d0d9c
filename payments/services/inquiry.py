"""The status sweeper: ask SIBS about transactions no notification settled.

SIBS recommends a status inquiry when no notification arrives (PROTOCOL.md §1.4). A transaction
still ``Pending``/``InProcessing``/``Partial`` ``STATUS_SWEEP_AGE_MINUTES`` after it was first seen
is due; each inquiry pushes the next one further away (10, 20, 40 minutes… at most 6 hours
apart), and after ``STATUS_SWEEP_GIVE_UP_HOURS`` the sweeper stops asking.

The sweep claims due transactions with a conditional UPDATE (two overlapping sweeps never ask
twice) and enqueues one inquiry each; the inquiry calls SIBS outside any database transaction,
then applies the answer with the same precedence rules as notifications.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from payments.models import PENDING_STATUSES, Transaction
from payments.services import ledger
from payments.services.gateway import client_for, credential_for_transaction
from payments.sibs.client import SibsApiError

logger = logging.getLogger(__name__)


def status_sweep_claim(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim the transactions due for an inquiry; returns their ids."""
    now = now or timezone.now()
    limit = limit or settings.STATUS_SWEEP_BATCH
    give_up = now - timedelta(hours=settings.STATUS_SWEEP_GIVE_UP_HOURS)
    # Too old to keep asking: stop, once, in one statement.
    Transaction.objects.filter(next_inquiry_at__isnull=False, created_at__lt=give_up).update(next_inquiry_at=None)
    due = list(
        Transaction.objects.filter(
            next_inquiry_at__lte=now, payment_status__in=PENDING_STATUSES, created_at__gte=give_up
        )
        .order_by("next_inquiry_at")
        .values_list("pk", "next_inquiry_at", "inquiry_count")[:limit]
    )
    claimed = []
    for pk, due_at, count in due:
        updated = Transaction.objects.filter(pk=pk, next_inquiry_at=due_at).update(
            next_inquiry_at=now + ledger.next_inquiry_delay(count + 1),
            inquiry_count=F("inquiry_count") + 1,
            last_inquiry_at=now,
        )
        if updated:
            claimed.append(pk)
    return claimed


def transaction_inquire(*, transaction_pk: int) -> str:
    """Ask SIBS for one transaction's status and apply the answer. Returns the outcome."""
    txn = Transaction.objects.filter(pk=transaction_pk).first()
    if txn is None:
        return "missing"
    credential = credential_for_transaction(txn)
    now = timezone.now()
    if credential is None:
        ledger.inquiry_failed(
            transaction_pk=txn.pk,
            occurred_at=now,
            detail="no active gateway credential for this transaction's terminal, store or merchant",
        )
        return "no_credential"
    # The network call happens here, with no database transaction open.
    try:
        status, response = client_for(credential).status(txn.transaction_id)
    except SibsApiError as error:
        logger.info("status inquiry for transaction %s failed: %s", txn.pk, error.message)
        ledger.inquiry_failed(
            transaction_pk=txn.pk,
            occurred_at=now,
            detail=f"{error.code}: {error.message}",
            http_status=error.http_status,
        )
        return error.code
    if status.payment_status is None:
        code = status.return_status.code if status.return_status else None
        message = status.return_status.message if status.return_status else None
        ledger.inquiry_failed(
            transaction_pk=txn.pk,
            occurred_at=now,
            detail=f"no paymentStatus in the answer (returnStatus {code} {message})",
            http_status=response.http_status,
        )
        return "no_status"
    stored = ledger.masked_payload(json.loads(response.body.decode("utf-8-sig")))
    with transaction.atomic():
        applied = ledger.inquiry_apply(
            transaction_pk=txn.pk,
            payload=status,
            stored_payload=stored,
            occurred_at=now,
            http_status=response.http_status,
        )
    return applied.outcome
