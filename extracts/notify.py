"""E-mails of the export engine: a link to the file (never the file itself), and the note to
Owners when a schedule stops."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from backoffice.models import Membership
from backoffice.roles import Role
from extracts.models import Extract, ExtractSchedule


def _send(*, to: list, template: str, context: dict) -> None:
    for user in to:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(
                render_to_string(f"email/{template}_subject.txt", context).split()
            )
            text = render_to_string(f"email/{template}.txt", {**context, "user": user})
            html = render_to_string(f"email/{template}.html", {**context, "user": user})
        message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
        message.attach_alternative(html, "text/html")
        message.send()


def extract_url(extract: Extract) -> str:
    return settings.SITE_URL + reverse("extracts:detail", kwargs={"merchant": extract.merchant.slug, "pk": extract.pk})


def extract_ready(extract: Extract) -> None:
    if extract.schedule_id:
        from extracts.services import recipients_allowed

        people = recipients_allowed(extract.schedule) if extract.schedule else []
    else:
        people = [extract.requested_by] if extract.requested_by_id else []
    if not people:
        return
    _send(
        to=people,
        template="extract_ready",
        context={"extract": extract, "merchant": extract.merchant, "url": extract_url(extract)},
    )


def schedule_stopped(schedule: ExtractSchedule, reason: str) -> None:
    owners = [
        m.user
        for m in Membership.objects.filter(merchant=schedule.merchant, role=Role.OWNER, is_active=True).select_related(
            "user"
        )
    ]
    if owners:
        _send(
            to=owners,
            template="extract_schedule_stopped",
            context={"schedule": schedule, "merchant": schedule.merchant, "reason": reason},
        )
