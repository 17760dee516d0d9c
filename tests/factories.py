"""Small, explicit builders for test data."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from backoffice.models import Membership, Merchant, Store, Terminal, User

PASSWORD = "correct horse battery staple"


def make_merchant(*, name: str, slug: str, nif: str = "501964843") -> Merchant:
    return Merchant.objects.create(name=name, slug=slug, legal_name=f"{name}, Lda.", nif=nif, language="en")


def make_store(merchant: Merchant, code: str, name: str) -> Store:
    return Store.objects.create(merchant=merchant, code=code, name=name)


def make_terminal(store: Store, terminal_id: int) -> Terminal:
    return Terminal.objects.create(store=store, terminal_id=terminal_id, name=f"T{terminal_id}")


def make_user(email: str, full_name: str = "", *, password: str | None = PASSWORD) -> User:
    user = User.objects.create_user(email, password, full_name=full_name)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_membership(user: User, merchant: Merchant, role, *, stores=()) -> Membership:
    membership = Membership.objects.create(user=user, merchant=merchant, role=role)
    membership.stores.set(stores)
    return membership


def give_totp(user: User) -> str:
    """Give the user a TOTP authenticator; returns its secret."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing:
        from allauth.mfa.utils import decrypt

        return decrypt(existing.data["secret"])
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_now(secret: str, *, offset: int = 0) -> str:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))
