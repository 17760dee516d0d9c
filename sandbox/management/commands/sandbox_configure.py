"""``manage.py sandbox_configure``: create or update a client of the sandbox gateway."""

from __future__ import annotations

import json
import secrets
import uuid

from django.core.management.base import BaseCommand, CommandError

from payments.sibs import generate_secret
from sandbox.gateway import KNOWN_METHODS
from sandbox.models import AckExpectation, NotificationStyle
from sandbox.services import sandbox_configure, terminal_methods_set


class Command(BaseCommand):
    help = (
        "Create or update a sandbox gateway client (keyed on --client-id). Missing credentials are "
        "generated and printed once: give them to the backoffice's gateway credential and webhook."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client-id", help="X-IBM-Client-Id (default: a new UUID).")
        parser.add_argument("--bearer-token", help="AuthToken for 'Authorization: Bearer' (default: generated).")
        parser.add_argument(
            "--terminal", dest="terminals", action="append", type=int, required=True, help="Terminal id (repeatable)."
        )
        parser.add_argument("--notification-url", default="", help="Where notifications are POSTed (empty: none).")
        parser.add_argument(
            "--notification-secret",
            help="Base64 webhook secret, 32 bytes (default: generated when a URL is given).",
        )
        parser.add_argument("--merchant-name", default="Loja Sandbox")
        parser.add_argument("--style", choices=NotificationStyle.values, help="Notification payload style.")
        parser.add_argument("--ack", choices=AckExpectation.values, help="Acknowledgement statusCode expected.")
        parser.add_argument("--retry-unit-seconds", type=int, help="Seconds one SIBS retry-schedule minute lasts.")
        parser.add_argument("--customer-delay-seconds", type=int, help="How long simulated MB WAY customers take.")
        parser.add_argument(
            "--methods",
            dest="terminal_methods",
            action="append",
            default=[],
            metavar="TERMINAL=METHOD,METHOD",
            help="Payment methods active at the gateway for a terminal, e.g. 11111=CARD,MBWAY (repeatable).",
        )
        parser.add_argument("--json", action="store_true", help="Print the configuration as JSON.")

    def handle(self, *args, **options):
        secret = options["notification_secret"]
        if secret is None:
            secret = generate_secret() if options["notification_url"] else ""
        values = {
            "client_id": options["client_id"] or str(uuid.uuid4()),
            "bearer_token": options["bearer_token"] or secrets.token_urlsafe(48),
            "terminal_ids": options["terminals"],
            "notification_url": options["notification_url"],
            "notification_secret": secret,
            "merchant_name": options["merchant_name"],
        }
        try:
            merchant = sandbox_configure(
                **values,
                notification_style=options["style"],
                ack_expectation=options["ack"],
                retry_unit_seconds=options["retry_unit_seconds"],
                customer_delay_seconds=options["customer_delay_seconds"],
            )
            for spec in options["terminal_methods"]:
                terminal, _sep, codes = spec.partition("=")
                if not terminal.strip().isdigit():
                    raise ValueError(f"--methods {spec!r}: write TERMINAL=METHOD,METHOD")
                methods = [c.strip().upper() for c in codes.split(",") if c.strip()]
                terminal_methods_set(merchant=merchant, terminal_id=int(terminal), methods=methods, known=KNOWN_METHODS)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        facts = {**values, "api_root": "/sandbox/api/v2", "id": merchant.pk}
        if options["json"]:
            self.stdout.write(json.dumps(facts, indent=2))
            return
        self.stdout.write(self.style.SUCCESS(f"Sandbox client “{merchant.merchant_name}” is configured."))
        for key, value in facts.items():
            self.stdout.write(f"  {key:<20} {value}")
