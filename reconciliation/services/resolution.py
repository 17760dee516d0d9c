"""What people do with exceptions: resolve (match by hand, accept, write off), reopen, in bulk.

Each action locks the exception row, checks its state again under the lock ("already
resolved" is a no-op, not an error), appends to its history and to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.audit import record as audit
from backoffice.roles import Capability
from payments.models import Transaction
from reconciliation.models import (
    ActionKind,
    ExceptionAction,
    ExceptionKind,
    ExceptionState,
    LineStatus,
    MatchMethod,
    ReconciliationException,
    Resolution,
    ResolutionReason,
    SettlementLine,
)

CHOOSABLE = (Resolution.MATCHED_MANUALLY, Resolution.ACCEPTED, Resolution.WRITTEN_OFF)
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Decision:
    resolution: str
    reason: str
    comment: str = ""
    transaction: Transaction | None = None

    def validate(self) -> None:
        if self.resolution not in CHOOSABLE:
            raise ValidationError({"resolution": _("Choose how the exception is resolved.")})
        if self.reason not in ResolutionReason.values:
            raise ValidationError({"reason": _("Choose a reason.")})
        if self.reason == ResolutionReason.OTHER and not self.comment.strip():
            raise ValidationError({"comment": _("Say why in a comment when the reason is “Other”.")})
        if len(self.comment) > MAX_COMMENT:
            raise ValidationError({"comment": _("A comment has at most 2000 characters.")})
        if self.resolution == Resolution.MATCHED_MANUALLY and self.transaction is None:
            raise ValidationError({"transaction": _("Choose the transaction this line settles.")})


def _locked(access: Access, pk: int) -> ReconciliationException:
    return access.scope(ReconciliationException.objects.select_for_update()).get(pk=pk)


def _snapshot(exc: ReconciliationException) -> dict:
    return {"state": exc.state, "kind": exc.kind, "resolution": exc.resolution, "reason": exc.resolution_reason}


def exception_resolve(*, access: Access, actor: Actor, pk: int, decision: Decision) -> bool:
    """Resolve one exception; False when it was already resolved."""
    access.require(Capability.RECONCILE)
    decision.validate()
    now = timezone.now()
    with transaction.atomic():
        exc = _locked(access, pk)
        if exc.state != ExceptionState.OPEN:
            return False
        before = _snapshot(exc)
        line = exc.line
        if decision.resolution == Resolution.MATCHED_MANUALLY:
            if line is None or exc.kind == ExceptionKind.DUPLICATE:
                raise ValidationError(
                    {"resolution": _("Only a settlement line that is counted can be matched to a transaction.")}
                )
            txn = decision.transaction
            if txn.merchant_id != access.merchant.pk or not access.allows_store(txn.store_id):
                raise ValidationError({"transaction": _("That transaction is not one you can see.")})
            if (
                SettlementLine.objects.filter(transaction=txn, is_current=True, reconciled=True)
                .exclude(pk=line.pk)
                .exists()
            ):
                raise ValidationError({"transaction": _("That transaction is already settled by another line.")})
            SettlementLine.objects.filter(pk=line.pk).update(
                transaction=txn,
                store=txn.store or line.store,
                status=LineStatus.MATCHED,
                match_method=MatchMethod.MANUAL,
                reconciled=True,
            )
        elif line is not None:
            SettlementLine.objects.filter(pk=line.pk).update(reconciled=True)
        exc.state = ExceptionState.RESOLVED
        exc.resolution = decision.resolution
        exc.resolution_reason = decision.reason
        exc.resolved_at = now
        exc.save(update_fields=["state", "resolution", "resolution_reason", "resolved_at"])
        ExceptionAction.objects.create(
            exception=exc,
            action=ActionKind.RESOLVED,
            resolution=decision.resolution,
            reason=decision.reason,
            comment=decision.comment.strip(),
            matched_transaction=decision.transaction,
            actor=actor.user,
            actor_label=actor.label,
            created_at=now,
        )
        audit(
            actor=actor,
            action="reconciliation.exception_resolved",
            merchant=access.merchant,
            obj=exc,
            before=before,
            after={
                **_snapshot(exc),
                "comment": decision.comment.strip(),
                "transaction": decision.transaction.transaction_id if decision.transaction else None,
            },
        )
    return True


def exception_reopen(*, access: Access, actor: Actor, pk: int, comment: str = "") -> bool:
    """Reopen a resolved exception; a manual match is undone. False when it was open already."""
    access.require(Capability.RECONCILE)
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": _("A comment has at most 2000 characters.")})
    now = timezone.now()
    with transaction.atomic():
        exc = _locked(access, pk)
        if exc.state != ExceptionState.RESOLVED:
            return False
        before = _snapshot(exc)
        line = exc.line
        if line is not None:
            changes = {"reconciled": False}
            if exc.resolution == Resolution.MATCHED_MANUALLY:
                changes.update(transaction=exc.transaction, status=exc.kind, match_method="")
            elif exc.resolution == Resolution.AUTO and line.status == LineStatus.MATCHED:
                # Closed because the line matched: the line is fine, nothing to reopen.
                return False
            SettlementLine.objects.filter(pk=line.pk).update(**changes)
        exc.state = ExceptionState.OPEN
        exc.resolution = ""
        exc.resolution_reason = ""
        exc.resolved_at = None
        exc.save(update_fields=["state", "resolution", "resolution_reason", "resolved_at"])
        ExceptionAction.objects.create(
            exception=exc,
            action=ActionKind.REOPENED,
            comment=comment.strip(),
            actor=actor.user,
            actor_label=actor.label,
            created_at=now,
        )
        audit(
            actor=actor,
            action="reconciliation.exception_reopened",
            merchant=access.merchant,
            obj=exc,
            before=before,
            after={**_snapshot(exc), "comment": comment.strip()},
        )
    return True


def exceptions_bulk_resolve(*, access: Access, actor: Actor, pks: list[int], decision: Decision) -> int:
    """Resolve the chosen exceptions with one reason (accept or write off), all or none."""
    if decision.resolution == Resolution.MATCHED_MANUALLY:
        raise ValidationError({"resolution": _("Match lines one at a time.")})
    decision.validate()
    pks = sorted(set(pks))[:1000]
    with transaction.atomic():
        visible = set(access.scope(ReconciliationException.objects.filter(pk__in=pks)).values_list("pk", flat=True))
        return sum(
            exception_resolve(access=access, actor=actor, pk=pk, decision=decision) for pk in pks if pk in visible
        )
