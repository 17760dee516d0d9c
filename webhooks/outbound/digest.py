"""The daily digest: once a day, at ``WEBHOOK_DIGEST_HOUR`` (Europe/Lisbon), each failure e-mail
address receives one summary of the newest notifications its webhooks could not deliver.

Beat runs :func:`digest_run` every few minutes. The first run at or after the hour settles the
day: for each address with failures since its previous digest (or the last 24 hours), a
``FailureDigest`` row unique per (address, day) is inserted *before* sending. A second beat, a
restarted beat or an overlapping run hits the unique constraint and sends nothing; a message
that could not be sent removes its row so a later run that day tries again. Runs more than
``LATE_AFTER`` past the hour (beat was down all morning) still send, once; runs before the hour
do nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks.models import DeliveryState, FailureDigest, OutboundWebhook, WebhookDelivery
from webhooks.outbound.emails import LIST_LIMIT, send_templated

logger = logging.getLogger(__name__)

LISBON = ZoneInfo("Europe/Lisbon")
DEFAULT_WINDOW = timedelta(hours=24)


def failures_since(address: str, since: datetime, until: datetime):
    """Deliveries of this address's webhooks not acknowledged and tried (or given up) in the window."""
    return (
        WebhookDelivery.objects.filter(webhook__failure_email__iexact=address, is_test=False)
        .filter(
            Q(state=DeliveryState.FAILED, failed_at__gt=since, failed_at__lte=until)
            | Q(
                state=DeliveryState.PENDING,
                cycle_attempts__gt=0,
                last_attempt_at__gt=since,
                last_attempt_at__lte=until,
            )
        )
        .select_related("webhook", "merchant")
        .order_by("-last_attempt_at", "-pk")
    )


def digest_day(now: datetime) -> tuple[datetime, datetime.date] | None:
    """(the configured hour today in Lisbon, today's date) once that hour has come; else None."""
    local = now.astimezone(LISBON)
    hour_today = datetime.combine(local.date(), dtime(settings.WEBHOOK_DIGEST_HOUR), tzinfo=LISBON)
    if local < hour_today:
        return None
    return hour_today, local.date()


def digest_run(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    settled = digest_day(now)
    if settled is None:
        return counts
    _hour, day = settled
    addresses = sorted(
        {
            a.strip().lower()
            for a in OutboundWebhook.objects.exclude(failure_email="").values_list("failure_email", flat=True)
        }
    )
    for address in addresses:
        if FailureDigest.objects.filter(address=address, day=day).exists():
            counts["skipped"] += 1
            continue
        previous = FailureDigest.objects.filter(address=address, sent_at__isnull=False).order_by("-day").first()
        since = previous.claimed_at if previous is not None else now - DEFAULT_WINDOW
        since = max(since, now - timedelta(days=settings.WEBHOOK_MAX_AGE_DAYS))
        rows = failures_since(address, since, now)
        total = rows.count()
        if not total:
            continue
        try:
            with transaction.atomic():
                digest = FailureDigest.objects.create(address=address, day=day, claimed_at=now, failures=total)
        except IntegrityError:
            counts["skipped"] += 1  # another beat took this one
            continue
        newest = list(rows[:LIST_LIMIT])
        language = Counter(d.webhook.language for d in newest).most_common(1)[0][0]
        context = {
            "address": address,
            "deliveries": newest,
            "count": total,
            "more": max(0, total - len(newest)),
            "since": since,
            "until": now,
            "site_url": settings.SITE_URL,
        }
        try:
            send_templated(template="digest", context=context, to=[address], language=language)
        except Exception as error:
            logger.exception("daily webhook digest to %s not sent; a later run today will retry", address)
            FailureDigest.objects.filter(pk=digest.pk, sent_at__isnull=True).delete()
            counts["failed"] += 1
            del error
            continue
        FailureDigest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())
        counts["sent"] += 1
    return counts
