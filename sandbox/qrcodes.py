"""QR Code Express in the sandbox: the codes, SIBS's stock API, and the page a customer buys on.

* ``POST control/qrcodes`` (Bearer) creates a code, as a merchant does in SIBS Backoffice; the
  answer holds its ``qrCodeId`` and the ``purchaseUrl`` its QR image should encode.
* The stock API (``api/v2/qrcode-express/stock…``, paths and body as in
  :mod:`qrexpress.sibs_stock`): add, remove, define (``POST``) and obtain (``GET``). Every
  header SIBS lists is checked — ``Content-Type``, ``Digest`` (``SHA-256=`` of the body, when
  there is a body), ``x-ibm-client-id`` and the bearer token, ``TPP-Transaction-ID`` and
  ``TPPRequest-ID`` (UUIDs; a request id is accepted once), the five ``PSU-*`` headers,
  ``Terminal`` (one of the client's) and ``QRCode-ID`` — and a bad one is refused with HTTP 400
  and a ``returnStatus`` naming it. A removal beyond the units is refused (``QRE001``). A
  change repeated with the same ``TPP-Transaction-ID`` is answered without applying it again.
* ``qr/<id>/``: the demo purchase page the code points at. Buying makes the sandbox take the
  units (never below zero: SIBS takes the money even when the stock ran out) and send the
  STATIC_QRCODE notification (seed 002, example 9).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from backoffice.crypto import constant_time_equals

from . import services, wire
from .answers import Answer, return_status_body
from .models import SandboxMerchant, SandboxQrCode, SandboxStockRequest
from .views import _bearer, _read_json, respond, sandbox_endpoint

PSU_HEADERS = ("PSU-Agent", "PSU-IPAddress", "PSU-GeoLocation", "PSU-Device-ID", "PSU-Device-Fingerprint")
MAX_UNITS = 1_000_000


def _refuse(code: str, description: str, *, status: int = 400) -> Answer:
    return Answer(status, return_status_body(code, "Error", description))


def _ok(units: int, description: str) -> Answer:
    return Answer(
        200,
        {
            "returnStatus": {"statusCode": "000", "statusMsg": "Success", "statusDescription": description},
            "stockUnits": str(units),
        },
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _check_headers(request: HttpRequest, merchant: SandboxMerchant, raw_body: bytes) -> Answer | tuple[int, str]:
    headers = request.headers
    if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return _refuse("E0102", "The Content-Type header must be application/json.")
    for name in ("TPP-Transaction-ID", "TPPRequest-ID"):
        value = headers.get(name, "").strip()
        if not value:
            return _refuse("E0102", f"The {name} header is missing.")
        if not _is_uuid(value):
            return _refuse("E0103", f"The {name} header must be a UUID.")
    for name in PSU_HEADERS:
        if not headers.get(name, "").strip():
            return _refuse("E0102", f"The {name} header is missing.")
    try:
        ipaddress.ip_address(headers["PSU-IPAddress"].strip())
    except ValueError:
        return _refuse("E0103", "The PSU-IPAddress header must be an IP address.")
    if raw_body:
        given = headers.get("Digest", "").strip()
        if not given:
            return _refuse("E0102", "The Digest header is missing (it is required when there is a body).")
        expected = "SHA-256=" + base64.b64encode(hashlib.sha256(raw_body).digest()).decode()
        if not constant_time_equals(given, expected):
            return _refuse("E0104", "The Digest header does not match the body (expected SHA-256=<Base64>).")
    terminal = headers.get("Terminal", "").strip()
    if not terminal.isdigit():
        return _refuse("E0102", "The Terminal header is missing or not a terminal code.")
    if int(terminal) not in merchant.terminal_ids:
        return _refuse("E0105", f"Terminal {terminal} is not a terminal of this client.", status=403)
    qr_code_id = headers.get("QRCode-ID", "").strip()
    if not qr_code_id or len(qr_code_id) > 36:
        return _refuse("E0102", "The QRCode-ID header is missing or longer than 36 characters.")
    return int(terminal), qr_code_id


def _stock_endpoint(operation: str):
    method = "GET" if operation == "obtain" else "POST"

    @sandbox_endpoint
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != method:
            answer = _refuse("E0101", f"Method not allowed; use {method}.", status=405)
            answer.headers["Allow"] = method
            return respond(answer)
        merchant = _bearer(request)
        if isinstance(merchant, Answer):
            return respond(merchant)
        raw = request.read(wire.MAX_BODY_BYTES + 1)
        checked = _check_headers(request, merchant, raw)
        if isinstance(checked, Answer):
            return respond(checked)
        terminal, qr_code_id = checked
        units = None
        if operation != "obtain":
            try:
                data = wire.load_body(raw)
            except wire.JsonError as error:
                return respond(_refuse("E0101", error.message, status=error.status))
            units = data.get("stockUnits")
            if isinstance(units, str) and units.strip().isdigit():
                units = int(units.strip())
            low = 0 if operation == "define" else 1
            if isinstance(units, bool) or not isinstance(units, int) or not low <= units <= MAX_UNITS:
                return respond(_refuse("E0101", f"stockUnits must be a whole number from {low} to {MAX_UNITS}."))
        return respond(
            stock_operation(
                merchant=merchant,
                operation=operation,
                terminal=terminal,
                qr_code_id=qr_code_id,
                units=units,
                request_id=request.headers["TPPRequest-ID"].strip(),
                transaction_id=request.headers["TPP-Transaction-ID"].strip(),
            )
        )

    view.__name__ = f"stock_{operation}"
    return view


def stock_operation(
    *,
    merchant: SandboxMerchant,
    operation: str,
    terminal: int,
    qr_code_id: str,
    units: int | None,
    request_id: str,
    transaction_id: str,
) -> Answer:
    with transaction.atomic():
        code = (
            SandboxQrCode.objects.select_for_update()
            .filter(merchant=merchant, qr_code_id=qr_code_id, terminal_id=terminal)
            .first()
        )
        done_before = SandboxStockRequest.objects.filter(
            merchant=merchant,
            transaction_id=transaction_id,
            operation=operation,
            qr_code_id=qr_code_id,
            units=units,
            status_code="000",
        ).exists()
        if code is None:
            answer = _refuse("QRE002", f"QR Code {qr_code_id} does not exist on terminal {terminal}.", status=404)
        elif not code.stock_managed:
            answer = _refuse("QRE003", "This QR Code Express does not manage stock.")
        elif done_before and operation != "obtain":
            # The same TPP-Transaction-ID again (a client retrying after a lost answer): one operation.
            answer = _ok(code.stock_units, f"Already applied. Stock units: {code.stock_units}.")
        elif operation == "remove" and units > code.stock_units:
            answer = _refuse("QRE001", f"Cannot remove {units} units: {code.stock_units} in stock.", status=409)
        else:
            if operation == "add":
                code.stock_units += units
            elif operation == "remove":
                code.stock_units -= units
            elif operation == "define":
                code.stock_units = units
            code.save(update_fields=["stock_units"])
            answer = _ok(code.stock_units, f"Stock units: {code.stock_units}.")
        try:
            with transaction.atomic():
                SandboxStockRequest.objects.create(
                    merchant=merchant,
                    request_id=request_id,
                    transaction_id=transaction_id,
                    operation=operation,
                    qr_code_id=qr_code_id,
                    units=units,
                    status_code=answer.body["returnStatus"]["statusCode"],
                )
        except IntegrityError:
            transaction.set_rollback(True)
            return _refuse("E0106", "This TPPRequest-ID was already used: each call needs a new one.", status=409)
    return answer


stock_add = _stock_endpoint("add")
stock_remove = _stock_endpoint("remove")
stock_define = _stock_endpoint("define")
stock_obtain = _stock_endpoint("obtain")


# --------------------------------------------------------------------------- creating codes


@sandbox_endpoint
def control_qrcodes(request: HttpRequest) -> HttpResponse:
    """POST /sandbox/control/qrcodes — create a QR Code Express (SIBS Backoffice's "Create")."""
    if request.method != "POST":
        return respond(_refuse("E0101", "Method not allowed; use POST.", status=405))
    merchant = _bearer(request)
    if isinstance(merchant, Answer):
        return respond(merchant)
    try:
        data = _read_json(request)
    except wire.JsonError as error:
        return respond(_refuse("E0101", error.message, status=error.status))
    terminal = data.get("terminalId")
    if isinstance(terminal, str) and terminal.strip().isdigit():
        terminal = int(terminal)
    if isinstance(terminal, bool) or not isinstance(terminal, int) or terminal not in merchant.terminal_ids:
        return respond(_refuse("E0101", "terminalId must be one of this client's terminals."))
    name = data.get("productName")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        return respond(_refuse("E0101", "productName is required (at most 100 characters)."))
    try:
        amount = wire.parse_money(data.get("productAmount"))
        expedition = wire.parse_money(data.get("expeditionAmount", 0), allow_zero=True)
    except wire.AmountError as error:
        return respond(_refuse("E0101", f"amounts: {error}."))
    units = data.get("stockUnits", 0)
    if isinstance(units, bool) or not isinstance(units, int) or not 0 <= units <= MAX_UNITS:
        return respond(_refuse("E0101", f"stockUnits must be a whole number from 0 to {MAX_UNITS}."))
    status = data.get("status", "ACT")
    if status not in ("ACT", "SUS"):
        return respond(_refuse("E0101", "status must be ACT or SUS."))
    code = SandboxQrCode.objects.create(
        merchant=merchant,
        qr_code_id=uuid.uuid4().hex[:20],
        terminal_id=terminal,
        product_name=name.strip(),
        description=str(data.get("description") or "")[:100],
        product_amount=amount,
        expedition_amount=expedition,
        stock_managed=data.get("stockManaged", True) is not False,
        stock_units=units,
        status=status,
    )
    return respond(
        Answer(
            200,
            {
                "returnStatus": {"statusCode": "000", "statusMsg": "Success", "statusDescription": "Created."},
                "qrCodeId": code.qr_code_id,
                "purchaseUrl": purchase_url(code.qr_code_id),
            },
        )
    )


def purchase_url(qr_code_id: str) -> str:
    return f"{settings.SITE_URL}/sandbox/qr/{qr_code_id}/"


# --------------------------------------------------------------------------- the customer's page


class PurchaseForm(forms.Form):
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=99, initial=1)
    name = forms.CharField(label="Name", max_length=100)
    address = forms.CharField(label="Address", max_length=100)
    postal_code = forms.RegexField(label="Postal code", regex=r"^\d{4}-\d{3}$", max_length=8)
    city = forms.CharField(label="City", max_length=50)
    tin = forms.RegexField(label="Tax number", regex=r"^\d{9}$", required=False)
    phone = forms.RegexField(label="MB WAY phone", regex=r"^9\d{8}$", initial="912345678")


