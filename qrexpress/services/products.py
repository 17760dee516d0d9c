"""Creating and editing QR Code Express products (the SIBS Backoffice "Create QR Code" steps)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import Terminal
from backoffice.roles import Capability
from qrexpress.models import (
    DESCRIPTION_MAX,
    PRODUCT_NAME_MAX,
    QR_CODE_ID_MAX,
    ProductStatus,
    QrProduct,
    StockSource,
)
from qrexpress.services import sibs_stock
from qrexpress.services.errors import QrExpressError
from qrexpress.services.stock import MAX_UNITS, ledger_apply

EDITABLE = (
    "product_name",
    "description",
    "price",
    "expedition_amount",
    "two_step_purchase",
    "expires_on",
    "collect_tax_number",
    "collect_billing_address",
    "collect_shipping_address",
    "collect_phone",
    "collect_email",
    "support_contact",
    "terms_url",
    "status",
    "qr_content",
    "low_stock_threshold",
    "auto_suspend",
    "auto_reactivate",
)


@dataclass
class ProductInput:
    terminal: Terminal
    product_name: str
    description: str
    price: Decimal
    qr_code_id: str = ""
    expedition_amount: Decimal = Decimal("0")
    two_step_purchase: bool = False
    stock_managed: bool = True
    initial_units: int = 0
    expires_on: date | None = None
    collect_tax_number: bool = False
    collect_billing_address: bool = False
    collect_shipping_address: bool = True
    collect_phone: bool = True
    collect_email: bool = False
    support_contact: str = ""
    terms_url: str = ""
    status: str = ProductStatus.ACTIVE
    qr_content: str = ""
    low_stock_threshold: int | None = None
    auto_suspend: bool = False
    auto_reactivate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def clean_money(value: Any, *, name: str, allow_zero: bool) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationError({name: _("Enter an amount such as 12.50.")}) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({name: _("Enter an amount with at most two decimals.")})
    if amount < 0 or (amount == 0 and not allow_zero) or amount >= Decimal("100000000"):
        raise ValidationError({name: _("Enter an amount above zero.") if not allow_zero else _("Enter zero or more.")})
    return amount


def clean_qr_code_id(value: str) -> str:
    value = (value or "").strip()
    if len(value) > QR_CODE_ID_MAX:
        raise ValidationError({"qr_code_id": _("The QR Code ID has at most %(n)s characters.") % {"n": QR_CODE_ID_MAX}})
    if value and (not value.isprintable() or not value.isascii() or " " in value):
        raise ValidationError({"qr_code_id": _("The QR Code ID has letters, digits and dashes only.")})
    return value


def _check_fields(data: ProductInput, *, today: date, expiry_changed: bool) -> None:
    errors: dict[str, str] = {}
    if not data.product_name.strip():
        errors["product_name"] = _("Enter the product name shown in MB WAY.")
    elif len(data.product_name) > PRODUCT_NAME_MAX:
        errors["product_name"] = _("At most %(n)s characters.") % {"n": PRODUCT_NAME_MAX}
    if not data.description.strip():
        errors["description"] = _("Enter an internal description.")
    elif len(data.description) > DESCRIPTION_MAX:
        errors["description"] = _("The internal description has at most %(n)s characters.") % {"n": DESCRIPTION_MAX}
    if data.expires_on is not None and expiry_changed and data.expires_on <= today:
        errors["expires_on"] = _("The expiry date must be in the future.")
    if data.status not in ProductStatus.values:
        errors["status"] = _("Choose ACT or SUS.")
    if not 0 <= data.initial_units <= MAX_UNITS:
        errors["initial_units"] = _("The units must be from 0 to %(n)s.") % {"n": MAX_UNITS}
    if data.low_stock_threshold is not None and not 0 <= data.low_stock_threshold <= MAX_UNITS:
        errors["low_stock_threshold"] = _("The threshold must be from 0 to %(n)s.") % {"n": MAX_UNITS}
    if errors:
        raise ValidationError(errors)


def _check_terminal(access: Access, terminal: Terminal) -> None:
    if terminal.merchant_id != access.merchant.pk:
        raise ValidationError({"terminal": _("That terminal does not belong to this merchant.")})
    if not access.allows_store(terminal.store_id):
        raise PermissionDenied(_("You can only manage the stores you have access to."))


def sandbox_purchase_url(qr_code_id: str) -> str:
    return f"{settings.SITE_URL}/sandbox/qr/{qr_code_id}/"


class ProductReplayed(Exception):
    """The Idempotency-Key was seen before with the same request: here is its product."""

    def __init__(self, product: QrProduct) -> None:
        super().__init__("replayed")
        self.product = product


def _fingerprint(data: ProductInput) -> str:
    fields = {name: str(getattr(data, name)) for name in (*EDITABLE, "qr_code_id", "stock_managed", "initial_units")}
    fields["terminal"] = data.terminal.pk
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _replay(access: Access, key: str, fingerprint: str) -> None:
    existing = QrProduct.objects.filter(merchant=access.merchant, idempotency_key=key).first()
    if existing is None:
        return
    if existing.fingerprint != fingerprint:
        raise QrExpressError(
            _("This idempotency key was already used for a different request. Use a new key for a new change."),
            code="idempotency_key_reused",
            status=422,
        )
    raise ProductReplayed(existing)


def product_create(
    *, access: Access, actor: Actor, data: ProductInput, idempotency_key: str | None = None
) -> QrProduct:
    """Create a product (and its initial stock). With ``idempotency_key`` a repeated request
    raises :class:`ProductReplayed` carrying the product the first one created."""
    access.require(Capability.MANAGE_QREXPRESS)
    _check_terminal(access, data.terminal)
    fingerprint = _fingerprint(data) if idempotency_key else ""
    if idempotency_key:
        _replay(access, idempotency_key, fingerprint)
    data.product_name = data.product_name.strip()
    data.description = data.description.strip()
    data.qr_code_id = clean_qr_code_id(data.qr_code_id)
    data.price = clean_money(data.price, name="price", allow_zero=False)
    data.expedition_amount = clean_money(data.expedition_amount, name="expedition_amount", allow_zero=True)
    _check_fields(data, today=timezone.localdate(), expiry_changed=True)
    if not data.stock_managed:
        data.initial_units = 0
    if data.qr_code_id and QrProduct.objects.filter(merchant=access.merchant, qr_code_id=data.qr_code_id).exists():
        raise ValidationError({"qr_code_id": _("Another product already has this QR Code ID.")})

    if not data.qr_code_id:
        # No ID: only the sandbox can make one (SIBS's come from SIBS Backoffice). Outside any
        # transaction: it is a call to the gateway.
        product_stub = QrProduct(merchant=access.merchant, terminal=data.terminal, store_id=data.terminal.store_id)
        credential = sibs_stock.credential_for(product_stub)
        if credential is None:
            raise ValidationError({"qr_code_id": _("Enter the QR Code ID SIBS Backoffice gave this code.")})
        try:
            answer = sibs_stock.sandbox_register(
                credential,
                {
                    "terminalId": data.terminal.terminal_id,
                    "productName": data.product_name,
                    "description": data.description,
                    "productAmount": str(data.price),
                    "expeditionAmount": str(data.expedition_amount),
                    "stockManaged": data.stock_managed,
                    "stockUnits": data.initial_units,
                    "status": data.status,
                },
            )
        except Exception as error:
            message = getattr(error, "message", str(error))
            raise ValidationError({"qr_code_id": message}) from None
        data.qr_code_id = str(answer.get("qrCodeId", ""))[:QR_CODE_ID_MAX]
        data.qr_content = data.qr_content or str(answer.get("purchaseUrl", "")) or sandbox_purchase_url(data.qr_code_id)

    now = timezone.now()
    try:
        with transaction.atomic():
            product = QrProduct(
                merchant=access.merchant,
                terminal=data.terminal,
                qr_code_id=data.qr_code_id,
                stock_managed=data.stock_managed,
                stock_units=0,
                created_by=actor.user,
                idempotency_key=idempotency_key or None,
                fingerprint=fingerprint,
                created_at=now,
                updated_at=now,
                **{name: getattr(data, name) for name in EDITABLE},
            )
            product.save(force_insert=True)
            if data.initial_units:
                ledger_apply(
                    product_id=product.pk,
                    delta=data.initial_units,
                    source=StockSource.CREATION,
                    actor=actor,
                    reason=_("Initial stock"),
                )
            audit.record(
                actor=actor,
                action="qrexpress.product_create",
                merchant=access.merchant,
                obj=product,
                after=_describe(product, units=data.initial_units),
            )
    except IntegrityError:
        if idempotency_key:
            _replay(access, idempotency_key, fingerprint)  # the same request, sent twice at once
        raise ValidationError({"qr_code_id": _("Another product already has this QR Code ID.")}) from None
    product.refresh_from_db()
    return product


def product_update(*, access: Access, actor: Actor, product: QrProduct, changes: dict[str, Any]) -> QrProduct:
    """Edit what the merchant may edit. The stock is not edited here: it changes through the ledger."""
    access.require(Capability.MANAGE_QREXPRESS)
    _check_terminal(access, product.terminal)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    data = ProductInput(
        terminal=product.terminal,
        **{name: changes.get(name, getattr(product, name)) for name in EDITABLE},
    )
    data.product_name = str(data.product_name).strip()
    data.description = str(data.description).strip()
    data.price = clean_money(data.price, name="price", allow_zero=False)
    data.expedition_amount = clean_money(data.expedition_amount, name="expedition_amount", allow_zero=True)
    _check_fields(data, today=timezone.localdate(), expiry_changed=data.expires_on != product.expires_on)
    with transaction.atomic():
        locked = QrProduct.objects.select_for_update().get(pk=product.pk)
        before = _describe(locked)
        for name in EDITABLE:
            setattr(locked, name, getattr(data, name))
        if "status" in changes:
            # A person's choice of status ends any automatic suspension.
            locked.suspended_for_stock = False
        if data.expires_on != product.expires_on:
            locked.expiry_reminded_on = None
        if locked.low_stock_threshold is None or locked.stock_units > locked.low_stock_threshold:
            locked.low_stock_alerted = False
        locked.updated_at = timezone.now()
        locked.save(
            update_fields=[*EDITABLE, "suspended_for_stock", "expiry_reminded_on", "low_stock_alerted", "updated_at"]
        )
        audit.record(
            actor=actor,
            action="qrexpress.product_update",
            merchant=access.merchant,
            obj=locked,
            before=before,
            after=_describe(locked),
        )
    return locked


def _describe(product: QrProduct, *, units: int | None = None) -> dict[str, Any]:
    described = {name: str(getattr(product, name)) for name in ("qr_code_id", "product_name", "price", "status")}
    described["terminal"] = product.terminal.terminal_id
    described["expires_on"] = product.expires_on.isoformat() if product.expires_on else None
    if units is not None:
        described["initial_units"] = units
    return described


def product_qr_image_set(*, access: Access, actor: Actor, product: QrProduct, raw: bytes | None) -> QrProduct:
    """Keep the QR image SIBS Backoffice gave for this code (PNG), or drop it (``raw=None``)."""
    from qrexpress.qr import MAX_UPLOAD_BYTES, PNG_SIGNATURE

    access.require(Capability.MANAGE_QREXPRESS)
    _check_terminal(access, product.terminal)
    if raw is not None:
        if len(raw) > MAX_UPLOAD_BYTES:
            raise ValidationError({"qr_image": _("The image is larger than 512 KB.")})
        if not raw.startswith(PNG_SIGNATURE):
            raise ValidationError({"qr_image": _("Upload the PNG image SIBS Backoffice gives for the code.")})
    QrProduct.objects.filter(pk=product.pk).update(qr_image_png=raw, updated_at=timezone.now())
    audit.record(
        actor=actor,
        action="qrexpress.qr_image_" + ("set" if raw is not None else "removed"),
        merchant=access.merchant,
        obj=product,
        after={"bytes": len(raw) if raw is not None else 0},
    )
    product.refresh_from_db()
    return product
