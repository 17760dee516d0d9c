"""Who may approve a refund waiting for a second pair of eyes.

An API key acts for the person who created it: a refund an Owner's key asked for is that
Owner's request, so the Owner cannot approve it in the browser. The approver must differ from
the person who asked (signed in) and from the creator of the key that asked.
"""

from __future__ import annotations

from payments.models import PaymentOperation


def requester_ids(operation: PaymentOperation) -> frozenset[int]:
    """Every person a request counts as coming from."""
    ids = {operation.requested_by_id, operation.requested_by_key_creator_id}
    return frozenset(pk for pk in ids if pk is not None)


def is_own_request(operation: PaymentOperation, user_id: int | None) -> bool:
    return user_id is not None and user_id in requester_ids(operation)
