"""Writes of the outbound webhook configuration: create, edit, disable/enable, rotate the key.

Delivery itself (sending, retries, resend, recover, the test notification) lives in
``webhooks.outbound``; this module only decides what a webhook is and who may change it.

Rules checked here, whatever the caller (page or API):

* ``MANAGE_WEBHOOKS``; the store or terminal belongs to the merchant; a store-limited
  administrator configures webhooks of their stores and their terminals only, never a
  merchant-wide one (it would carry the other stores' notifications).
* URL type: the URL passes the SSRF rules (``validate_webhook_url``), a failure e-mail is
  given, and the key is Base64 of 32 bytes (suggested here, or entered and validated).
  E-mail type: an address to send to.
* No two active webhooks of the same type at the same scope send the same notification type to
  the same destination (it would deliver everything twice); checked under a lock on the
  merchant row so two simultaneous submissions cannot both pass.
* Every change is audited; the key never appears in the audit log, only its hint.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import Merchant, Store, Terminal
from backoffice.roles import Capability
from webhooks.models import NotificationType, OutboundWebhook, WebhookKind, WebhookLanguage
from webhooks.outbound.keys import key_hint, suggest_key, validate_key
from webhooks.outbound.ssrf import validate_webhook_url

MAX_WEBHOOKS_PER_MERCHANT = 200


@dataclass(frozen=True)
class WebhookData:
    """What a person sets on a webhook (the key aside)."""

    name: str
    store: Store | None
    terminal: Terminal | None
    notification_types: list[str]
    url: str = ""
    email_to: str = ""
    failure_email: str = ""
    language: str = WebhookLanguage.PT


def _check_scope(access: Access, store: Store | None, terminal: Terminal | None) -> None:
    if store is not None and terminal is not None:
        raise ValidationError({"scope": _("A webhook applies to the merchant, one store or one terminal.")})
    if store is not None and store.merchant_id != access.merchant.pk:
        raise ValidationError({"scope": _("This store is not one of this merchant's.")})
    if terminal is not None and terminal.merchant_id != access.merchant.pk:
        raise ValidationError({"scope": _("This terminal is not one of this merchant's.")})
    if access.is_store_limited:
        store_id = store.pk if store is not None else terminal.store_id if terminal is not None else None
        if store_id is None:
            raise ValidationError(
                {"scope": _("Your access is limited to some stores: choose one of them or one of their terminals.")}
            )
        if store_id not in access.store_ids:
            raise ValidationError({"scope": _("You do not manage this store.")})


def _check_visible(access: Access, webhook: OutboundWebhook) -> None:
    if webhook.merchant_id != access.merchant.pk:
        raise PermissionDenied
    if access.is_store_limited:
        store_id = webhook.store_id or (webhook.terminal.store_id if webhook.terminal_id else None)
        if store_id is None or store_id not in access.store_ids:
            raise PermissionDenied(_("This webhook applies to stores you do not manage."))


def _clean(kind: str, data: WebhookData) -> WebhookData:
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the webhook a name."))
    elif len(name) > 100:
        errors.setdefault("name", []).append(_("At most 100 characters."))
    types = [str(t) for t in data.notification_types or []]
    unknown = [t for t in types if t not in NotificationType.values]
    if not types:
        errors.setdefault("notification_types", []).append(_("Choose at least one notification type."))
    elif unknown:
        errors.setdefault("notification_types", []).append(_("Unknown notification type."))
    # Stored in the canonical order, without repeats: comparisons and the audit log stay stable.
    types = [t for t in NotificationType.values if t in types]
    language = data.language if data.language in WebhookLanguage.values else WebhookLanguage.PT
    url = email_to = ""
    failure_email = (data.failure_email or "").strip()
    if failure_email:
        try:
            validate_email(failure_email)
        except ValidationError:
            errors.setdefault("failure_email", []).append(_("Enter a valid e-mail address."))
    if kind == WebhookKind.URL:
        try:
            url = validate_webhook_url(data.url or "")
        except ValidationError as error:
            errors.setdefault("url", []).extend(error.messages)
        if not failure_email:
            errors.setdefault("failure_email", []).append(_("Enter an address to tell when deliveries fail."))
    elif kind == WebhookKind.EMAIL:
        email_to = (data.email_to or "").strip()
        try:
            validate_email(email_to)
        except ValidationError:
            errors.setdefault("email_to", []).append(_("Enter the address the notifications go to."))
    else:
        errors.setdefault("kind", []).append(_("Choose URL or e-mail."))
    if errors:
        raise ValidationError(errors)
    return WebhookData(
        name=name,
        store=data.store,
        terminal=data.terminal,
        notification_types=types,
        url=url,
        email_to=email_to,
        failure_email=failure_email,
        language=language,
    )


def _lock_merchant(merchant: Merchant) -> None:
    Merchant.objects.select_for_update().filter(pk=merchant.pk).values_list("pk", flat=True).first()


def _check_duplicate(merchant: Merchant, kind: str, data: WebhookData, *, exclude: int | None = None) -> None:
    same = OutboundWebhook.objects.filter(
        merchant=merchant,
        is_active=True,
        kind=kind,
        store=data.store,
        terminal=data.terminal,
        **({"url": data.url} if kind == WebhookKind.URL else {"email_to__iexact": data.email_to}),
    ).only("pk", "name", "notification_types")
    if exclude is not None:
        same = same.exclude(pk=exclude)
    for other in same:
        overlap = set(other.notification_types or []) & set(data.notification_types)
        if overlap:
            labels = ", ".join(str(NotificationType(t).label) for t in NotificationType.values if t in overlap)
            raise ValidationError(
                _(
                    "“%(name)s” already sends %(types)s to this destination for the same scope: "
                    "every notification would be delivered twice. Edit that webhook instead."
                )
                % {"name": other.name, "types": labels}
            )


def _canonical_key(entered: str | None) -> tuple[str, str]:
    """(key, origin): the entered key validated, or a suggested one."""
    if entered:
        try:
            return validate_key(entered), "entered"
        except ValidationError as error:
            raise ValidationError({"encryption_key": error.messages}) from None
    return suggest_key(), "suggested"


def _snapshot(webhook: OutboundWebhook) -> dict:
    return {
        "name": webhook.name,
        "kind": webhook.kind,
        "scope": webhook.scope,
        "store": webhook.store_id,
        "terminal": webhook.terminal_id,
        "notification_types": list(webhook.notification_types or []),
        "url": webhook.url,
        "email_to": webhook.email_to,
        "failure_email": webhook.failure_email,
        "language": webhook.language,
        "key_hint": webhook.key_hint,
        "is_active": webhook.is_active,
    }


def webhook_create(
    *, access: Access, actor: Actor, kind: str, data: WebhookData, entered_key: str | None = None
) -> tuple[OutboundWebhook, str]:
    """Create a webhook; returns it and, for the URL type, the key in clear (to show once)."""
    access.require(Capability.MANAGE_WEBHOOKS)
    _check_scope(access, data.store, data.terminal)
    data = _clean(kind, data)
    key, origin = _canonical_key(entered_key) if kind == WebhookKind.URL else ("", "")
    with transaction.atomic():
        _lock_merchant(access.merchant)
        if OutboundWebhook.objects.filter(merchant=access.merchant).count() >= MAX_WEBHOOKS_PER_MERCHANT:
            raise ValidationError(_("A merchant can have at most %(n)d webhooks.") % {"n": MAX_WEBHOOKS_PER_MERCHANT})
        _check_duplicate(access.merchant, kind, data)
        webhook = OutboundWebhook.objects.create(
            merchant=access.merchant,
            store=data.store,
            terminal=data.terminal,
            name=data.name,
            kind=kind,
            url=data.url,
            encryption_key=key,
            key_hint=key_hint(key) if key else "",
            email_to=data.email_to,
            failure_email=data.failure_email,
            language=data.language,
            notification_types=data.notification_types,
            created_by=actor.user,
        )
        after = _snapshot(webhook)
        if origin:
            after["key_origin"] = origin
        audit.record(actor=actor, action="outbound_webhook.created", merchant=access.merchant, obj=webhook, after=after)
    return webhook, key


def webhook_update(*, access: Access, actor: Actor, webhook: OutboundWebhook, data: WebhookData) -> OutboundWebhook:
    access.require(Capability.MANAGE_WEBHOOKS)
    _check_visible(access, webhook)
    _check_scope(access, data.store, data.terminal)
    data = _clean(webhook.kind, data)
    with transaction.atomic():
        _lock_merchant(access.merchant)
        locked = OutboundWebhook.objects.select_for_update().get(pk=webhook.pk, merchant=access.merchant)
        before = _snapshot(locked)
        if locked.is_active:
            _check_duplicate(access.merchant, locked.kind, data, exclude=locked.pk)
        locked.name = data.name
        locked.store = data.store
        locked.terminal = data.terminal
        locked.notification_types = data.notification_types
        locked.url = data.url
        locked.email_to = data.email_to
        locked.failure_email = data.failure_email
        locked.language = data.language
        after = _snapshot(locked)
        if after != before:
            locked.save()
            changed = {k: v for k, v in after.items() if before.get(k) != v}
            audit.record(
                actor=actor,
                action="outbound_webhook.updated",
                merchant=access.merchant,
                obj=locked,
                before={k: before[k] for k in changed},
                after=changed,
            )
    return locked


def webhook_set_active(*, access: Access, actor: Actor, webhook: OutboundWebhook, active: bool) -> bool:
    """Disable (or enable again) a webhook; a repeat is a no-op. Returns whether it changed.

    Disabling stops new deliveries from being created for it; what is already queued is left to
    the delivery side (it skips inactive webhooks). Enabling checks for duplicates first.
    """
    access.require(Capability.MANAGE_WEBHOOKS)
    _check_visible(access, webhook)
    with transaction.atomic():
        _lock_merchant(access.merchant)
        if active:
            data = WebhookData(
                name=webhook.name,
                store=webhook.store,
                terminal=webhook.terminal,
                notification_types=list(webhook.notification_types or []),
                url=webhook.url,
                email_to=webhook.email_to,
            )
            _check_duplicate(access.merchant, webhook.kind, data, exclude=webhook.pk)
        return audit.change_once(
            queryset=OutboundWebhook.objects.filter(pk=webhook.pk, is_active=not active),
            update={"is_active": active},
            actor=actor,
            action="outbound_webhook.enabled" if active else "outbound_webhook.disabled",
            merchant=access.merchant,
            obj=webhook,
            before={"is_active": not active},
            after={"is_active": active},
        )


def webhook_rotate_key(
    *, access: Access, actor: Actor, webhook: OutboundWebhook, entered_key: str | None = None
) -> str:
    """Replace the key (suggested, or entered and validated); returns it in clear, to show once.

    The receiver must switch to the new key: deliveries from now on are encrypted with it.
    """
    access.require(Capability.MANAGE_WEBHOOKS)
    _check_visible(access, webhook)
    if webhook.kind != WebhookKind.URL:
        raise ValidationError(_("Only URL webhooks have an encryption key."))
    key, origin = _canonical_key(entered_key)
    with transaction.atomic():
        locked = OutboundWebhook.objects.select_for_update().get(pk=webhook.pk, merchant=access.merchant)
        before = {"key_hint": locked.key_hint}
        locked.encryption_key = key
        locked.key_hint = key_hint(key)
        locked.save(update_fields=["encryption_key", "key_hint", "updated_at"])
        audit.record(
            actor=actor,
            action="outbound_webhook.key_rotated",
            merchant=access.merchant,
            obj=locked,
            before=before,
            after={"key_hint": locked.key_hint, "key_origin": origin},
        )
    webhook.key_hint = locked.key_hint
    return key
