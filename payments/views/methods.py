"""The Credentials tab of the Payment methods page: the gateway credentials and their form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice import page_sections
from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from payments import selectors, services
from payments.forms.methods import CredentialForm


def _errors_into(form, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))


PAGE = "payment_methods.credentials"


def methods_context(request: HttpRequest, overrides: dict) -> dict:
    """The Credentials tab: gateway credentials and their form."""
    access = request.access
    return {
        "credential_form": overrides.get("credential_form")
        or CredentialForm(access=access, initial={"api_root_preset": "sandbox"}),
        "credentials": selectors.credential_list(access=access),
        "active": "payment_methods",
    }


def render_payment_methods(request: HttpRequest, *, status: int = 200, **context) -> HttpResponse:
    return page_sections.render(request, PAGE, status=status, **context)


@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def credentials_tab(request: HttpRequest) -> HttpResponse:
    return render_payment_methods(request)


def credentials(request: HttpRequest, merchant: str) -> HttpResponse:
    """The tab on GET; adding a credential on POST (the form posts to the tab's own address)."""
    if request.method == "POST":
        return credential_add(request, merchant=merchant)
    return credentials_tab(request, merchant=merchant)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def credential_add(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = CredentialForm(request.POST, access=access)
    if form.is_valid():
        data = form.cleaned_data
        try:
            credential = services.credential_create(
                access=access,
                actor=actor_from_request(request),
                name=data["name"],
                store=data["store"],
                terminal=data["terminal"],
                terminal_number=data.get("terminal_number"),
                client_id=data["client_id"],
                bearer_token=data["bearer_token"],
                api_root_preset=data["api_root_preset"],
                custom_api_root=data.get("custom_api_root") or "",
            )
        except (ValidationError, PermissionDenied) as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Credential “%(name)s” added.") % {"name": credential})
            return redirect("payments:credentials", merchant=access.merchant.slug)
    return render_payment_methods(request, status=400, credential_form=form)


@require_POST
@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def credential_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    credential = selectors.credential_get(access=access, pk=pk)
    services.credential_deactivate(access=access, actor=actor_from_request(request), credential=credential)
    messages.success(request, _("Credential “%(name)s” deactivated.") % {"name": credential})
    return redirect("payments:credentials", merchant=access.merchant.slug)
