"""Which webhook applies to a notification: the most specific one wins.

A webhook covers a merchant, one store or one terminal, for the notification types it lists.
For a notification of a given type from a terminal, the active webhooks listing that type are
looked for at the terminal, then at the terminal's store, then at the merchant; the first level
that has any wins, and every webhook at that level applies (a URL and an e-mail webhook may be
configured side by side). Webhooks of the levels below are *shadowed*, and the reason says so.
A notification whose terminal is unknown (not registered in the backoffice) can only match
merchant-level webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from backoffice.models import Merchant, Store, Terminal
from webhooks.models import NotificationType, OutboundWebhook

LEVELS = ("terminal", "store", "merchant")


@dataclass(frozen=True)
class Resolution:
    notification_type: str
    webhooks: list[OutboundWebhook]
    level: str | None  # "terminal" | "store" | "merchant" | None (nothing applies)
    reason: str
    shadowed: list[OutboundWebhook] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.webhooks)


def _pk(value) -> int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else value.pk


def candidates(merchant: Merchant | int) -> list[OutboundWebhook]:
    """The merchant's active webhooks (one query); filter them with :func:`resolve_among`."""
    return list(OutboundWebhook.objects.filter(merchant_id=_pk(merchant), is_active=True).select_related("merchant"))


def resolve_among(
    webhooks: list[OutboundWebhook],
    *,
    notification_type: str,
    terminal_id: int | None,
    store_id: int | None,
) -> tuple[str | None, list[OutboundWebhook], list[OutboundWebhook]]:
    """(winning level, webhooks at it, shadowed ones) among already loaded webhooks."""
    matching = [w for w in webhooks if w.is_active and notification_type in (w.notification_types or [])]
    by_level: dict[str, list[OutboundWebhook]] = {level: [] for level in LEVELS}
    for webhook in matching:
        if webhook.terminal_id is not None:
            if webhook.terminal_id == terminal_id:
                by_level["terminal"].append(webhook)
        elif webhook.store_id is not None:
            if webhook.store_id == store_id:
                by_level["store"].append(webhook)
        else:
            by_level["merchant"].append(webhook)
    for index, level in enumerate(LEVELS):
        if by_level[level]:
            shadowed = [w for lower in LEVELS[index + 1 :] for w in by_level[lower]]
            return level, sorted(by_level[level], key=lambda w: w.pk), shadowed
    return None, [], []


def effective_webhooks(
    merchant: Merchant,
    terminal: Terminal | int | None = None,
    store: Store | int | None = None,
    notification_type: str = "",
) -> Resolution:
    """The webhook(s) that apply to ``notification_type`` from ``terminal`` (or ``store``), and why."""
    notification_type = str(notification_type or "")
    type_label = _type_label(notification_type)
    terminal_obj = None
    if terminal is not None:
        terminal_obj = terminal if isinstance(terminal, Terminal) else Terminal.objects.filter(pk=terminal).first()
        if terminal_obj is not None and terminal_obj.merchant_id != merchant.pk:
            terminal_obj = None  # another merchant's terminal is never used
    terminal_id = terminal_obj.pk if terminal_obj is not None else None
    store_id = _pk(store)
    if terminal_obj is not None and store_id is None:
        store_id = terminal_obj.store_id
    if store_id is not None and not Store.objects.filter(pk=store_id, merchant=merchant).exists():
        store_id = None
    level, winners, shadowed = resolve_among(
        candidates(merchant), notification_type=notification_type, terminal_id=terminal_id, store_id=store_id
    )
    names = ", ".join(f"“{w.name}”" for w in winners)
    if level == "terminal":
        reason = _(
            "%(names)s: configured for this terminal and %(type)s; "
            "a terminal webhook wins over store and merchant ones."
        )
    elif level == "store":
        reason = _(
            "%(names)s: configured for this terminal's store and %(type)s, "
            "and no active webhook is configured for the terminal itself."
        )
    elif level == "merchant":
        reason = _("%(names)s: configured for the whole merchant and %(type)s; no store or terminal webhook applies.")
    else:
        reason = _("No active webhook covers %(type)s here: these notifications are not relayed.")
    reason = reason % {"names": names, "type": type_label}
    if shadowed:
        reason += " " + _("Less specific webhooks not used: %(names)s.") % {
            "names": ", ".join(f"“{w.name}”" for w in shadowed)
        }
    return Resolution(
        notification_type=notification_type, webhooks=winners, level=level, reason=reason, shadowed=shadowed
    )


def _type_label(value: str) -> str:
    try:
        return str(NotificationType(value).label)
    except ValueError:
        return value or _("an unknown type")
