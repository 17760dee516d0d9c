"""Load the demo merchant "Loja Demo": two stores, four terminals, one user per role.

Idempotent: running it again changes nothing that exists (passwords are reset to the demo
one). ``--json`` prints the logins machine-readably and issues a fresh Owner API key (the
previous demo key is revoked: a key is only ever shown once).
"""

from __future__ import annotations

import json

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import ApiKey, Membership, Merchant, Store, Terminal, User
from backoffice.roles import Role

DEMO_PASSWORD = "Demo-Backoffice-2026"  # noqa: S105  (demo data, refused in production)
DEMO_DOMAIN = "lojademo.example"
DEMO_KEY_NAME = "seed_demo (Owner)"

STORES = [
    ("lisboa-chiado", "Lisboa · Chiado", [(99978, "MB WAY balcão"), (88845, "Referências MULTIBANCO")]),
    ("porto-baixa", "Porto · Baixa", [(66645, "Cartões loja online"), (45546, "Pagamentos recorrentes")]),
]
USERS = [
    ("owner", Role.OWNER, None, "Olívia Owner"),
    ("admin", Role.ADMINISTRATOR, None, "Artur Administrador"),
    ("operator", Role.OPERATOR, None, "Óscar Operador"),
    ("finance", Role.FINANCE, None, "Filipa Finanças"),
    ("viewer", Role.VIEWER, None, "Vasco Visualizador"),
    ("qr", Role.QR_MANAGER, None, "Quitéria QR"),
    ("operator.porto", Role.OPERATOR, "porto-baixa", "Pedro Operador Porto"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo merchant Loja Demo and its users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print logins as JSON, with a fresh Owner API key.")
        parser.add_argument("--force", action="store_true", help="Allow in production (creates known passwords!).")

    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a known password; refusing in production without --force."
            )
        with transaction.atomic():
            merchant, stores = self._merchant()
            logins = [self._user(merchant, stores, *spec) for spec in USERS]
            api_key = self._api_key(merchant) if options["json"] else None
            extra = self._extensions(merchant)
        if options["json"]:
            payload = {
                "merchant": {"slug": merchant.slug, "name": merchant.name, "nif": merchant.nif},
                "login_url": settings.SITE_URL + "/accounts/login/",
                "password": DEMO_PASSWORD,
                "users": logins,
                "owner_api_key": api_key,
                **extra,
            }
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo merchant “{merchant.name}” is ready at {settings.SITE_URL}/"))
        self.stdout.write(f"Every demo user's password: {DEMO_PASSWORD}")
        for login in logins:
            line = f"  {login['email']:<36} {login['role']:<15}"
            if login.get("stores"):
                line += f" stores: {', '.join(login['stores'])}"
            if login.get("totp_secret"):
                line += f"  TOTP secret {login['totp_secret']} (current code: manage.py totp_code {login['email']})"
            self.stdout.write(line)
        for key, value in extra.items():
            # Nested values (the sandbox gateway credential, the demo webhook) as an indented
            # table like the logins above, never as a Python dict.
            if isinstance(value, dict):
                self.stdout.write(f"  {key}:")
                for name, item in value.items():
                    shown = ", ".join(str(v) for v in item) if isinstance(item, list | tuple) else item
                    self.stdout.write(f"    {name:<34} {shown}")
            else:
                self.stdout.write(f"  {key:<36} {value}")

    def _merchant(self) -> tuple[Merchant, dict[str, Store]]:
        merchant, _ = Merchant.objects.get_or_create(
            slug="loja-demo",
            defaults={
                "name": "Loja Demo",
                "legal_name": "Loja Demo, Lda.",
                "nif": "509999999",
                "language": "pt",
            },
        )
        stores = {}
        for code, name, terminals in STORES:
            store, _ = Store.objects.get_or_create(merchant=merchant, code=code, defaults={"name": name})
            stores[code] = store
            for terminal_id, tname in terminals:
                existing = Terminal.objects.filter(terminal_id=terminal_id).first()
                if existing is None:
                    Terminal.objects.create(store=store, terminal_id=terminal_id, name=tname)
                elif existing.merchant_id != merchant.pk:
                    raise CommandError(f"Terminal {terminal_id} already belongs to another merchant.")
        return merchant, stores

    def _user(self, merchant, stores, local, role, store_code, full_name) -> dict:
        email = f"{local}@{DEMO_DOMAIN}"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, full_name=full_name, language="pt")
        user.set_password(DEMO_PASSWORD)
        user.is_active = True
        user.activated_at = user.activated_at or timezone.now()
        user.locked_until = None
        user.failed_login_count = 0
        user.save()
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        membership, _ = Membership.objects.update_or_create(
            user=user, merchant=merchant, defaults={"role": role, "is_active": True}
        )
        membership.stores.set([stores[store_code]] if store_code else [])
        login = {
            "email": email,
            "role": role.value,
            "stores": [stores[store_code].name] if store_code else [],
        }
        if role.value in settings.MFA_REQUIRED_ROLES:
            totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
            if totp is None:
                totp = TOTP.activate(user, generate_totp_secret()).instance
            login["totp_secret"] = decrypt(totp.data["secret"])
        return login

    def _api_key(self, merchant) -> str:
        for old in ApiKey.objects.filter(merchant=merchant, name=DEMO_KEY_NAME, revoked_at__isnull=True):
            old.revoked_at = timezone.now()
            old.save(update_fields=["revoked_at"])
        owner = User.objects.get(email=f"owner@{DEMO_DOMAIN}")
        access = Access(merchant=merchant, role=Role.OWNER, user=owner)
        _, plaintext = services.api_key_create(
            access=access, actor=Actor(user=owner), name=DEMO_KEY_NAME, role=Role.OWNER
        )
        return plaintext

    def _extensions(self, merchant) -> dict:
        """Demo data other apps add (inbound webhook URL and secret, sandbox traffic…)."""
        from backoffice.demo import demo_extensions

        return demo_extensions(merchant)
