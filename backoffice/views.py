"""Pages of the core: home, activation, users, API keys, audit, and empty sections."""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from backoffice import audit_display, selectors, services
from backoffice.access import merchant_view
from backoffice.audit import actor_from_request, client_ip
from backoffice.forms import ActivationForm, ApiKeyForm, AuditFilterForm, InviteForm, MembershipForm
from backoffice.models import Membership
from backoffice.navigation import SECTIONS
from backoffice.roles import Capability, Role


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, is_active=True, merchant__is_active=True)
        .select_related("merchant")
        .order_by("merchant__name")
    )
    chosen = next((m for m in memberships if m.merchant_id == request.user.last_merchant_id), None)
    chosen = chosen or memberships.first()
    if chosen is None:
        return render(request, "backoffice/no_merchant.html", status=200)
    return redirect("merchant_home", merchant=chosen.merchant.slug)


@merchant_view()
def merchant_home(request: HttpRequest) -> HttpResponse:
    for section in SECTIONS:
        if request.access.can(section.capability):
            return redirect(section.url_name, merchant=request.access.merchant.slug)
    raise PermissionDenied


@never_cache
@csrf_protect
def activate(request: HttpRequest) -> HttpResponse:
    """'Activate your account': e-mail, activation code, new password; then the user is in."""
    if request.method == "POST":
        form = ActivationForm(request.POST)
        if form.is_valid():
            try:
                user = services.account_activate(
                    email=form.cleaned_data["email"],
                    code=form.cleaned_data["code"],
                    password=form.cleaned_data["password1"],
                    client_ip=client_ip(request),
                )
            except services.ActivationError as exc:
                field = "password1" if exc.code == "weak_password" else "code"
                form.add_error(field, exc.message)
            else:
                login(request, user, backend="backoffice.auth_backends.LockoutAwareBackend")
                # The code and the new password are this session's proof of identity.
                record_authentication(request, user, method="activation_code", email=user.email)
                messages.success(request, _("Your account is active. Welcome!"))
                return redirect("home")
    else:
        form = ActivationForm(initial={"email": request.GET.get("email", "")[:254]})
    return render(request, "backoffice/activate.html", {"form": form})


# --- Users -----------------------------------------------------------------------------------------


@merchant_view(Capability.MANAGE_USERS)
def users(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = InviteForm(access=access, initial={"language": access.merchant.language})
    if request.method == "POST":
        form = InviteForm(request.POST, access=access)
        if form.is_valid():
            try:
                result = services.user_invite(
                    access=access,
                    actor=actor_from_request(request),
                    email=form.cleaned_data["email"],
                    role=Role(form.cleaned_data["role"]),
                    stores=list(form.cleaned_data["stores"]),
                    full_name=form.cleaned_data["full_name"],
                    language=form.cleaned_data["language"],
                )
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                if result.activation_code:
                    messages.success(
                        request,
                        _("Invitation sent to %(email)s with an activation code valid for 4 days.")
                        % {"email": result.membership.user.email},
                    )
                else:
                    messages.success(
                        request,
                        _("%(email)s already had an account and now has access to this merchant.")
                        % {"email": result.membership.user.email},
                    )
                return redirect("backoffice:users", merchant=access.merchant.slug)
    members = list(selectors.membership_list(access=access))
    for member in members:  # offer only what the server would accept
        member.can_change = services.can_change_membership(access, member)
    return render(request, "backoffice/users.html", {"form": form, "members": members, "active": "users"})


@merchant_view(Capability.MANAGE_USERS)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    membership = selectors.membership_get(access=access, pk=pk)
    if not services.can_change_membership(access, membership):
        raise PermissionDenied(_("Your role cannot change this person's access."))
    initial = {"role": membership.role, "stores": list(membership.stores.all())}
    form = MembershipForm(request.POST or None, access=access, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update(
                access=access,
                actor=actor_from_request(request),
                membership=membership,
                role=Role(form.cleaned_data["role"]),
                stores=list(form.cleaned_data["stores"]),
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Access of %(email)s updated.") % {"email": membership.user.email})
            return redirect("backoffice:users", merchant=access.merchant.slug)
    return render(request, "backoffice/user_edit.html", {"form": form, "membership": membership, "active": "users"})


@require_POST
@merchant_view(Capability.MANAGE_USERS)
def user_remove(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    membership = selectors.membership_get(access=access, pk=pk)
    try:
        services.membership_deactivate(access=access, actor=actor_from_request(request), membership=membership)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(
            request, _("%(email)s no longer has access to this merchant.") % {"email": membership.user.email}
        )
    return redirect("backoffice:users", merchant=access.merchant.slug)


@require_POST
@merchant_view(Capability.MANAGE_USERS)
def user_resend_code(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    membership = selectors.membership_get(access=access, pk=pk)
    try:
        services.activation_code_resend(access=access, actor=actor_from_request(request), membership=membership)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(
            request,
            _("A new activation code was sent to %(email)s; the previous one no longer works.")
            % {"email": membership.user.email},
        )
    return redirect("backoffice:users", merchant=access.merchant.slug)


# --- API keys ----------------------------------------------------------------------------------------


@merchant_view(Capability.MANAGE_API_KEYS)
def api_keys(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = ApiKeyForm(request.POST or None, access=access)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            key, plaintext = services.api_key_create(
                access=access,
                actor=actor_from_request(request),
                name=form.cleaned_data["name"],
                role=Role(form.cleaned_data["role"]),
                stores=list(form.cleaned_data["stores"]),
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            # Shown once, on this response only; never stored in clear, never in a redirect URL.
            created = {"key": key, "plaintext": plaintext}
            form = ApiKeyForm(access=access)
    keys = selectors.api_key_list(access=access)
    response = render(
        request,
        "backoffice/api_keys.html",
        {"form": form, "keys": keys, "created": created, "active": "api_keys"},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@merchant_view(Capability.MANAGE_API_KEYS)
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    key = selectors.api_key_get(access=access, pk=pk)
    services.api_key_revoke(access=access, actor=actor_from_request(request), key=key)
    messages.success(request, _("The key %(name)s was revoked.") % {"name": key.name})
    return redirect("backoffice:api_keys", merchant=access.merchant.slug)


# --- Audit -------------------------------------------------------------------------------------------


@merchant_view(Capability.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = selectors.audit_event_list(
        access=request.access,
        actor=filters.get("actor") or "",
        action=filters.get("action") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "backoffice/audit.html",
        {
            "form": form,
            "page": page,
            "lines": audit_display.present(page.object_list),
            "query": query.urlencode(),
            "active": "audit",
        },
    )
