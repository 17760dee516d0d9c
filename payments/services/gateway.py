"""Gateway credentials: created and deactivated by people, resolved per transaction, turned into clients."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit, ssrf
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.crypto import token_hash
from backoffice.models import Store, Terminal
from backoffice.roles import Capability
from payments.models import ApiRootPreset, GatewayCredential, Transaction
from payments.sibs.client import SibsClient

MAX_TOKEN_LENGTH = 4096


def _check_custom_root(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise ValidationError({"custom_api_root": _("Enter an https:// address, up to /api/v2.")}) from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError({"custom_api_root": _("Enter an https:// address, up to /api/v2.")})
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError({"custom_api_root": _("The address must not contain a user, password, query or #.")})
    if settings.GATEWAY_ALLOW_PRIVATE_URLS:
        return url
    # The token is sent there: only to a public host on 443, checked with the outbound guard
    # (and again at every connection). One answer whatever the reason, so it reveals nothing
    # about the network behind the backoffice.
    try:
        refused = port != 443 or ssrf.host_is_private(parts.hostname, port)
    except (OSError, UnicodeError, ValueError):
        refused = True
    if refused:
        raise ValidationError(
            {"custom_api_root": _("This address cannot be used: it must be a public host name, on port 443.")}
        )
    return url


def credential_create(
    *,
    access: Access,
    actor: Actor,
    name: str = "",
    store: Store | None = None,
    terminal: Terminal | None = None,
    terminal_number: int | None,
    client_id: str,
    bearer_token: str,
    api_root_preset: str,
    custom_api_root: str = "",
) -> GatewayCredential:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    merchant = access.merchant
    if store is not None and terminal is not None:
        raise ValidationError(_("A credential applies to the merchant, one store or one terminal."))
    for obj in (store, terminal):
        if obj is not None and obj.merchant_id != merchant.pk:
            raise ValidationError(_("That store or terminal does not belong to this merchant."))
    scope_store_id = store.pk if store else (terminal.store_id if terminal else None)
    if access.is_store_limited and (scope_store_id is None or not access.allows_store(scope_store_id)):
        raise PermissionDenied(_("You can only configure the stores you have access to."))
    if terminal is not None:
        terminal_number = terminal_number or terminal.terminal_id
        if terminal_number != terminal.terminal_id:
            raise ValidationError(
                {"terminal_number": _("It must be the terminal's own id (%(id)s).") % {"id": terminal.terminal_id}}
            )
    if not terminal_number or terminal_number <= 0 or terminal_number >= 10**10:
        raise ValidationError({"terminal_number": _("Enter the SIBS terminal id (up to 10 digits).")})
    client_id = (client_id or "").strip()
    bearer_token = (bearer_token or "").strip()
    if bearer_token.lower().startswith("bearer "):
        bearer_token = bearer_token[7:].strip()
    if not client_id or len(client_id) > 100 or not client_id.isprintable() or " " in client_id:
        raise ValidationError({"client_id": _("Enter the client id shown in SIBS Backoffice, without spaces.")})
    if (
        not bearer_token
        or len(bearer_token) > MAX_TOKEN_LENGTH
        or any(c.isspace() or not c.isprintable() for c in bearer_token)
    ):
        raise ValidationError({"bearer_token": _("Enter the token shown in SIBS Backoffice, without spaces.")})
    if api_root_preset not in ApiRootPreset.values:
        raise ValidationError({"api_root_preset": _("Choose an API address.")})
    custom_api_root = _check_custom_root(custom_api_root) if api_root_preset == ApiRootPreset.CUSTOM else ""

    credential = GatewayCredential(
        merchant=merchant,
        store=store,
        terminal=terminal,
        name=(name or "").strip()[:100],
        terminal_number=terminal_number,
        client_id=client_id,
        bearer_token=bearer_token,
        token_hint=bearer_token[-4:],
        api_root_preset=api_root_preset,
        custom_api_root=custom_api_root,
        created_by=actor.user,
    )
    taken = _(
        "An active credential already applies to this scope. Deactivate it first; two would make it ambiguous "
        "which one is used."
    )
    try:
        with transaction.atomic():
            # The partial unique constraints decide under concurrency; this gives the clear message.
            if GatewayCredential.objects.filter(
                merchant=merchant, is_active=True, store=store, terminal=terminal
            ).exists():
                raise ValidationError(taken)
            credential.save()
            audit.record(
                actor=actor,
                action="gateway_credential.created",
                merchant=merchant,
                obj=credential,
                after=_describe(credential),
            )
    except IntegrityError:
        raise ValidationError(taken) from None
    return credential


def credential_deactivate(*, access: Access, actor: Actor, credential: GatewayCredential) -> None:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if credential.merchant_id != access.merchant.pk:
        raise PermissionDenied
    audit.change_once(
        queryset=GatewayCredential.objects.filter(pk=credential.pk, is_active=True),
        update={"is_active": False, "deactivated_at": timezone.now()},
        actor=actor,
        action="gateway_credential.deactivated",
        merchant=access.merchant,
        obj=credential,
        before={"active": True},
        after={"active": False},
    )


def _describe(credential: GatewayCredential) -> dict:
    # Never the token itself: its last characters are enough to tell credentials apart.
    return {
        "scope": credential.scope,
        "store": credential.store_id,
        "terminal": credential.terminal_id,
        "terminal_number": credential.terminal_number,
        "client_id": credential.client_id,
        "token_hint": credential.token_hint,
        "api_root_preset": credential.api_root_preset,
        "custom_api_root": credential.custom_api_root,
    }


def credential_for_transaction(txn: Transaction) -> GatewayCredential | None:
    """The most specific active credential for the transaction: terminal, then store, then merchant."""
    candidates = list(
        GatewayCredential.objects.filter(merchant_id=txn.merchant_id, is_active=True).select_related("terminal")
    )
    for matches in (
        lambda c: txn.terminal_id is not None and c.terminal_id == txn.terminal_id,
        lambda c: txn.store_id is not None and c.store_id == txn.store_id and c.terminal_id is None,
        lambda c: c.store_id is None and c.terminal_id is None,
    ):
        found = [c for c in candidates if matches(c)]
        if found:
            return found[0]
    return None


_clients: dict[int, tuple[tuple, SibsClient]] = {}
_clients_lock = threading.Lock()


def client_for(credential: GatewayCredential) -> SibsClient:
    """The process's client for this credential: one ``requests`` session per credential."""
    key = (credential.api_root, credential.client_id, token_hash(credential.bearer_token))
    with _clients_lock:
        hit = _clients.get(credential.pk)
        if hit is not None and hit[0] == key:
            return hit[1]
        client = SibsClient(
            api_root=key[0],
            client_id=credential.client_id,
            bearer_token=credential.bearer_token,
            guard_setting="GATEWAY_ALLOW_PRIVATE_URLS" if credential.api_root_preset == ApiRootPreset.CUSTOM else None,
        )
        if hit is not None:
            hit[1].close()
        _clients[credential.pk] = (key, client)
        return client
