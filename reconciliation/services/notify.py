"""One e-mail per imported file with exceptions, to the merchant's finance people."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from backoffice.models import Membership
from backoffice.roles import Capability, Role, has_capability
from reconciliation.models import ExceptionState, ReconciliationException, SettlementFile

# Who hears about exceptions: the Finance people; Owners when a merchant has no Finance member.
RECIPIENT_ROLES = (Role.FINANCE,)


def notify_file_exceptions(*, settlement_file_id: int) -> int:
    """Send the message once (``notified_at`` is claimed with a conditional UPDATE first)."""
    claimed = SettlementFile.objects.filter(pk=settlement_file_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return 0
    settlement_file = SettlementFile.objects.select_related("merchant").get(pk=settlement_file_id)
    merchant = settlement_file.merchant
    memberships = Membership.objects.filter(merchant=merchant, is_active=True, user__is_active=True).select_related(
        "user"
    )
    recipients = [m for m in memberships if m.role in RECIPIENT_ROLES]
    if not recipients:
        recipients = [m for m in memberships if m.role == Role.OWNER]
    recipients = [m for m in recipients if has_capability(m.role, Capability.RECONCILE)]
    kinds = (
        ReconciliationException.objects.filter(line__file=settlement_file, state=ExceptionState.OPEN)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    url = django_settings.SITE_URL + reverse("reconciliation:exceptions", kwargs={"merchant": merchant.slug})
    sent = 0
    for membership in recipients:
        # Store-limited people get the message too: the link shows them their stores only.
        with translation.override(membership.user.language or merchant.language):
            from reconciliation.models import ExceptionKind

            context = {
                "file": settlement_file,
                "merchant": merchant,
                "kinds": [(ExceptionKind(k["kind"]).label, k["n"]) for k in kinds],
                "url": url,
                "user": membership.user,
            }
            subject = render_to_string("reconciliation/email/exceptions_subject.txt", context).strip()
            body = render_to_string("reconciliation/email/exceptions.txt", context)
        EmailMultiAlternatives(subject=subject, body=body, to=[membership.user.email]).send()
        sent += 1
    return sent
