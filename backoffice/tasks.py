"""Housekeeping tasks of the core."""

from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="backoffice.purge_expired_sessions")
def purge_expired_sessions() -> int:
    """Expired sessions are dead weight (and personal data): remove them."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
