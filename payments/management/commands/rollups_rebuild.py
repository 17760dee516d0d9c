"""Recompute the dashboard rollups from the transactions, from scratch and idempotently."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from backoffice.models import Merchant
from payments.dashboards import services


class Command(BaseCommand):
    help = "Recompute the dashboard rollups from the transactions (all merchants, or one; all time, or from a date)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="slug of the merchant (default: every merchant)")
        parser.add_argument(
            "--since", help="first Lisbon day to recompute, YYYY-MM-DD (default: the first transaction)"
        )

    def handle(self, *args, merchant=None, since=None, **options):
        merchant_id = None
        if merchant:
            merchant_id = Merchant.objects.filter(slug=merchant).values_list("pk", flat=True).first()
            if merchant_id is None:
                raise CommandError(f"No merchant with the slug {merchant!r}.")
        start = None
        if since:
            try:
                day = parse_date(since)
            except ValueError:
                day = None
            if day is None:
                raise CommandError("--since takes a date as YYYY-MM-DD.")
            start = services.lisbon_midnight(day)
        begun = time.monotonic()
        done = services.rollups_rebuild(merchant_id=merchant_id, since=start)
        seconds = time.monotonic() - begun
        self.stdout.write(
            f"Rollups rebuilt: {done['merchants']} merchant(s), {done['months']} month(s), "
            f"{done['rows']} rollup rows in all, in {seconds:.1f} s."
        )
