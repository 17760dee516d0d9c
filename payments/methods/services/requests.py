"""Requests for a new payment method: recorded, e-mailed to platform staff, moved through its
states by them in the Django admin, each step e-mailed to the requester and audited. When a
request becomes active, the method is enabled on the terminals and stores it named."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import Store, Terminal
from backoffice.roles import Capability
from payments.methods.catalogue import Method
from payments.methods.models import MethodRequest, MethodRequestEvent, RequestState
from payments.methods.resolution import STORE, TERMINAL, Scope
from payments.methods.services.settings import setting_apply

logger = logging.getLogger(__name__)

# Which state may follow which; ``active`` and ``refused`` are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.REQUESTED: frozenset({RequestState.SENT, RequestState.ACTIVE, RequestState.REFUSED}),
    RequestState.SENT: frozenset({RequestState.ACTIVE, RequestState.REFUSED}),
    RequestState.ACTIVE: frozenset(),
    RequestState.REFUSED: frozenset(),
}
MAX_NOTES = 2000


def _text(field: str, value: str, *, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > max_length:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": max_length}})
    if any(not (c.isprintable() or c in "\n\r\t") for c in text):
        raise ValidationError({field: _("Only printable characters, please.")})
    return text


def request_create(
    *,
    access: Access,
    actor: Actor,
    method: str,
    stores: list[Store],
    terminals: list[Terminal],
    expected_volume: str,
    contact_name: str,
    contact_email: str,
    contact_phone: str = "",
    notes: str = "",
) -> MethodRequest:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if method not in Method.values:
        raise ValidationError({"method": _("Choose a payment method.")})
    if not stores and not terminals:
        raise ValidationError(_("Choose at least one store or terminal."))
    for obj in [*stores, *terminals]:
        if obj.merchant_id != access.merchant.pk:
            raise ValidationError(_("That store or terminal does not belong to this merchant."))
        store_id = obj.pk if isinstance(obj, Store) else obj.store_id
        if not access.allows_store(store_id):
            raise PermissionDenied(_("You can only ask for the stores you have access to."))
    expected_volume = _text("expected_volume", expected_volume, max_length=200, required=True)
    contact_name = _text("contact_name", contact_name, max_length=150, required=True)
    contact_email = (contact_email or "").strip()
    try:
        validate_email(contact_email)
    except ValidationError:
        raise ValidationError({"contact_email": _("Enter a valid e-mail address.")}) from None
    contact_phone = _text("contact_phone", contact_phone, max_length=30)
    if contact_phone and not all(c.isdigit() or c in "+ #()-" for c in contact_phone):
        raise ValidationError({"contact_phone": _("Digits, spaces and + only.")})
    notes = _text("notes", notes, max_length=MAX_NOTES)
    now = timezone.now()
    with transaction.atomic():
        request = MethodRequest.objects.create(
            merchant=access.merchant,
            method=method,
            expected_volume=expected_volume,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            notes=notes,
            requested_by=actor.user,
            created_at=now,
            updated_at=now,
        )
        request.stores.set(stores)
        request.terminals.set(terminals)
        MethodRequestEvent.objects.create(
            request=request, to_state=RequestState.REQUESTED, actor=actor.user, actor_label=actor.label, created_at=now
        )
        audit.record(
            actor=actor,
            action="payment_method_request.created",
            merchant=access.merchant,
            obj=request,
            after={
                "method": method,
                "stores": [s.pk for s in stores],
                "terminals": [t.terminal_id for t in terminals],
                "expected_volume": expected_volume,
            },
        )
        transaction.on_commit(lambda: _mail_platform(request.pk))
        transaction.on_commit(lambda: _mail_requester(request.pk))
    return request


def request_move(*, request_pk: int, to_state: str, actor: Actor, note: str = "") -> MethodRequest:
    """Platform staff move a request on. Moving to the state it is in is a no-op."""
    if actor.user is None or not actor.user.is_staff:
        raise PermissionDenied(_("Only platform staff move requests."))
    if to_state not in RequestState.values:
        raise ValidationError(_("Unknown state."))
    note = _text("note", note, max_length=MAX_NOTES)
    now = timezone.now()
    with transaction.atomic():
        request = MethodRequest.objects.select_for_update().select_related("merchant").get(pk=request_pk)
        if request.state == to_state:
            return request
        if to_state not in TRANSITIONS[request.state]:
            raise ValidationError(
                _("A request that is %(current)s cannot become %(new)s.")
                % {"current": request.get_state_display(), "new": RequestState(to_state).label}
            )
        before = request.state
        if to_state == RequestState.ACTIVE:
            note = "\n".join(filter(None, [note, *_enable(request, actor)]))
        request.state = to_state
        request.updated_at = now
        request.save(update_fields=["state", "updated_at"])
        MethodRequestEvent.objects.create(
            request=request,
            from_state=before,
            to_state=to_state,
            actor=actor.user,
            actor_label=actor.label,
            note=note,
            created_at=now,
        )
        audit.record(
            actor=actor,
            action="payment_method_request.moved",
            merchant=request.merchant,
            obj=request,
            before={"state": before},
            after={"state": to_state, "note": note},
        )
        transaction.on_commit(lambda: _mail_requester(request.pk))
    return request


def _enable(request: MethodRequest, actor: Actor) -> list[str]:
    """Enable the method where it was asked for; what could not be enabled is said in the history."""
    problems = []
    scopes = [Scope(STORE, store_id=s.pk) for s in request.stores.all()]
    scopes += [Scope(TERMINAL, terminal_id=t.pk) for t in request.terminals.all()]
    for scope in scopes:
        try:
            with transaction.atomic():
                setting_apply(
                    merchant=request.merchant, actor=actor, scope=scope, method=request.method, values={"enabled": True}
                )
        except ValidationError as error:
            problems.append(f"{scope.key}: {' '.join(error.messages)}")
    return problems


# --------------------------------------------------------------------------- e-mails


def _send(*, to: list[str], template: str, context: dict, language: str) -> None:
    with translation.override(language):
        subject = " ".join(render_to_string(f"payments/methods/email/{template}_subject.txt", context).split())
        body = render_to_string(f"payments/methods/email/{template}.txt", context)
    try:
        send_mail(subject, body, None, to)
    except Exception:
        # The request is recorded either way; the admin list shows it to staff.
        logger.exception("could not send the %s e-mail of payment method request", template)


def _context(request: MethodRequest) -> dict:
    return {
        "request": request,
        "stores": list(request.stores.all()),
        "terminals": list(request.terminals.all()),
        "events": list(request.events.all()),
        "site_url": settings.SITE_URL,
    }


def _mail_platform(request_pk: int) -> None:
    address = getattr(settings, "PLATFORM_SUPPORT_EMAIL", "")
    if not address:
        logger.warning("PLATFORM_SUPPORT_EMAIL is empty: payment method request %s was not e-mailed", request_pk)
        return
    request = MethodRequest.objects.select_related("merchant", "requested_by").get(pk=request_pk)
    _send(to=[address], template="request_platform", context=_context(request), language="en")


def _mail_requester(request_pk: int) -> None:
    request = MethodRequest.objects.select_related("merchant", "requested_by").get(pk=request_pk)
    recipients = list(dict.fromkeys(filter(None, [request.contact_email, getattr(request.requested_by, "email", "")])))
    language = getattr(request.requested_by, "language", "") or request.merchant.language or "en"
    _send(to=recipients, template="request_requester", context=_context(request), language=language)
