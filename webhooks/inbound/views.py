"""Pages of the inbound configuration: webhook secrets, acknowledgement setting, rejected log.

They render as the Inbound notifications tab of the Payment methods page (``webhooks/apps.py``): the
inbound URL and its secrets are what an administrator copies into SIBS Backoffice next to the
gateway credentials. Managing them takes ``MANAGE_PAYMENT_METHODS`` and merchant-wide access;
the rejected log is readable with ``MANAGE_PAYMENT_METHODS`` or ``MANAGE_WEBHOOKS``.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice import page_sections
from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from webhooks.inbound import selectors, services
from webhooks.inbound.forms import InboundSettingsForm, SecretEnterForm, SecretGenerateForm

PAYMENT_METHODS_PAGE = "payment_methods"
INBOUND_PAGE = "payment_methods.inbound"


def inbound_context(request: HttpRequest, overrides: dict) -> dict | None:
    """The Inbound notifications tab of the Payment methods page, for merchant-wide managers only."""
    access = request.access
    if access.is_store_limited:
        return None
    endpoint = services.endpoint_ensure(access.merchant)
    since = timezone.now() - timedelta(hours=24)
    rejected = selectors.rejected_list(access=access)
    return {
        "endpoint": endpoint,
        "secrets": selectors.secret_list(access=access),
        "generate_form": overrides.get("generate_form") or SecretGenerateForm(),
        "enter_form": overrides.get("enter_form") or SecretEnterForm(),
        "inbound_form": overrides.get("inbound_form")
        or InboundSettingsForm(initial={"ack_status_code": endpoint.ack_status_code}),
        "rejected_recent": rejected.filter(received_at__gte=since).count(),
        "can_see_rejected": True,
    }


def _methods(request: HttpRequest, **context) -> HttpResponse:
    return page_sections.render(request, INBOUND_PAGE, **context)


def _merchant_wide(request: HttpRequest) -> None:
    if request.access.is_store_limited:
        raise PermissionDenied(_("Inbound notifications are configured for the whole merchant."))


def _form_errors(form, exc) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))


@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def inbound_tab(request: HttpRequest) -> HttpResponse:
    _merchant_wide(request)
    return _methods(request)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def secret_generate(request: HttpRequest) -> HttpResponse:
    _merchant_wide(request)
    form = SecretGenerateForm(request.POST)
    if form.is_valid():
        try:
            secret, plaintext = services.secret_generate(
                access=request.access, actor=actor_from_request(request), label=form.cleaned_data["label"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _form_errors(form, exc)
        else:
            # Shown on this response only; never stored in clear, never in a redirect.
            return _methods(request, created_secret={"secret": secret, "plaintext": plaintext})
    return _methods(request, status=400, generate_form=form)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def secret_enter(request: HttpRequest) -> HttpResponse:
    _merchant_wide(request)
    form = SecretEnterForm(request.POST)
    if form.is_valid():
        try:
            secret = services.secret_enter(
                access=request.access,
                actor=actor_from_request(request),
                label=form.cleaned_data["label"],
                secret=form.cleaned_data["secret"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("Secret %(fingerprint)s added and active.") % {"fingerprint": secret.fingerprint}
            )
            return redirect("webhooks:inbound", merchant=request.access.merchant.slug)
    return _methods(request, status=400, enter_form=form)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def secret_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _merchant_wide(request)
    secret = selectors.secret_get(access=request.access, pk=pk)
    services.secret_revoke(access=request.access, actor=actor_from_request(request), secret=secret)
    messages.success(
        request,
        _("Secret %(fingerprint)s revoked: notifications encrypted with it are refused from now on.")
        % {"fingerprint": secret.fingerprint},
    )
    return redirect("webhooks:inbound", merchant=request.access.merchant.slug)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def inbound_settings(request: HttpRequest) -> HttpResponse:
    _merchant_wide(request)
    form = InboundSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(
                access=request.access,
                actor=actor_from_request(request),
                ack_status_code=form.cleaned_data["ack_status_code"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Acknowledgement setting saved."))
            return redirect("webhooks:inbound", merchant=request.access.merchant.slug)
    return _methods(request, status=400, inbound_form=form)


@merchant_view()
def rejected_log(request: HttpRequest) -> HttpResponse:
    access = request.access
    rejected = selectors.rejected_list(access=access)
    page = Paginator(rejected, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/rejected.html",
        {
            "page": page,
            "suppressed": services.rejected_suppressed_count(access.merchant.pk),
            "failed": selectors.failed_inbound_list(access=access)[:50],
            # A decrypted excerpt may hold phone numbers and card tokens.
            "can_view_raw": access.can(Capability.VIEW_RAW_PAYLOADS),
            "active": "payment_methods" if access.can(Capability.MANAGE_PAYMENT_METHODS) else "webhooks",
        },
    )
