"""``manage.py simulate_traffic``: a realistic stream of payments through the sandbox gateway."""

from __future__ import annotations

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sandbox import traffic
from sandbox.models import SandboxMerchant
from sandbox.tasks import sandbox_tick


class Command(BaseCommand):
    help = (
        "Generate a realistic mix of sandbox transactions (MB WAY ok/declined, MULTIBANCO references "
        "paid/expired/cancelled, cards incl. 3-D Secure, tokens, CIT + MIT, QR Code Express, "
        "captures, refunds, cancellations) at --rate per second."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=0.5, help="Transactions per second (0: flat out).")
        parser.add_argument("--duration", type=float, help="Stop after this many seconds (default 60 without --count).")
        parser.add_argument("--count", type=int, help="Stop after this many transactions.")
        parser.add_argument("--client-id", help="Sandbox client to act as (default: the first configured).")
        parser.add_argument(
            "--merchant-url",
            help="Send this client's notifications here (updates the sandbox client's notification URL).",
        )
        parser.add_argument(
            "--via-http",
            metavar="BASE_URL",
            help="Call a running server's endpoints (e.g. http://127.0.0.1:8000) instead of in-process services.",
        )
        parser.add_argument("--seed", type=int, help="Random seed, for a reproducible run.")
        parser.add_argument(
            "--settle-delay",
            type=int,
            nargs=2,
            metavar=("MIN", "MAX"),
            default=(10, 120),
            help="Seconds before a reference is paid or expires (default 10 120).",
        )
        parser.add_argument(
            "--no-tick",
            action="store_true",
            help="Do not resolve customers and send due notifications from this process (leave it to beat).",
        )

    def handle(self, *args, **options):
        merchant = self._merchant(options)
        if options["merchant_url"]:
            merchant.notification_url = options["merchant_url"]
            merchant.save(update_fields=["notification_url", "updated_at"])
        if not merchant.notification_url:
            self.stderr.write("Note: this sandbox client has no notification URL; notifications are only stored.")
        rng = random.Random(options["seed"])
        if options["via_http"]:
            driver = traffic.HttpDriver(
                options["via_http"], client_id=merchant.client_id, bearer_token=merchant.bearer_token
            )
        else:
            driver = traffic.ServiceDriver(merchant)
        low, high = options["settle_delay"]
        if not 0 <= low <= high:
            raise CommandError("--settle-delay needs 0 <= MIN <= MAX")
        story = traffic.Story(driver=driver, terminals=list(merchant.terminal_ids), rng=rng, settle_delay=(low, high))
        deck = traffic.Deck(rng)
        tally = traffic.Tally()

        count, rate = options["count"], options["rate"]
        duration = options["duration"] if options["duration"] is not None else (None if count else 60.0)
        if rate < 0 or (count is not None and count < 0):
            raise CommandError("--rate and --count must not be negative")
        deadline = time.monotonic() + duration if duration is not None else None
        tick = not options["no_tick"]
        self.stdout.write(f"Simulating traffic for {merchant.merchant_name} ({merchant.client_id})…")
        while (count is None or tally.total < count) and (deadline is None or time.monotonic() < deadline):
            traffic.play(story, deck.deal(), tally)
            if tick and not options["via_http"]:
                sandbox_tick(now=timezone.now())
            if rate > 0:
                pause = rng.expovariate(rate)
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - time.monotonic()))
                time.sleep(pause)
        if tick and not options["via_http"]:
            sandbox_tick(now=timezone.now())
        self._report(tally)

    def _merchant(self, options) -> SandboxMerchant:
        merchants = SandboxMerchant.objects.order_by("pk")
        if options["client_id"]:
            merchant = merchants.filter(client_id=options["client_id"]).first()
            if merchant is None:
                raise CommandError(f"No sandbox client {options['client_id']!r}; see manage.py sandbox_configure.")
            return merchant
        merchant = merchants.exclude(notification_url="").first() or merchants.first()
        if merchant is None:
            raise CommandError("The sandbox has no client yet: run manage.py sandbox_configure (or seed_demo) first.")
        return merchant

    def _report(self, tally: traffic.Tally) -> None:
        self.stdout.write(self.style.SUCCESS(f"{sum(tally.done.values())} transactions simulated:"))
        for name in traffic.MIX:
            if tally.done[name] or tally.failed[name]:
                failed = f" ({tally.failed[name]} failed)" if tally.failed[name] else ""
                self.stdout.write(f"  {name:<20} {tally.done[name]}{failed}")
        for error in tally.errors:
            self.stderr.write(f"  ! {error}")
