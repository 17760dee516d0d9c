"""Pages of the reconciliation section: payouts, exceptions, upload, settings.

Views parse, check access, call one service or selector and render; the rules live in
``reconciliation.services``.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from payments.selectors.listing import visible_stores
from reconciliation import explain, forms, selectors
from reconciliation.models import ExceptionKind, FileSource, ImportOutcome, Resolution
from reconciliation.services import configuration, resolution
from reconciliation.services.importing import settlement_file_import

RECONCILE = Capability.RECONCILE
ACTIVE = "reconciliation"


def _url(name: str, request: HttpRequest, **kwargs) -> str:
    return reverse(f"reconciliation:{name}", kwargs={"merchant": request.access.merchant.slug, **kwargs})


def _ctx(request: HttpRequest, tab: str, **extra) -> dict:
    return {"active": ACTIVE, "tab": tab, "can_configure": configuration.can_configure(request.access), **extra}


@merchant_view(RECONCILE)
def payouts(request: HttpRequest) -> HttpResponse:
    rows = selectors.payout_list(access=request.access)
    return render(request, "reconciliation/payouts.html", _ctx(request, "payouts", payouts=rows))


def _payout_key(request: HttpRequest) -> tuple[date, str]:
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        raise Http404("No such payout") from None
    reference = request.GET.get("ref", "")
    if not reference or len(reference) > 255:
        raise Http404("No such payout")
    return day, reference


@merchant_view(RECONCILE)
def payout_detail(request: HttpRequest) -> HttpResponse:
    day, reference = _payout_key(request)
    payout = selectors.payout_get(access=request.access, settlement_date=day, reference=reference)
    lines = Paginator(
        selectors.payout_lines(access=request.access, settlement_date=day, reference=reference), 100
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "reconciliation/payout_detail.html",
        _ctx(request, "payouts", payout=payout, page=lines, query=f"date={day.isoformat()}&ref={reference}"),
    )


@merchant_view(RECONCILE)
def exceptions(request: HttpRequest) -> HttpResponse:
    access = request.access
    stores = list(visible_stores(access))
    form = forms.ExceptionFilterForm(request.GET or {"state": "open"}, stores=stores)
    data = form.cleaned_data if form.is_valid() else {"state": "open"}
    qs = selectors.exception_list(
        access=access,
        state=data.get("state", "open"),
        kinds=tuple(data.get("kind") or ()),
        store_ids=tuple(int(s) for s in data.get("store") or ()),
        since=data.get("since"),
        until=data.get("until"),
    )
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reconciliation/exceptions.html",
        _ctx(
            request,
            "exceptions",
            form=form,
            page=page,
            query=query.urlencode(),
            bulk_form=forms.BulkResolveForm(),
            today=date.today(),  # noqa: DTZ011 - ages are whole days on the screen
        ),
    )


@merchant_view(RECONCILE)
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.access
    exc = selectors.exception_get(access=access, pk=pk)
    allow_match = exc.line_id is not None and exc.kind != ExceptionKind.DUPLICATE
    form = forms.ResolveForm(allow_match=allow_match)
    reopen_form = forms.ReopenForm()
    if request.method == "POST":
        actor = actor_from_request(request)
        if request.POST.get("action") == "reopen":
            reopen_form = forms.ReopenForm(request.POST)
            if reopen_form.is_valid():
                done = resolution.exception_reopen(
                    access=access, actor=actor, pk=exc.pk, comment=reopen_form.cleaned_data["comment"]
                )
                messages.success(request, _("Exception reopened.") if done else _("It was open already."))
                return redirect(_url("exception", request, pk=exc.pk))
        else:
            form = forms.ResolveForm(request.POST, allow_match=allow_match)
            if form.is_valid():
                txn = None
                if form.cleaned_data["resolution"] == Resolution.MATCHED_MANUALLY:
                    txn = selectors.transaction_get(
                        access=access, transaction_id=form.cleaned_data.get("transaction_id", "").strip()
                    )
                    if txn is None:
                        candidates = list(
                            selectors.transaction_candidates(
                                access=access, text=form.cleaned_data.get("transaction_id", ""), limit=2
                            )
                        )
                        txn = candidates[0] if len(candidates) == 1 else None
                try:
                    if form.cleaned_data["resolution"] == Resolution.MATCHED_MANUALLY and txn is None:
                        raise ValidationError({"transaction_id": _("No transaction you can see has that id.")})
                    done = resolution.exception_resolve(
                        access=access,
                        actor=actor,
                        pk=exc.pk,
                        decision=resolution.Decision(
                            resolution=form.cleaned_data["resolution"],
                            reason=form.cleaned_data["reason"],
                            comment=form.cleaned_data["comment"],
                            transaction=txn,
                        ),
                    )
                except ValidationError as err:
                    for field, errors in err.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, _("Exception resolved.") if done else _("It was resolved already."))
                    return redirect(_url("exception", request, pk=exc.pk))
    line = exc.line
    txn = exc.transaction if line is None else line.transaction
    return render(
        request,
        "reconciliation/exception_detail.html",
        _ctx(
            request,
            "exceptions",
            exc=exc,
            line=line,
            txn=txn,
            comparison=explain.compare(line, txn) if line is not None else [],
            explanation=explain.explain(line, txn),
            history=exc.actions.select_related("matched_transaction").order_by("created_at", "id"),
            form=form,
            reopen_form=reopen_form,
        ),
    )


@require_POST
@merchant_view(RECONCILE)
def exceptions_bulk_resolve(request: HttpRequest) -> HttpResponse:
    form = forms.BulkResolveForm(request.POST)
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()][:1000]
    back = _url("exceptions", request)
    if not ids:
        messages.error(request, _("Choose at least one exception."))
        return redirect(back)
    if not form.is_valid():
        messages.error(request, _("Choose a resolution and a reason for the selected exceptions."))
        return redirect(back)
    try:
        count = resolution.exceptions_bulk_resolve(
            access=request.access,
            actor=actor_from_request(request),
            pks=ids,
            decision=resolution.Decision(
                resolution=form.cleaned_data["resolution"],
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
            ),
        )
    except ValidationError as err:
        messages.error(request, " ".join(err.messages))
        return redirect(back)
    messages.success(request, _("%(count)d exceptions resolved.") % {"count": count})
    return redirect(back)


@merchant_view(RECONCILE)
def upload(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = forms.UploadForm()
    refused = None
    if request.method == "POST":
        form = forms.UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload_file = form.cleaned_data["file"]
            result = settlement_file_import(
                merchant=access.merchant,
                name=upload_file.name,
                stream=upload_file.file,
                source=FileSource.UPLOAD,
                actor=actor_from_request(request),
            )
            if result.outcome == ImportOutcome.IMPORTED:
                f = result.file
                messages.success(
                    request,
                    _("%(name)s imported: %(lines)d lines, %(exceptions)d with exceptions.")
                    % {"name": f.name, "lines": f.line_count, "exceptions": f.exception_count},
                )
                return redirect(_url("payouts", request))
            if result.outcome == ImportOutcome.ALREADY_IMPORTED:
                messages.info(request, _("This file was imported already; nothing changed."))
                return redirect(_url("payouts", request))
            refused = result
    return render(
        request,
        "reconciliation/upload.html",
        _ctx(
            request,
            "files",
            form=form,
            refused=refused,
            files=selectors.file_list(access=access),
            attempts=selectors.attempt_list(access=access),
        ),
        status=400 if refused is not None else 200,
    )


@merchant_view(RECONCILE)
def settings_page(request: HttpRequest) -> HttpResponse:
    access = request.access
    if not configuration.can_configure(access):
        raise PermissionDenied
    obj = selectors.settings_get(access=access)
    matching_form = forms.SettingsForm(instance=obj, prefix="m")
    sftp_form = forms.SftpForm(
        initial={
            f: getattr(obj, f)
            for f in forms.SftpForm.base_fields
            if hasattr(obj, f) and "password" not in f and "key" not in f
        },
        prefix="s",
    )
    pgp_form = forms.PgpForm(prefix="p")
    if request.method == "POST":
        actor = actor_from_request(request)
        section = request.POST.get("section")
        if section == "matching":
            matching_form = forms.SettingsForm(request.POST, instance=selectors.settings_get(access=access), prefix="m")
            if matching_form.is_valid():
                d = matching_form.cleaned_data
                configuration.matching_update(
                    access=access,
                    actor=actor,
                    layout=d["layout"],
                    column_map=d["column_map"],
                    tolerance=d["tolerance"],
                    business_days=d["expected_business_days"],
                )
                messages.success(request, _("Settings saved."))
                return redirect(_url("settings", request))
        elif section == "sftp":
            sftp_form = forms.SftpForm(request.POST, prefix="s")
            if sftp_form.is_valid():
                configuration.sftp_update(access=access, actor=actor, data=sftp_form.cleaned_data)
                messages.success(request, _("SFTP settings saved."))
                return redirect(_url("settings", request))
        elif section == "pgp":
            pgp_form = forms.PgpForm(request.POST, prefix="p")
            if pgp_form.is_valid():
                d = pgp_form.cleaned_data
                configuration.pgp_update(
                    access=access,
                    actor=actor,
                    private_key=d["pgp_private_key"],
                    passphrase=d["pgp_passphrase"],
                    remove=d["remove"],
                )
                messages.success(request, _("PGP key saved."))
                return redirect(_url("settings", request))
        elif section == "fetch":
            from reconciliation.services.sftp import pickup

            report = pickup(settings_id=obj.pk)
            if report.error:
                messages.error(request, report.error)
            else:
                messages.success(request, _("SFTP checked: %(n)d new file(s) taken.") % {"n": len(report.imported)})
            return redirect(_url("settings", request))
    return render(
        request,
        "reconciliation/settings.html",
        _ctx(request, "settings", settings=obj, matching_form=matching_form, sftp_form=sftp_form, pgp_form=pgp_form),
    )