def buy(code: SandboxQrCode, data: dict[str, Any]) -> Any:
    """The customer confirmed in MB WAY: SIBS takes the units (not below zero) and the money."""
    now = timezone.now()
    with transaction.atomic():
        locked = SandboxQrCode.objects.select_for_update().get(pk=code.pk)
        quantity = data["quantity"]
        if locked.stock_managed:
            locked.stock_units = max(0, locked.stock_units - quantity)
            locked.save(update_fields=["stock_units"])
        phone = "351#" + data["phone"]
        operation = {
            "product": {
                "staticQRCodeId": locked.qr_code_id,
                "twoStepPurchase": False,
                "aliasName": phone,
                "merchantContactType": "NA",
                "productName": locked.product_name,
                "productQuantity": quantity,
                "productAmount": locked.product_amount,
                "expeditionAmount": locked.expedition_amount,
                "contactClientIndicator": 1,
            },
            "billingInfo": {
                key: value
                for key, value in {
                    "billingTIN": data.get("tin") or "",
                    "billingAddressLine1": data["address"],
                    "billingAddressPostalCode": data["postal_code"],
                    "billingAddressCity": data["city"],
                    "billingMobilePhone": "+351 " + data["phone"],
                }.items()
                if value
            },
            "expeditionInfo": {
                "expeditionName": data["name"],
                "expeditionAddressLine1": data["address"],
                "expeditionAddressPostalCode": data["postal_code"],
                "expeditionAddressCity": data["city"],
                "expeditionMobilePhone": "+351 " + data["phone"],
            },
        }
        return services.qrcode_purchase(
            merchant=locked.merchant,
            terminal_id=locked.terminal_id,
            amount=locked.product_amount * quantity + locked.expedition_amount,
            currency="EUR",
            financial_operation=operation,
            now=now,
        )


@sandbox_endpoint
def purchase_page(request: HttpRequest, qr_code_id: str) -> HttpResponse:
    code = SandboxQrCode.objects.filter(qr_code_id=qr_code_id[:36]).select_related("merchant").first()
    if code is None:
        raise Http404("No such QR code in the sandbox.")
    paid = None
    form = PurchaseForm(request.POST or None)
    if request.method == "POST":
        if code.status != "ACT":
            form.add_error(None, "This QR code is suspended: MB WAY does not accept it.")
        elif form.is_valid():
            paid = buy(code, form.cleaned_data)
            form = PurchaseForm()
    code.refresh_from_db()
    total = code.product_amount + code.expedition_amount
    return render(
        request,
        "sandbox/qr_purchase.html",
        {"code": code, "form": form, "paid": paid, "total": total.quantize(Decimal("0.01"))},
        status=200,
    )
