"""The customer's e-mail with a MULTIBANCO reference, in the language chosen on the request."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.dates import lisbon
from common.money import format_money
from payments.requests.models import PaymentRequest


def format_reference(number: str) -> str:
    """``123456789`` as ATMs show it: ``123 456 789``."""
    digits = (number or "").replace(" ", "")
    return " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def reference_context(request: PaymentRequest, *, language: str | None = None) -> dict:
    language = language or request.language
    return {
        "request": request,
        "merchant_name": request.merchant.name,
        "entity": request.reference_entity,
        "reference": format_reference(request.reference_number),
        "amount": format_money(request.amount, request.currency, language="pt-PT" if language == "pt" else "en"),
        "expiry": lisbon(request.reference_expiry, with_seconds=False) if request.reference_expiry else "",
        "order_reference": request.order_reference,
        "description": request.description,
    }


def reference_email_send(*, request_pk: int, reminder: bool = False) -> bool:
    """Send the reference to the customer; False when there is nothing to send."""
    request = PaymentRequest.objects.select_related("merchant").filter(pk=request_pk).first()
    if request is None or not request.customer_email or not request.reference_number:
        return False
    language = "pt" if request.language == "pt" else "en"
    with translation.override(language):
        context = {**reference_context(request, language=language), "reminder": reminder}
        subject = render_to_string("payments/requests/email/reference_subject.txt", context).strip()
        text = render_to_string("payments/requests/email/reference.txt", context)
        html = render_to_string("payments/requests/email/reference.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.customer_email],
    )
    message.attach_alternative(html, "text/html")
    message.send()
    if not reminder:
        PaymentRequest.objects.filter(pk=request.pk, email_sent_at__isnull=True).update(email_sent_at=timezone.now())
    return True
