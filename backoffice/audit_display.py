"""The audit log in words: one sentence per event, and the fields that changed, before → after.

Events are stored as they happened (an action code, an object, ``before``/``after`` dicts of raw
values); this module is how they are read. Every action has a sentence in both languages, every
field a label, every value is shown the way the rest of the backoffice shows it (money in the
currency's decimals, dates as dd/mm/yyyy in Lisbon time, roles and states by their names).

Apps add their own actions, labels and value formats from an ``audit_sentences`` module
(discovered at start-up, as Django's admin discovers ``admin`` modules):

- ``register_sentence(action, template)``: a translatable template with ``%(actor)s`` and
  ``%(object)s`` (and any key a context loader provides);
- ``register_prefix(prefix, describe)``: a function ``(event, context) -> str`` for a family of
  actions (``payment.refund_succeeded``, ``payment.capture_requested``…);
- ``register_loader(object_type, load)``: ``load(ids) -> {id: object}``, one query for a page of
  events, so sentences can name amounts and transactions;
- ``register_field(name, label, fmt=None)``: a field's label and how its value reads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from backoffice.models import AuditEvent, Store, Terminal
from backoffice.roles import Role
from common.dates import lisbon

DASH = "—"

_SENTENCES: dict[str, Promise] = {}
_PREFIXES: dict[str, Callable[[AuditEvent, dict], str]] = {}
_LOADERS: dict[str, Callable[[Iterable[str]], dict[str, Any]]] = {}
_FIELDS: dict[tuple[str, str], tuple[Promise, Callable[[Any, dict], str] | None]] = {}
# Fields that identify rather than describe: never listed as a change.
_HIDDEN = {"id"}


def register_sentence(action: str, template: Promise) -> None:
    _SENTENCES[action] = template


def register_prefix(prefix: str, describe: Callable[[AuditEvent, dict], str]) -> None:
    _PREFIXES[prefix] = describe


def register_loader(object_type: str, load: Callable[[Iterable[str]], dict[str, Any]]) -> None:
    _LOADERS[object_type] = load


def register_field(
    name: str, label: Promise, fmt: Callable[[Any, dict], str] | None = None, *, object_type: str = ""
) -> None:
    """A field's label and format; ``object_type`` (``app.model``) when it reads differently there."""
    _FIELDS[(object_type, name)] = (label, fmt)


def _field(name: str, object_type: str):
    return _FIELDS.get((object_type, name)) or _FIELDS.get(("", name))


# --------------------------------------------------------------------------- values


def lisbon_text(value: dt.datetime | None) -> str:
    """dd/mm/yyyy HH:MM:SS in Lisbon time with its zone, as every other page shows times."""
    return lisbon(value) if value is not None else DASH


def format_value(name: str, value: Any, context: dict | None = None, object_type: str = "") -> str:
    """One value as a person reads it."""
    context = context or {}
    entry = _field(name, object_type)
    if value is None or value == "":
        return DASH
    if entry and entry[1] is not None:
        return entry[1](value, context)
    if value == []:
        return DASH
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return ", ".join(format_value(name, v, context, object_type) for v in value) or DASH
    if isinstance(value, dict):
        return "; ".join(
            f"{field_label(k, object_type)}: {format_value(k, v, context, object_type)}" for k, v in value.items()
        )
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        moment = parse_datetime(value)
        if moment is not None:
            return lisbon_text(moment)
    return str(value)


def field_label(name: str, object_type: str = "") -> str:
    entry = _field(name, object_type)
    if entry:
        return str(entry[0])
    return name.replace("_", " ").capitalize()


def _role(value: Any, context: dict) -> str:
    try:
        return str(Role(value).label)
    except ValueError:
        return str(value)


def _store(value: Any, context: dict) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_store(v, context) for v in value) if value else _("All stores")
    return context.get("stores", {}).get(value) or f"#{value}"


def _terminal(value: Any, context: dict) -> str:
    return context.get("terminals", {}).get(value) or f"#{value}"


def _stores_list(value: Any, context: dict) -> str:
    return _store(list(value or []), context)


for _name, _label, _fmt in (
    ("role", gettext_lazy("Role"), _role),
    ("stores", gettext_lazy("Stores"), _stores_list),
    ("store", gettext_lazy("Store"), _store),
    ("terminal", gettext_lazy("Terminal"), _terminal),
    ("active", gettext_lazy("Active"), None),
    ("is_active", gettext_lazy("Active"), None),
    ("email", gettext_lazy("E-mail"), None),
    ("name", gettext_lazy("Name"), None),
    ("nif", gettext_lazy("Tax number (NIF)"), None),
    ("prefix", gettext_lazy("Key prefix"), None),
    ("label", gettext_lazy("Label"), None),
    ("origin", gettext_lazy("Origin"), None),
    ("fingerprint", gettext_lazy("Fingerprint"), None),
    ("locked_until", gettext_lazy("Locked until"), None),
    ("type", pgettext_lazy("second factor", "Type"), None),
    ("state", gettext_lazy("State"), None),
    ("detail", gettext_lazy("Detail"), None),
    ("comment", gettext_lazy("Comment"), None),
    ("reason", gettext_lazy("Reason"), None),
    ("http_status", gettext_lazy("HTTP status"), None),
    ("purpose", gettext_lazy("Purpose"), None),
    ("attempt", gettext_lazy("Attempt"), None),
    ("empty", gettext_lazy("Left empty"), None),
):
    register_field(_name, _label, _fmt)


