"""The e-mail that tells every approver a refund is waiting for them (one each, in their language)."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from common.money import format_money
from payments.approvals.selectors import approvers
from payments.models import OperationState, PaymentOperation

logger = logging.getLogger(__name__)


def approval_requested(operation: PaymentOperation) -> None:
    """Call inside the transaction that created a request waiting for approval: the e-mails go
    once it is committed (never a network call inside it, never for a request rolled back)."""
    pk = operation.pk
    transaction.on_commit(lambda: notify_approvers(pk))


def notify_approvers(operation_pk: int) -> int:
    """E-mail each approver of the request, if it is still waiting; returns how many were sent."""
    op = (
        PaymentOperation.objects.select_related("original", "merchant", "requested_by")
        .filter(pk=operation_pk, state=OperationState.PENDING_APPROVAL)
        .first()
    )
    if op is None:
        return 0
    merchant = op.merchant
    url = settings.SITE_URL + reverse("payments:approvals", kwargs={"merchant": merchant.slug})
    sent = 0
    for person in approvers(op):
        language = person.language or merchant.language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {
                "person": person,
                "merchant": merchant,
                "op": op,
                "kind": op.get_kind_display(),
                "amount": format_money(op.amount, op.currency),
                "requester": op.requested_by.display_name if op.requested_by else op.requested_by_label,
                "reason": op.get_reason_display(),
                "url": url,
            }
            subject = (
                settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
                + re.sub(r"[\r\n\t ]+", " ", render_to_string("email/approval_requested_subject.txt", context)).strip()
            )
            text = render_to_string("email/approval_requested.txt", context)
            html = render_to_string("email/approval_requested.html", context)
        message = EmailMultiAlternatives(subject=subject, body=text, to=[person.email])
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except Exception:  # one failing address must not keep the others from knowing
            logger.warning("approval e-mail to %s not sent", person.email, exc_info=True)
            continue
        sent += 1
    return sent
