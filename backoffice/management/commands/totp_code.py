"""Print the current TOTP code of a demo user (development only)."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the current TOTP code for a user (refused in production)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        if settings.PRODUCTION:
            raise CommandError("totp_code is a development aid and is refused in production.")
        totp = Authenticator.objects.filter(user__email__iexact=email, type=Authenticator.Type.TOTP).first()
        if totp is None:
            raise CommandError(f"{email} has no TOTP authenticator.")
        secret = decrypt(totp.data["secret"])
        self.stdout.write(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
