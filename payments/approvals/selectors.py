"""Reads for the approver's side of four eyes, always scoped to what the access may see."""

from __future__ import annotations

from django.db.models import QuerySet

from backoffice.access import Access
from backoffice.models import Membership
from backoffice.roles import Capability, Role, has_capability
from payments.models import OperationState, PaymentOperation


def awaiting_approval(*, access: Access) -> QuerySet[PaymentOperation]:
    """Requests waiting for a second person in ``access``'s merchant (and stores), oldest first."""
    access.require(Capability.OPERATE_PAYMENTS)
    qs = PaymentOperation.objects.filter(merchant=access.merchant, state=OperationState.PENDING_APPROVAL)
    if access.is_store_limited:
        qs = qs.filter(original__store_id__in=list(access.store_ids))
    return qs.select_related("original", "original__store", "requested_by").order_by("created_at", "pk")


def awaiting_count(access: Access) -> int:
    """How many requests ``access`` could approve now (its own requests are another's to decide):
    the number next to Awaiting approval in the menu; 0 for those who cannot approve."""
    if access.user is None or not access.can(Capability.OPERATE_PAYMENTS):
        return 0
    return awaiting_approval(access=access).exclude(requested_by=access.user).count()


def approvers(operation: PaymentOperation) -> list:
    """The people who may approve ``operation``: active members of its merchant whose role may
    refund, who see its store, and who did not ask for it."""
    roles = [role.value for role in Role if has_capability(role.value, Capability.OPERATE_PAYMENTS)]
    memberships = (
        Membership.objects.filter(
            merchant_id=operation.merchant_id, is_active=True, user__is_active=True, role__in=roles
        )
        .exclude(user_id=operation.requested_by_id)
        .select_related("user")
        .prefetch_related("stores")
    )
    store_id = operation.original.store_id
    people = []
    for membership in memberships:
        stores = {s.pk for s in membership.stores.all()}
        if stores and store_id not in stores:
            continue
        if not membership.user.has_usable_password():
            continue  # invited, not yet activated: nothing they could do with the e-mail
        people.append(membership.user)
    return people
