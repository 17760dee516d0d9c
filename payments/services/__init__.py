"""Writes of the payments app: applying SIBS's word to transactions, credentials, status inquiries.

* :mod:`.ledger` — notifications and status answers applied to transactions and their timelines;
* :mod:`.gateway` — gateway credentials and the SIBS client for each;
* :mod:`.inquiry` — the status sweeper.
"""

from payments.services.gateway import (
    client_for,
    credential_create,
    credential_deactivate,
    credential_for_transaction,
)
from payments.services.inquiry import status_sweep_claim, transaction_inquire
from payments.services.ledger import inquiry_apply, masked_payload, notification_apply, operations_relink

__all__ = [
    "client_for",
    "credential_create",
    "credential_deactivate",
    "credential_for_transaction",
    "inquiry_apply",
    "masked_payload",
    "notification_apply",
    "operations_relink",
    "status_sweep_claim",
    "transaction_inquire",
]