# --------------------------------------------------------------------------- sentences

for _action, _template in (
    ("user.logged_in", gettext_lazy("%(actor)s signed in")),
    ("user.logged_out", gettext_lazy("%(actor)s signed out")),
    ("user.login_failed", gettext_lazy("Failed sign-in for %(object)s")),
    ("user.password_changed", gettext_lazy("%(actor)s changed their password")),
    ("user.password_reset", gettext_lazy("%(actor)s reset their password")),
    ("user.activated", gettext_lazy("%(actor)s activated their account")),
    ("user.locked", gettext_lazy("%(object)s was locked out after too many failed sign-ins")),
    ("mfa.added", gettext_lazy("%(actor)s set up a second factor")),
    ("mfa.removed", gettext_lazy("%(actor)s removed their second factor")),
    ("mfa.reset", gettext_lazy("%(actor)s generated new recovery codes")),
    ("activation_code.issued", gettext_lazy("%(actor)s sent an activation code to %(object)s")),
    ("membership.invited", gettext_lazy("%(actor)s invited %(object)s")),
    ("membership.updated", gettext_lazy("%(actor)s changed the access of %(object)s")),
    ("membership.removed", gettext_lazy("%(actor)s removed %(object)s")),
    ("merchant.created", gettext_lazy("%(actor)s created the merchant %(object)s")),
    ("api_key.created", gettext_lazy("%(actor)s created the API key %(object)s")),
    ("api_key.revoked", gettext_lazy("%(actor)s revoked the API key %(object)s")),
):
    register_sentence(_action, _template)


def actor_name(event: AuditEvent) -> str:
    if event.actor_id is not None and event.actor is not None:
        return event.actor.display_name
    label = event.actor_label or ""
    if label.startswith("api-key:"):
        return _("API key %(prefix)s…") % {"prefix": label.split(":", 1)[1]}
    if label in ("", "system"):
        return _("The system")
    return label


def object_name(event: AuditEvent) -> str:
    if event.object_type == "backoffice.membership":
        # "user@example @ Merchant (Role)": the person is what matters in a sentence.
        return event.object_repr.split(" @ ", 1)[0]
    return event.object_repr or DASH


def sentence(event: AuditEvent, context: dict | None = None) -> str:
    context = context or {}
    params = {"actor": actor_name(event), "object": object_name(event)}
    template = _SENTENCES.get(event.action)
    if template is not None:
        return str(template) % params
    for prefix, describe in _PREFIXES.items():
        if event.action.startswith(prefix):
            text = describe(event, context)
            if text:
                return text
    # An action nothing describes yet still reads as words, never as a code.
    return _("%(actor)s: %(action)s on %(object)s") % {
        **params,
        "action": event.action.replace(".", " ").replace("_", " "),
    }


@dataclass
class Change:
    label: str
    before: str
    after: str
    created: bool = False


@dataclass
class AuditLine:
    event: AuditEvent
    who: str
    text: str
    changes: list[Change] = field(default_factory=list)


def changes(event: AuditEvent, context: dict | None = None) -> list[Change]:
    """The fields that changed: before → after, or only the value set when nothing was before."""
    context = context or {}
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    out: list[Change] = []
    for key in list(before) + [k for k in after if k not in before]:
        if key in _HIDDEN:
            continue
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        kind = event.object_type
        out.append(
            Change(
                label=field_label(key, kind),
                before=format_value(key, old, context, kind) if key in before else "",
                after=format_value(key, new, context, kind) if key in after else "",
                created=key not in before,
            )
        )
    return out


def _merchant_names(events: list[AuditEvent]) -> dict:
    merchant_ids = {e.merchant_id for e in events if e.merchant_id}
    if not merchant_ids:
        return {"stores": {}, "terminals": {}}
    stores = dict(Store.objects.filter(merchant_id__in=merchant_ids).values_list("pk", "name"))
    terminals = {
        t.pk: str(t) for t in Terminal.objects.filter(merchant_id__in=merchant_ids).only("pk", "terminal_id", "name")
    }
    return {"stores": stores, "terminals": terminals}


def present(events: Iterable[AuditEvent]) -> list[AuditLine]:
    """A page of events as lines to show; a fixed number of queries whatever the page holds."""
    events = list(events)
    context: dict = _merchant_names(events)
    by_type: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.object_type in _LOADERS and e.object_id:
            by_type[e.object_type].add(e.object_id)
    context["objects"] = {t: _LOADERS[t](ids) for t, ids in by_type.items()}
    return [
        AuditLine(event=e, who=actor_name(e), text=sentence(e, context), changes=changes(e, context)) for e in events
    ]


def related(event: AuditEvent, context: dict) -> Any:
    return context.get("objects", {}).get(event.object_type, {}).get(event.object_id)


def autodiscover() -> None:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("audit_sentences")
