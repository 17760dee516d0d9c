"""Refund, capture and cancel from the transaction page; approvals; the four-eyes setting.

Every action posts a form carrying the idempotency key it was rendered with. Once something was
asked of SIBS the view redirects back to the transaction (a reload never re-posts); a submission
refused before that (a malformed amount, too much, a wrong password) renders the page again with
the dialog open, what was typed, the reason and a 400/403/409/422/429 status. A refund (and the
approval of one) asks for the person's password; wrong passwords are audited and, after
``PASSWORD_ATTEMPTS`` in ``PASSWORD_WINDOW``, refused for a while even when right.

No database transaction is open in these views (``ATOMIC_REQUESTS`` is off): the service calls
SIBS between its own short transactions.
"""

from __future__ import annotations

import inspect

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice import audit
from backoffice.access import Access, merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from common.money import format_money
from payments import selectors
from payments.forms.operations import DecisionForm, OperationForm, PolicyForm, new_key
from payments.models import OperationKind, OperationPolicy, OperationState, PaymentOperation, Transaction
from payments.services import operations as ops
from payments.services.password_confirmation import PasswordRefused, password_confirm
from payments.views import detail as views_detail

MAX_ID_LENGTH = 255


def _transaction(access: Access, transaction_id: str) -> Transaction:
    if not 0 < len(transaction_id) <= MAX_ID_LENGTH or not transaction_id.isprintable():
        raise Http404
    return selectors.transaction_get(access=access, transaction_id=transaction_id)


def _back(access: Access, txn: Transaction) -> HttpResponse:
    return redirect("payments:transaction", merchant=access.merchant.slug, transaction_id=txn.transaction_id)


def outcome_message(op: PaymentOperation) -> tuple[int, str]:
    """What the person is told after acting (level, text)."""
    what = _("%(kind)s of %(amount)s") % {"kind": op.get_kind_display(), "amount": format_money(op.amount, op.currency)}
    if op.state == OperationState.SUCCEEDED:
        return messages.SUCCESS, _("%(what)s done: SIBS confirmed it.") % {"what": what}
    if op.state == OperationState.PENDING_APPROVAL:
        return messages.INFO, _("%(what)s is above the approval threshold: it waits for another person's approval.") % {
            "what": what
        }
    if op.state == OperationState.UNKNOWN:
        return messages.WARNING, _("%(what)s: %(detail)s") % {"what": what, "detail": op.outcome_detail}
    if op.state in (OperationState.IN_FLIGHT, OperationState.RESERVED):
        return messages.INFO, _("%(what)s is being sent to SIBS.") % {"what": what}
    if op.state == OperationState.REJECTED:
        return messages.INFO, _("%(what)s was rejected; nothing was sent to SIBS.") % {"what": what}
    return messages.ERROR, _("%(what)s not done: %(detail)s") % {"what": what, "detail": op.outcome_detail}


def confirm_password(request: HttpRequest, *, field: str, purpose: str, obj=None) -> None:
    password_confirm(
        user=request.user,
        password=request.POST.get(field, ""),
        actor=actor_from_request(request),
        merchant=request.access.merchant,
        purpose=purpose,
        obj=obj,
    )


def refused(request: HttpRequest, txn: Transaction, *, kind: str, form: OperationForm, message: str, status: int):
    """Render the transaction page again with the dialog open, what was typed and why nothing was
    done (the detail page's own view renders it; the operations panel reads the failure)."""
    request.operation_failure = {"kind": kind, "form": form, "message": message}
    detail = inspect.unwrap(views_detail.transaction_detail)
    response = detail(request, txn.transaction_id)
    response.status_code = status
    return response


def _form_errors(form: OperationForm) -> str:
    return " ".join(
        f"{form.fields[f].label}: {' '.join(e)}" if f in form.fields and f != "__all__" else " ".join(e)
        for f, e in form.errors.items()
    )


