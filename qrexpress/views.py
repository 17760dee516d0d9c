"""Pages of QR Code Express: parse, check access, call one service or selector, render."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backoffice.access import merchant_view
from backoffice.audit import actor_from_request
from backoffice.roles import Capability
from qrexpress import qr, selectors
from qrexpress.exports import purchases_csv
from qrexpress.forms import FulfilmentForm, ImportForm, ProductCreateForm, ProductFieldsForm, QrImageForm, StockForm
from qrexpress.models import BulkImport, FulfilmentState, ProductStatus
from qrexpress.qr import MAX_UPLOAD_BYTES
from qrexpress.services import QrExpressError, bulk, fulfilment_set, sibs_stock, stock_change
from qrexpress.services.products import EDITABLE, ProductInput, product_create, product_qr_image_set, product_update

ACTIVE = "qrexpress"
PAGE_SIZE = 50


def _ctx(request: HttpRequest, **extra) -> dict:
    return {"active": ACTIVE, "can_manage": request.access.can(Capability.MANAGE_QREXPRESS), **extra}


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    status = status if status in ProductStatus.values else ""
    products = selectors.product_list(access=request.access, search=search, status=status)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "qrexpress/products.html",
        _ctx(request, page=page, search=search, status=status, statuses=ProductStatus.choices),
    )


@merchant_view(Capability.MANAGE_QREXPRESS)
def product_new(request: HttpRequest) -> HttpResponse:
    terminals = selectors.terminal_choices(access=request.access)
    form = ProductCreateForm(request.POST or None, terminals=terminals)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            product = product_create(
                access=request.access,
                actor=actor_from_request(request),
                data=ProductInput(
                    terminal=data["terminal"],
                    qr_code_id=data["qr_code_id"],
                    stock_managed=data["stock_managed"],
                    initial_units=data["initial_units"] or 0,
                    **{name: data[name] for name in EDITABLE},
                ),
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Product created."))
            return redirect("qrexpress:product", merchant=request.access.merchant.slug, pk=product.pk)
    return render(request, "qrexpress/product_form.html", _ctx(request, form=form, product=None))


@merchant_view(Capability.MANAGE_QREXPRESS)
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    initial = {name: getattr(product, name) for name in EDITABLE}
    form = ProductFieldsForm(request.POST or None, initial=initial)
    image_form = QrImageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and image_form.is_valid():
        changes = {name: form.cleaned_data[name] for name in EDITABLE if form.cleaned_data[name] != initial[name]}
        actor = actor_from_request(request)
        upload = image_form.cleaned_data["qr_image"]
        try:
            product_update(access=request.access, actor=actor, product=product, changes=changes)
            if upload is not None:
                raw = upload.read(MAX_UPLOAD_BYTES + 1)
                product_qr_image_set(access=request.access, actor=actor, product=product, raw=raw)
            elif image_form.cleaned_data["remove_qr_image"]:
                product_qr_image_set(access=request.access, actor=actor, product=product, raw=None)
        except ValidationError as error:
            _form_errors(image_form if "qr_image" in getattr(error, "error_dict", {}) else form, error)
        else:
            messages.success(request, _("Product saved."))
            return redirect("qrexpress:product", merchant=request.access.merchant.slug, pk=product.pk)
    return render(
        request, "qrexpress/product_form.html", _ctx(request, form=form, image_form=image_form, product=product)
    )


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    ledger = selectors.ledger_list(access=request.access, product=product)[:100]
    purchases = selectors.purchase_list(access=request.access, product=product)[:50]
    stock_form = StockForm(initial={"operation": "add", "token": uuid.uuid4().hex})
    return render(
        request,
        "qrexpress/product_detail.html",
        _ctx(
            request,
            product=product,
            ledger=ledger,
            purchases=purchases,
            stock_form=stock_form,
            qr_svg=qr.svg(product, scale=5, xmldecl=False),
            personal=selectors.can_see_personal_data(request.access),
            linked=sibs_stock.credential_for(product) is not None,
        ),
    )


@merchant_view(Capability.MANAGE_QREXPRESS)
@require_POST
def product_stock(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    form = StockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a change and a whole number of units."))
    else:
        data = form.cleaned_data
        try:
            result = stock_change(
                access=request.access,
                actor=actor_from_request(request),
                product=product,
                operation=data["operation"],
                units=data["units"],
                reason=data["reason"],
                idempotency_key=f"page-{request.user.pk}-{data['token']}",
            )
        except QrExpressError as error:
            messages.error(request, error.message)
        else:
            if not result.replayed:
                messages.success(request, _("Stock is now %(units)s units.") % {"units": result.product.stock_units})
    return redirect("qrexpress:product", merchant=request.access.merchant.slug, pk=product.pk)


@merchant_view(Capability.MANAGE_QREXPRESS)
@require_POST
def product_sync(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    units = sibs_stock.stock_sync(product)
    product.refresh_from_db()
    if units is None:
        messages.error(request, product.sibs_error or _("This product's stock is not linked to SIBS."))
    elif product.stock_drift:
        messages.warning(
            request,
            _("SIBS has %(sibs)s units, the backoffice %(ours)s.") % {"sibs": units, "ours": product.stock_units},
        )
    else:
        messages.success(request, _("SIBS agrees: %(units)s units.") % {"units": units})
    return redirect("qrexpress:product", merchant=request.access.merchant.slug, pk=product.pk)


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def product_qr_png(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    response = HttpResponse(qr.png(product), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="qr-{product.pk}.png"'
    return response


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def product_qr_svg(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    response = HttpResponse(qr.svg(product), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="qr-{product.pk}.svg"'
    # The file is served from our origin: it must never run anything.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def product_card(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(access=request.access, pk=pk)
    return render(
        request,
        "qrexpress/card.html",
        {"product": product, "qr_svg": qr.svg(product, scale=6, xmldecl=False), "total": product.price},
    )


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def purchase_list(request: HttpRequest) -> HttpResponse:
    fulfilment = request.GET.get("fulfilment", "")
    oversold = request.GET.get("oversold") == "1"
    purchases = selectors.purchase_list(access=request.access, fulfilment=fulfilment, oversold=oversold)
    page = Paginator(purchases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "qrexpress/purchases.html",
        _ctx(
            request,
            page=page,
            fulfilment=fulfilment,
            oversold=oversold,
            states=FulfilmentState.choices,
            personal=selectors.can_see_personal_data(request.access),
        ),
    )


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def purchase_export(request: HttpRequest) -> StreamingHttpResponse:
    purchases = selectors.purchase_list(
        access=request.access,
        fulfilment=request.GET.get("fulfilment", ""),
        oversold=request.GET.get("oversold") == "1",
    )
    response = StreamingHttpResponse(
        purchases_csv(purchases.iterator(chunk_size=500), personal=selectors.can_see_personal_data(request.access)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="qr-express-purchases.csv"'
    return response


@merchant_view(Capability.VIEW_QREXPRESS)
def purchase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    purchase = selectors.purchase_get(access=request.access, pk=pk)
    form = FulfilmentForm(request.POST or None, initial={"state": purchase.fulfilment})
    if request.method == "POST":
        if not request.access.can(Capability.MANAGE_QREXPRESS):
            raise PermissionDenied
        if form.is_valid():
            try:
                fulfilment_set(
                    access=request.access,
                    actor=actor_from_request(request),
                    purchase=purchase,
                    state=form.cleaned_data["state"],
                    note=form.cleaned_data["note"],
                    restock=form.cleaned_data["restock"],
                )
            except QrExpressError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Fulfilment saved."))
            return redirect("qrexpress:purchase", merchant=request.access.merchant.slug, pk=purchase.pk)
    return render(
        request,
        "qrexpress/purchase_detail.html",
        _ctx(request, purchase=purchase, form=form, personal=selectors.can_see_personal_data(request.access)),
    )


@merchant_view(Capability.VIEW_QREXPRESS)
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(bulk.template_csv(access=request.access), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="QRCodeImportTemplate.csv"'
    return response


@merchant_view(Capability.MANAGE_QREXPRESS)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > bulk.MAX_FILE_BYTES:
            form.add_error("file", _("The file is larger than 1 MB."))
        else:
            try:
                checked = bulk.import_check(
                    access=request.access,
                    actor=actor_from_request(request),
                    file_name=upload.name,
                    raw=upload.read(bulk.MAX_FILE_BYTES + 1),
                )
            except QrExpressError as error:
                form.add_error("file", error.message)
            else:
                return redirect("qrexpress:import_preview", merchant=request.access.merchant.slug, pk=checked.pk)
    return render(request, "qrexpress/import.html", _ctx(request, form=form))


@merchant_view(Capability.MANAGE_QREXPRESS)
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    imports = BulkImport.objects.filter(merchant=request.access.merchant)
    if request.access.is_store_limited:
        # Its rows were checked against the uploader's stores: only they see the result.
        imports = imports.filter(created_by=request.user)
    checked = get_object_or_404(imports, pk=pk)
    if request.method == "POST":
        try:
            checked = bulk.import_apply(access=request.access, actor=actor_from_request(request), bulk=checked)
        except QrExpressError as error:
            messages.error(request, error.message)
        else:
            if checked.state == "applied":
                messages.success(request, checked.detail)
            else:
                messages.error(request, checked.detail)
        return redirect("qrexpress:import_preview", merchant=request.access.merchant.slug, pk=checked.pk)
    return render(request, "qrexpress/import_preview.html", _ctx(request, bulk=checked))
