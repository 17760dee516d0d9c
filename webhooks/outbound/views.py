"""Pages of the outbound relay: webhooks, their keys, test notifications, delivery log, recovery.

Everything here takes ``MANAGE_WEBHOOKS`` (Owners and Administrators). A store-limited
administrator sees and configures the webhooks of their stores and terminals only (see
``selectors.webhook_list``); another merchant's webhook or delivery is a 404.

A key in clear is shown exactly once: the create and rotate actions keep it, encrypted, in the
session and redirect to the reveal page, which takes it out of the session as it renders it
(``Cache-Control: no-store``). A double-submitted creation form creates one webhook: the form
carries a one-time ``submission`` value, claimed in the cache before the service is called.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.crypto import SecretDecryptionError, decrypt_secret, encrypt_secret
from backoffice.roles import Capability
from webhooks import outbound
from webhooks.models import DeliveryState, WebhookKind
from webhooks.outbound import selectors
from webhooks.outbound import services as services_outbound
from webhooks.outbound.forms import (
    DeliveryFilterForm,
    KeyChoice,
    OutboundWebhookForm,
    RecoverForm,
    ResolutionForm,
    RotateKeyForm,
)
from webhooks.outbound.operations import RECOVER_LIMIT

MANAGE = Capability.MANAGE_WEBHOOKS
SUBMISSION_TTL = 60 * 60
# A test notification is a real POST to someone's server: one per webhook every few seconds.
TEST_INTERVAL_SECONDS = 5


def _key_session_name(pk: int) -> str:
    return f"outbound-webhook-key:{pk}"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _apply_errors(form, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(getattr(exc, "messages", None) or [str(exc) or _("Not allowed.")]))


def _webhook_data(form: OutboundWebhookForm) -> services_outbound.WebhookData:
    data = form.cleaned_data
    return services_outbound.WebhookData(
        name=data["name"],
        store=data.get("store"),
        terminal=data.get("terminal"),
        notification_types=data["notification_types"],
        url=data.get("url", ""),
        email_to=data.get("email_to", ""),
        failure_email=data.get("failure_email", ""),
        language=data.get("language", ""),
    )


def _remember_key(request: HttpRequest, pk: int, key: str) -> None:
    request.session[_key_session_name(pk)] = encrypt_secret(key)


def _decorate(webhook, health=None):
    webhook.scope_text = selectors.scope_label(webhook)
    webhook.type_texts = selectors.type_labels(webhook)
    webhook.health = health
    return webhook


# --------------------------------------------------------------------------- overview


@merchant_view(MANAGE)
def index(request: HttpRequest) -> HttpResponse:
    access = request.access
    summary = selectors.webhook_health(access=access)
    webhooks = [_decorate(w, summary.by_webhook.get(w.pk)) for w in selectors.webhook_list(access=access)]
    failing = [w for w in webhooks if w.is_active and w.health and w.health.is_failing]
    return render(
        request,
        "webhooks/index.html",
        {
            "webhooks": webhooks,
            "summary": summary,
            "failing": failing,
            "active": "webhooks",
            "can_recover_all": not access.is_store_limited,
        },
    )


# --------------------------------------------------------------------------- create / edit


@require_http_methods(["GET", "POST"])
@merchant_view(MANAGE)
def create(request: HttpRequest) -> HttpResponse:
    access = request.access
    if request.method == "GET":
        form = OutboundWebhookForm(access=access, initial={"submission": uuid.uuid4().hex})
        return _render_form(request, form)
    form = OutboundWebhookForm(request.POST, access=access)
    if not form.is_valid():
        return _render_form(request, form, status=400)
    claim = None
    submission = form.cleaned_data.get("submission") or ""
    if submission:
        claim = f"outbound-webhook-create:{access.merchant.pk}:{request.user.pk}:{submission}"
        if not cache.add(claim, "pending", SUBMISSION_TTL):
            return _already_submitted(request, cache.get(claim))
    try:
        webhook, key = services_outbound.webhook_create(
            access=access,
            actor=actor_from_request(request),
            kind=form.cleaned_data["kind"],
            data=_webhook_data(form),
            entered_key=form.cleaned_data.get("encryption_key")
            if form.cleaned_data.get("key_choice") == KeyChoice.ENTER
            else None,
        )
    except (ValidationError, PermissionDenied) as exc:
        if claim:
            cache.delete(claim)
        _apply_errors(form, exc)
        return _render_form(request, form, status=400)
    if claim:
        cache.set(claim, webhook.pk, SUBMISSION_TTL)
    messages.success(request, _("Webhook “%(name)s” created.") % {"name": webhook.name})
    if key:
        _remember_key(request, webhook.pk, key)
        return redirect("webhooks:key", merchant=access.merchant.slug, pk=webhook.pk)
    return redirect("webhooks:detail", merchant=access.merchant.slug, pk=webhook.pk)


def _already_submitted(request: HttpRequest, pk) -> HttpResponse:
    """The same form again (a double click, a re-sent POST): no second webhook."""
    slug = request.access.merchant.slug
    if isinstance(pk, int):
        if request.session.get(_key_session_name(pk)):
            return redirect("webhooks:key", merchant=slug, pk=pk)
        return redirect("webhooks:detail", merchant=slug, pk=pk)
    messages.info(request, _("This form was already submitted; the webhook is being created."))
    return redirect("webhooks:index", merchant=slug)


def _render_form(request: HttpRequest, form: OutboundWebhookForm, *, status: int = 200, webhook=None) -> HttpResponse:
    return _no_store(
        render(
            request,
            "webhooks/form.html",
            {"form": form, "webhook": webhook, "active": "webhooks", "kinds": WebhookKind},
            status=status,
        )
    )


@require_http_methods(["GET", "POST"])
@merchant_view(MANAGE)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    webhook = selectors.webhook_get(access=access, pk=pk)
    if request.method == "GET":
        return _render_form(request, OutboundWebhookForm(access=access, instance=webhook), webhook=webhook)
    form = OutboundWebhookForm(request.POST, access=access, instance=webhook)
    if form.is_valid():
        try:
            services_outbound.webhook_update(
                access=access, actor=actor_from_request(request), webhook=webhook, data=_webhook_data(form)
            )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("webhooks:detail", merchant=access.merchant.slug, pk=webhook.pk)
    return _render_form(request, form, status=400, webhook=webhook)


@require_POST
@merchant_view(MANAGE)
def toggle(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    webhook = selectors.webhook_get(access=access, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        changed = services_outbound.webhook_set_active(
            access=access, actor=actor_from_request(request), webhook=webhook, active=active
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, _("Webhook enabled.") if active else _("Webhook disabled."))
    return redirect("webhooks:detail", merchant=access.merchant.slug, pk=webhook.pk)


# --------------------------------------------------------------------------- the key


@merchant_view(MANAGE)
def reveal_key(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = selectors.webhook_get(access=request.access, pk=pk)
    token = request.session.pop(_key_session_name(webhook.pk), None)
    key = ""
    if token:
        try:
            key = decrypt_secret(token)
        except SecretDecryptionError:
            key = ""
    response = render(request, "webhooks/key.html", {"webhook": _decorate(webhook), "key": key, "active": "webhooks"})
    return _no_store(response)


@require_POST
@merchant_view(MANAGE)
def rotate_key(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    webhook = selectors.webhook_get(access=access, pk=pk)
    form = RotateKeyForm(request.POST)
    if form.is_valid():
        try:
            key = services_outbound.webhook_rotate_key(
                access=access,
                actor=actor_from_request(request),
                webhook=webhook,
                entered_key=form.cleaned_data["encryption_key"]
                if form.cleaned_data["key_choice"] == KeyChoice.ENTER
                else None,
            )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
        else:
            _remember_key(request, webhook.pk, key)
            messages.success(request, _("New key in use from now on."))
            return redirect("webhooks:key", merchant=access.merchant.slug, pk=webhook.pk)
    return _render_detail(request, webhook, rotate_form=form, status=400)


# --------------------------------------------------------------------------- detail and test


def _render_detail(request: HttpRequest, webhook, *, status: int = 200, **extra) -> HttpResponse:
    access = request.access
    summary = selectors.webhook_health(access=access)
    _decorate(webhook, summary.by_webhook.get(webhook.pk))
    page = selectors.delivery_page(access=access, webhook=webhook, limit=10)
    context = {
        "webhook": webhook,
        "deliveries": page.items,
        "more_deliveries": bool(page.next_cursor),
        "rotate_form": extra.pop("rotate_form", None) or RotateKeyForm(),
        "recover_form": extra.pop("recover_form", None)
        or RecoverForm(initial={"since": timezone.localtime(timezone.now() - timedelta(days=1)).replace(tzinfo=None)}),
        "active": "webhooks",
        "paused": 0 if webhook.is_active else selectors.deliveries_paused_count(access=access, webhook=webhook),
        "last_test": selectors.last_test(access=access, webhook=webhook),
        "max_age_days": settings.WEBHOOK_MAX_AGE_DAYS,
        **extra,
    }
    return _no_store(render(request, "webhooks/detail.html", context, status=status))


@merchant_view(MANAGE)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, selectors.webhook_get(access=request.access, pk=pk))


def _verdict_context(verdict) -> dict:
    def attr(*names, default=None):
        for name in names:
            if hasattr(verdict, name):
                return getattr(verdict, name)
        return default

    return {
        "reachable": bool(attr("reachable", default=False)),
        "tls": attr("tls", "tls_version", default=""),
        "http_status": attr("http_status", default=None),
        "excerpt": attr("body_excerpt", "excerpt", "response_excerpt", default="") or "",
        "ack_matched": bool(attr("ack_matched", default=False)),
        "error": attr("error", default="") or "",
        "duration_ms": attr("duration_ms", default=None),
    }


@require_POST
@merchant_view(MANAGE)
def send_test(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    webhook = selectors.webhook_with_key(access=access, pk=pk)
    template = "webhooks/_test_verdict.html" if request.headers.get("HX-Request") else None
    if not cache.add(f"outbound-webhook-test:{webhook.pk}", 1, TEST_INTERVAL_SECONDS):
        # Not a verdict on the endpoint: the page only asks to wait (TEST_INTERVAL_SECONDS).
        verdict = {"rate_limited": True, "error": _("A test was just sent; wait a few seconds before the next one.")}
    else:
        result = outbound.send_test(webhook, actor=actor_from_request(request), access=access)
        verdict = _verdict_context(result)
    if template:
        return render(request, template, {"verdict": verdict, "webhook": webhook})
    return _render_detail(request, webhook, verdict=verdict)


# --------------------------------------------------------------------------- resolution


@merchant_view(MANAGE)
def resolution(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = ResolutionForm(request.GET or None, access=access)
    explanation = None
    if form.is_valid():
        explanation = selectors.resolution_explain(
            access=access,
            terminal=form.cleaned_data["terminal_obj"],
            notification_type=form.cleaned_data["notification_type"],
        )
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "webhooks/resolution.html",
        {"form": form, "explanation": explanation, "active": "webhooks"},
        status=status,
    )


# --------------------------------------------------------------------------- deliveries


@merchant_view(MANAGE)
def deliveries(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access = request.access
    webhook = selectors.webhook_get(access=access, pk=pk) if pk is not None else None
    filters = DeliveryFilterForm(request.GET or None)
    state = transaction_ref = None
    if filters.is_valid():
        state = filters.cleaned_data["state"] or None
        transaction_ref = filters.cleaned_data["transaction"] or None
    page = selectors.delivery_page(
        access=access,
        webhook=webhook,
        state=state,
        transaction_ref=transaction_ref,
        cursor=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    next_query = ""
    if page.next_cursor:
        query["after"] = page.next_cursor
        next_query = query.urlencode()
        query.pop("after")
    return render(
        request,
        "webhooks/deliveries.html",
        {
            "webhook": _decorate(webhook) if webhook else None,
            "page": page,
            "filters": filters,
            "next_query": next_query,
            "first_query": query.urlencode(),
            "states": DeliveryState,
            "active": "webhooks",
        },
        status=400 if filters.is_bound and not filters.is_valid() else 200,
    )


@merchant_view(MANAGE)
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.delivery_get(access=request.access, pk=pk)
    return render(
        request,
        "webhooks/delivery.html",
        {
            "delivery": delivery,
            "webhook": _decorate(delivery.webhook),
            "attempts": selectors.delivery_attempts(delivery=delivery),
            "max_age_days": settings.WEBHOOK_MAX_AGE_DAYS,
            "active": "webhooks",
        },
    )


@require_POST
@merchant_view(MANAGE)
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    delivery = selectors.delivery_get(access=access, pk=pk)
    try:
        outbound.delivery_resend(delivery, actor_from_request(request), access=access)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        messages.success(request, _("Queued to be sent again now."))
    return redirect("webhooks:delivery", merchant=access.merchant.slug, pk=delivery.pk)


@require_POST
@merchant_view(MANAGE)
def recover(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """First POST: how many would be resent (the confirmation). Second POST, confirmed: resend."""
    access = request.access
    webhook = selectors.webhook_get(access=access, pk=pk) if pk is not None else None
    if webhook is None and access.is_store_limited:
        raise PermissionDenied(_("Recover per webhook: your access is limited to some stores."))
    form = RecoverForm(request.POST)
    back = (
        reverse("webhooks:detail", kwargs={"merchant": access.merchant.slug, "pk": webhook.pk})
        if webhook
        else reverse("webhooks:index", kwargs={"merchant": access.merchant.slug})
    )
    if not form.is_valid():
        return render(
            request,
            "webhooks/recover.html",
            {"form": form, "webhook": webhook, "back": back, "active": "webhooks"},
            status=400,
        )
    since = form.cleaned_data["since"]
    count = selectors.deliveries_failed_since_count(access=access, since=since, webhook=webhook)
    expected = form.cleaned_data["expected"]
    # Confirmed for another number (more failed meanwhile): ask again with the new one.
    changed = expected is not None and expected != count
    if not form.cleaned_data["confirm"] or count == 0 or changed:
        confirm_form = RecoverForm(
            initial={
                "since": timezone.localtime(since).replace(tzinfo=None),
                "confirm": True,
                "expected": count,
            }
        )
        return render(
            request,
            "webhooks/recover.html",
            {
                "form": confirm_form,
                "webhook": webhook,
                "count": count,
                "since": since,
                "back": back,
                "limit": RECOVER_LIMIT,
                "changed": changed and form.cleaned_data["confirm"],
                "active": "webhooks",
            },
        )
    try:
        resent = outbound.deliveries_recover(
            access.merchant, since, webhook=webhook, actor=actor_from_request(request), access=access
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(
        request,
        _("%(n)d deliveries queued to be sent again.") % {"n": resent},
    )
    return redirect(back)
