"""Write the sandbox's settlement file of a day (layout v1), optionally with differences."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sandbox.models import SandboxMerchant
from sandbox.settlement import DIFFERENCES, settlement_file


class Command(BaseCommand):
    help = "Write the sandbox's settlement file of a day (payments up to that day's 00:10 UTC cut-off)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="settlement date, YYYY-MM-DD (default: today)")
        parser.add_argument("--terminal", type=int, help="a terminal of the sandbox client (default: the first client)")
        parser.add_argument("--differences", default="", help=f"comma-separated, among: {', '.join(DIFFERENCES)}")
        parser.add_argument("--output", default=".", help="folder to write into (default: here)")

    def handle(self, *args, **options):
        day = date.fromisoformat(options["date"]) if options["date"] else timezone.now().date()
        merchants = SandboxMerchant.objects.order_by("pk")
        if options["terminal"]:
            merchants = [m for m in merchants if options["terminal"] in (m.terminal_ids or [])]
        merchant = next(iter(merchants), None)
        if merchant is None:
            raise CommandError("No sandbox client (with that terminal).")
        differences = tuple(d for d in options["differences"].split(",") if d)
        try:
            name, content = settlement_file(merchant, day, differences)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        target = Path(options["output"]) / name
        target.write_bytes(content)
        lines = content.count(b"\n")
        self.stdout.write(f"{target} ({lines} lines)")