def _submit(request: HttpRequest, transaction_id: str, kind: str) -> HttpResponse:
    access: Access = request.access
    access.require(Capability.VIEW_TRANSACTIONS)
    txn = _transaction(access, transaction_id)
    if not ops.can_act_on(access, txn):
        raise PermissionDenied(_("You can only act on the stores you have access to."))
    fixed = kind == OperationKind.CANCELLATION and txn.payment_method == "REFERENCE"
    form = OperationForm(request.POST, kind=kind, currency=txn.currency or "EUR", fixed_amount=fixed, prefix=kind)
    if kind == OperationKind.REFUND:
        # First, whatever else is wrong: a post without the field, or with a wrong password, is
        # refused, audited and counted towards the lock-out.
        try:
            confirm_password(request, field=form.add_prefix("password"), purpose=kind, obj=txn)
        except PasswordRefused as error:
            form.is_valid()
            form.add_error("password", error.message)
            return refused(request, txn, kind=kind, form=form, message=error.message, status=error.status)
    if not form.is_valid():
        message = _("Nothing was done. %(errors)s") % {"errors": _form_errors(form)}
        return refused(request, txn, kind=kind, form=form, message=message, status=400)
    data = form.cleaned_data
    try:
        result = ops.operation_request(
            access=access,
            actor=actor_from_request(request),
            txn=txn,
            kind=kind,
            amount=data["amount"],
            reason=data["reason"],
            comment=data.get("comment") or "",
            idempotency_key=data["idempotency_key"],
        )
    except ops.OperationError as error:
        if error.field in form.fields:
            form.add_error(error.field, error.message)
        if error.code == "idempotency_key_reused":
            # The form's key went with another request: what is typed now gets a new one.
            form.data = form.data.copy()
            form.data[form.add_prefix("idempotency_key")] = new_key()
        message = _("Nothing was done: %(message)s") % {"message": error.message}
        txn.refresh_from_db()
        return refused(request, txn, kind=kind, form=form, message=message, status=error.status)
    level, text = outcome_message(result.operation)
    messages.add_message(request, level, text)
    return _back(access, txn)


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def refund(request: HttpRequest, transaction_id: str) -> HttpResponse:
    return _submit(request, transaction_id, OperationKind.REFUND)


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def capture(request: HttpRequest, transaction_id: str) -> HttpResponse:
    return _submit(request, transaction_id, OperationKind.CAPTURE)


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def cancel(request: HttpRequest, transaction_id: str) -> HttpResponse:
    return _submit(request, transaction_id, OperationKind.CANCELLATION)


def _operation(access: Access, pk: int) -> PaymentOperation:
    op = (
        PaymentOperation.objects.select_related("original", "original__merchant")
        .filter(pk=pk, merchant=access.merchant)
        .first()
    )
    if op is None or not access.allows_store(op.original.store_id):
        raise Http404
    if access.is_store_limited and op.original.store_id is None:
        raise Http404
    return op


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def operation_approve(request: HttpRequest, pk: int) -> HttpResponse:
    access: Access = request.access
    op = _operation(access, pk)
    try:
        confirm_password(request, field=f"op{op.pk}-password", purpose="approval", obj=op)
    except PasswordRefused as error:
        messages.error(request, error.message)
        return _back(access, op.original)
    op = ops.operation_approve(access=access, actor=actor_from_request(request), operation=op)
    level, text = outcome_message(op)
    messages.add_message(request, level, text)
    return _back(access, op.original)


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def operation_reject(request: HttpRequest, pk: int) -> HttpResponse:
    access: Access = request.access
    op = _operation(access, pk)
    form = DecisionForm(request.POST, prefix=f"op{op.pk}")
    form.is_valid()
    op = ops.operation_reject(
        access=access, actor=actor_from_request(request), operation=op, comment=form.cleaned_data.get("comment") or ""
    )
    level, text = outcome_message(op)
    messages.add_message(request, level, text)
    return _back(access, op.original)


@require_POST
@merchant_view(Capability.OPERATE_PAYMENTS)
def operation_inquire(request: HttpRequest, pk: int) -> HttpResponse:
    access: Access = request.access
    op = _operation(access, pk)
    if not ops.can_act_on(access, op.original):
        raise PermissionDenied
    state = ops.operation_inquire(operation_pk=op.pk)
    op.refresh_from_db()
    if state == OperationState.UNKNOWN:
        messages.warning(request, _("SIBS has not settled it yet; it is asked again automatically."))
    else:
        level, text = outcome_message(op)
        messages.add_message(request, level, text)
    return _back(access, op.original)


@merchant_view(Capability.MANAGE_PAYMENT_METHODS)
def operations_policy(request: HttpRequest) -> HttpResponse:
    """The four-eyes threshold for refunds (Owners and Administrators of the whole merchant)."""
    access: Access = request.access
    if access.is_store_limited:
        raise PermissionDenied(_("Only people with access to the whole merchant can change this."))
    policy = OperationPolicy.objects.filter(merchant=access.merchant).first()
    current = policy.four_eyes_threshold if policy else None
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            new = form.cleaned_data["four_eyes_threshold"]
            if new != current:
                OperationPolicy.objects.update_or_create(
                    merchant=access.merchant,
                    defaults={"four_eyes_threshold": new, "updated_by": request.user, "updated_at": timezone.now()},
                )
                audit.record(
                    actor=actor_from_request(request),
                    action="operation_policy.changed",
                    merchant=access.merchant,
                    obj=OperationPolicy.objects.get(merchant=access.merchant),
                    before={"four_eyes_threshold": None if current is None else f"{current:f}"},
                    after={"four_eyes_threshold": None if new is None else f"{new:f}"},
                )
            messages.success(request, _("Approval threshold saved."))
            return redirect("payments:operations_policy", merchant=access.merchant.slug)
        status = 400
    else:
        form = PolicyForm(initial={"four_eyes_threshold": current})
        status = 200
    return render(
        request,
        "payments/operations_policy.html",
        {"form": form, "current": current, "active": "payment_methods"},
        status=status,
    )
