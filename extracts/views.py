"""Pages of the export engine: new extract (any registered dataset), progress, download,
past extracts, schedules. Parse, check access, call one service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.middleware import passive_request
from backoffice.models import Membership
from extracts import engine, registry, selectors, services
from extracts.models import ExtractFormat, Frequency

COMMON_ZONES = (
    "Europe/Lisbon",
    "Atlantic/Azores",
    "Atlantic/Madeira",
    "UTC",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Paris",
    "America/Sao_Paulo",
    "Africa/Luanda",
    "Africa/Maputo",
)


def _dataset_for(request: HttpRequest, source) -> registry.Dataset:
    datasets = registry.exportable(request.access)
    if not datasets:
        raise PermissionDenied(_("Your role does not allow extracts."))
    key = (source.get("dataset") or datasets[0].key).strip()
    dataset = registry.get(key)
    if dataset is None or dataset not in datasets:
        raise Http404("No such dataset")
    return dataset


def _column_choices(dataset: registry.Dataset, source) -> list[dict]:
    chosen = [k for k in source.getlist("columns") if k in dataset.by_key]
    if not chosen:
        preset = source.get("preset") or dataset.default_preset
        chosen = list(dataset.preset_columns(preset if preset in dataset.presets else dataset.default_preset))
    ordered = chosen + [c.key for c in dataset.columns if c.key not in chosen]
    return [{"key": k, "label": dataset.by_key[k].label, "checked": k in chosen} for k in ordered]


def _page(request: HttpRequest, source, *, errors: dict | None = None, status: int = 200) -> HttpResponse:
    access = request.access
    dataset = _dataset_for(request, source)
    filter_params = QueryDict(services.filter_query(source))
    _filters, filter_errors, form = dataset.parse(filter_params, access=access)
    estimate = None
    if not filter_errors:
        try:
            prepared = services.prepare(access=access, params=_with_defaults(source, dataset))
            estimate = engine.estimate(prepared.job(access).queryset())
        except ValidationError:
            estimate = None
    errors = errors or {}
    labels = {name: getattr(form.fields.get(name), "label", None) or name for name in errors}
    context = {
        "active": "extracts",
        "datasets": registry.exportable(access),
        "dataset": dataset,
        "form": form,
        "presets": [(key, label) for key, (label, _cols) in dataset.presets.items()],
        "columns": _column_choices(dataset, source),
        "formats": ExtractFormat.choices,
        "format": source.get("format") or ExtractFormat.XLSX,
        "zone": source.get("zone") or "Europe/Lisbon",
        "zones": COMMON_ZONES,
        "estimate": estimate,
        "errors": [(labels[name], msgs) for name, msgs in errors.items()],
        "filter_errors": filter_errors if not errors else {},
        "extracts": selectors.extract_list(access=access)[:50],
        "retention_days": settings.EXTRACT_RETENTION_DAYS,
    }
    return render(request, "extracts/index.html", context, status=status)


def _with_defaults(source, dataset: registry.Dataset) -> QueryDict:
    params = source.copy()
    params.setdefault("dataset", dataset.key)
    params.setdefault("format", ExtractFormat.XLSX)
    return params


@require_http_methods(["GET", "POST"])
@merchant_view()
def index(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, request.GET)
    try:
        extract = services.extract_request(
            access=request.access, actor=actor_from_request(request), params=request.POST
        )
    except ValidationError as exc:
        return _page(request, request.POST, errors=exc.message_dict, status=400)
    return redirect("extracts:detail", merchant=request.access.merchant.slug, pk=extract.pk)


def _detail_context(request: HttpRequest, pk: int) -> dict:
    extract = selectors.extract_get(access=request.access, pk=pk)
    dataset = registry.get(extract.dataset)
    return {
        "active": "extracts",
        "extract": extract,
        "dataset_label": dataset.label if dataset else extract.dataset,
        "column_labels": [
            str(dataset.by_key[k].label) if dataset and k in dataset.by_key else k for k in extract.columns
        ],
        "elapsed": ((extract.finished_at or extract.progress_at or extract.created_at) - extract.created_at),
        "can_cancel": not extract.is_finished,
    }


@require_GET
@merchant_view()
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "extracts/detail.html", _detail_context(request, pk))


@require_GET
@passive_request
@merchant_view()
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    context = _detail_context(request, pk)
    response = render(request, "extracts/_progress.html", context)
    if context["extract"].is_finished:
        # The page reloads once to show the download link and the final figures.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@merchant_view()
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    extract = selectors.extract_get(access=request.access, pk=pk)
    if services.extract_cancel(access=request.access, actor=actor_from_request(request), extract=extract):
        messages.success(request, _("The extract was cancelled."))
    return redirect("extracts:detail", merchant=request.access.merchant.slug, pk=pk)


@require_GET
@merchant_view()
def download(request: HttpRequest, pk: int) -> HttpResponse:
    extract = selectors.extract_get(access=request.access, pk=pk)
    try:
        handle = services.extract_open(access=request.access, actor=actor_from_request(request), extract=extract)
    except FileNotFoundError:
        context = _detail_context(request, pk)
        context["gone"] = True
        return render(request, "extracts/detail.html", context, status=410)
    response = FileResponse(handle, as_attachment=True, filename=extract.download_name)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@merchant_view()
def schedules(request: HttpRequest) -> HttpResponse:
    access = request.access
    errors: dict = {}
    source = request.POST if request.method == "POST" else request.GET
    dataset = _dataset_for(request, source)
    members = list(
        Membership.objects.filter(merchant=access.merchant, is_active=True)
        .select_related("user")
        .order_by("user__email")
    )
    if request.method == "POST":
        chosen = {int(v) for v in request.POST.getlist("recipients") if v.isdigit()}
        recipients = [m.user for m in members if m.user_id in chosen]
        raw_hour = request.POST.get("hour", "")
        try:
            services.schedule_create(
                access=access,
                actor=actor_from_request(request),
                params=request.POST,
                recipients=recipients,
                name=request.POST.get("name", ""),
                frequency=request.POST.get("frequency", ""),
                hour=int(raw_hour) if raw_hour.isascii() and raw_hour.isdigit() else -1,
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("The scheduled extract was saved."))
            return redirect("extracts:schedules", merchant=access.merchant.slug)
    filter_params = QueryDict(services.filter_query(source))
    for key in services.PERIOD_PARAMS:
        filter_params = filter_params.copy()
        filter_params.pop(key, None)
    _filters, _errors, form = dataset.parse(filter_params, access=access)
    for key in services.PERIOD_PARAMS:
        form.fields.pop(key, None)
    context = {
        "active": "extracts",
        "datasets": registry.exportable(access),
        "dataset": dataset,
        "form": form,
        "columns": _column_choices(dataset, source),
        "presets": [(key, label) for key, (label, _cols) in dataset.presets.items()],
        "formats": ExtractFormat.choices,
        "format": source.get("format") or ExtractFormat.XLSX,
        "zone": source.get("zone") or "Europe/Lisbon",
        "zones": COMMON_ZONES,
        "frequencies": Frequency.choices,
        "hours": range(24),
        "members": members,
        "errors": list(errors.items()),
        "schedules": selectors.schedule_list(access=access),
        "values": source,
    }
    return render(request, "extracts/schedules.html", context, status=400 if errors else 200)


@require_POST
@merchant_view()
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = selectors.schedule_get(access=request.access, pk=pk)
    services.schedule_delete(access=request.access, actor=actor_from_request(request), schedule=schedule)
    messages.success(request, _("The scheduled extract was deleted."))
    return redirect(reverse("extracts:schedules", kwargs={"merchant": request.access.merchant.slug}))
