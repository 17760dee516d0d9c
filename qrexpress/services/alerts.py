"""E-mails to the people who look after QR Code Express: low stock (once per crossing) and
expiry reminders (once per expiry date)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from backoffice.models import Membership
from backoffice.roles import Role
from qrexpress.models import ProductStatus, QrProduct

EXPIRY_REMINDER_DAYS = 7


def recipients(product: QrProduct) -> list[tuple[str, str]]:
    """(e-mail, language) of the QR Code Managers who may see the product's store; the Owners
    and Administrators when the merchant has no QR Code Manager."""
    memberships = (
        Membership.objects.filter(merchant_id=product.merchant_id, is_active=True, user__is_active=True)
        .filter(Q(stores__isnull=True) | Q(stores=product.store_id))
        .select_related("user")
        .distinct()
    )
    managers = [m for m in memberships if m.role == Role.QR_MANAGER]
    chosen = managers or [m for m in memberships if m.role in (Role.OWNER, Role.ADMINISTRATOR)]
    return sorted({(m.user.email, m.user.language or "en") for m in chosen})


def _send(template: str, product: QrProduct, context: dict) -> int:
    sent = 0
    url = settings.SITE_URL + reverse("qrexpress:product", kwargs={"merchant": product.merchant.slug, "pk": product.pk})
    for email, language in recipients(product):
        with translation.override(language):
            full = {"product": product, "url": url, "merchant": product.merchant, **context}
            subject = " ".join(render_to_string(f"qrexpress/email/{template}_subject.txt", full).split())
            text = render_to_string(f"qrexpress/email/{template}.txt", full)
        message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email])
        message.send()
        sent += 1
    return sent


def low_stock_alert_send(*, product_id: int) -> int:
    product = QrProduct.objects.select_related("merchant", "terminal").filter(pk=product_id).first()
    if product is None or not product.low_stock_alerted:
        return 0  # restocked before the e-mail went out: nothing to say
    return _send("low_stock", product, {})


def expiry_reminders_send(*, days: int = EXPIRY_REMINDER_DAYS) -> int:
    """Once per expiry date: active products expiring within ``days``."""
    today = timezone.localdate()
    due = QrProduct.objects.filter(
        status=ProductStatus.ACTIVE,
        expires_on__isnull=False,
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=days),
        expiry_reminded_on__isnull=True,
    ).select_related("merchant", "terminal")
    sent = 0
    for product in due:
        # Claim it first: two beats or a retried task never send the reminder twice.
        if QrProduct.objects.filter(pk=product.pk, expiry_reminded_on__isnull=True).update(expiry_reminded_on=today):
            sent += _send("expiry", product, {"days_left": (product.expires_on - today).days})
    return sent
