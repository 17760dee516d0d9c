"""Bulk update by SIBS's ``QRCodeImportTemplate`` CSV: download it filled, edit, upload, dry run,
confirm.

The template's columns, in order, with the Portuguese header SIBS puts first (NEXT-FEATURES §5):
Versão, Operação, Terminal, Descrição Interna Produto, ID QR Code, Estado, Indicação Gestão
Stock, Stock, Alteração Stock, Data Validade. Rows are ``UPDATE``s of existing codes: on an
update ``Indicação Gestão Stock`` and ``Stock`` stay blank and ``Alteração Stock`` adds units
(a whole number above zero). Creating codes from the file is refused (a QR Code ID comes from
SIBS). Separator ``;`` (what a Portuguese spreadsheet writes); ``,`` is read too. Dates
``DD/MM/AAAA`` (``AAAA-MM-DD`` is read too).

The upload is only checked (:func:`import_check`): every row says what will change or what is
wrong with it, in words. Nothing changes until :func:`import_apply`, which checks the file again
against the products as they are then and applies all rows in one transaction, or none.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Capability
from qrexpress.models import (
    DESCRIPTION_MAX,
    QR_CODE_ID_MAX,
    BulkImport,
    BulkImportState,
    ProductStatus,
    QrProduct,
    StockSource,
)
from qrexpress.services import sibs_stock
from qrexpress.services.errors import QrExpressError
from qrexpress.services.stock import MAX_UNITS, ledger_apply

HEADERS = (
    "Versão",
    "Operação",
    "Terminal",
    "Descrição Interna Produto",
    "ID QR Code",
    "Estado",
    "Indicação Gestão Stock",
    "Stock",
    "Alteração Stock",
    "Data Validade",
)
HEADERS_EN = (
    "Version",
    "Operation",
    "Terminal",
    "Internal Product Description",
    "QR Code ID",
    "Status",
    "Indication of Stock Management",
    "Stock",
    "Stock Changes",
    "Expiration Date",
)
VERSION = "1"
MAX_FILE_BYTES = 1_000_000
MAX_ROWS = 5_000


def _safe_cell(value: str) -> str:
    """A spreadsheet must not run a description as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def template_csv(*, access: Access) -> str:
    """The template filled with the products the person may see, one UPDATE row each."""
    access.require(Capability.VIEW_QREXPRESS)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    products = access.scope(QrProduct.objects.select_related("terminal")).order_by("terminal__terminal_id", "pk")
    for product in products:
        writer.writerow(
            [
                VERSION,
                "UPDATE",
                product.terminal.terminal_id,
                _safe_cell(product.description),
                product.qr_code_id,
                product.status,
                "",
                "",
                "",
                product.expires_on.strftime("%d/%m/%Y") if product.expires_on else "",
            ]
        )
    # A BOM so that spreadsheets open the accents right.
    return "\ufeff" + out.getvalue()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Portuguese Windows save in Windows-1252.
        return raw.decode("cp1252", errors="strict")


def _parse_date(value: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise ValueError(value)


def _rows(raw: bytes) -> list[tuple[int, list[str]]]:
    if len(raw) > MAX_FILE_BYTES:
        raise QrExpressError(
            _("The file is larger than %(n)s MB.") % {"n": MAX_FILE_BYTES // 1_000_000},
            code="file_too_large",
            status=400,
        )
    try:
        text = _decode(raw)
    except UnicodeDecodeError:
        raise QrExpressError(_("The file is not a CSV text file."), code="not_text", status=400) from None
    if "\x00" in text:
        raise QrExpressError(_("The file is not a CSV text file."), code="not_text", status=400)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        raise QrExpressError(
            _("The file cannot be read as CSV: %(why)s") % {"why": error}, code="bad_csv", status=400
        ) from None
    numbered = [
        (index + 1, [cell.strip() for cell in row]) for index, row in enumerate(rows) if any(c.strip() for c in row)
    ]
    if not numbered or tuple(c.lower() for c in numbered[0][1][: len(HEADERS)]) != tuple(h.lower() for h in HEADERS):
        raise QrExpressError(
            _("The first line must be the template's header: %(headers)s.") % {"headers": "; ".join(HEADERS)},
            code="bad_header",
            status=400,
        )
    body = numbered[1:]
    if body and tuple(c.lower() for c in body[0][1][: len(HEADERS_EN)]) == tuple(h.lower() for h in HEADERS_EN):
        body = body[1:]
    if not body:
        raise QrExpressError(_("The file has no rows below its header."), code="empty", status=400)
    if len(body) > MAX_ROWS:
        raise QrExpressError(_("At most %(n)s rows per file.") % {"n": MAX_ROWS}, code="too_many_rows", status=400)
    return body


def _check(access: Access, raw: bytes) -> list[dict[str, Any]]:
    rows = _rows(raw)
    products = {
        (p.terminal.terminal_id, p.qr_code_id): p
        for p in access.scope(QrProduct.objects.select_related("terminal")).filter(
            qr_code_id__in=[r[4] for _, r in rows if len(r) > 4][:MAX_ROWS]
        )
    }
    terminals = set(access.scope(access.merchant.terminals.all()).values_list("terminal_id", flat=True))
    today = timezone.localdate()
    seen: dict[str, int] = {}
    plan: list[dict[str, Any]] = []
    for line, row in rows:
        cells = (row + [""] * len(HEADERS))[: len(HEADERS)]
        version, operation, terminal, description, qr_id, status, managed, stock, change, expiry = cells
        errors: list[str] = []
        changes: dict[str, Any] = {}
        item: dict[str, Any] = {
            "line": line,
            "qr_code_id": qr_id[:QR_CODE_ID_MAX],
            "errors": errors,
            "changes": changes,
        }
        plan.append(item)
        if len(row) > len(HEADERS) and any(row[len(HEADERS) :]):
            errors.append(_("The row has more columns than the template."))
        if version != VERSION:
            errors.append(_("Versão must be %(v)s.") % {"v": VERSION})
        if operation.upper() == "CREATE":
            errors.append(
                _(
                    "Creating QR codes from the file is not possible: SIBS gives each code its ID. "
                    "Create it on the page."
                )
            )
            continue
        if operation.upper() != "UPDATE":
            errors.append(_("Operação must be UPDATE."))
            continue
        terminal_number = int(terminal) if terminal.isdigit() and len(terminal) <= 10 else None
        if terminal_number is None or terminal_number not in terminals:
            errors.append(_("Unknown terminal “%(t)s”.") % {"t": terminal[:20]})
        if not qr_id:
            errors.append(_("ID QR Code is required."))
        elif len(qr_id) > QR_CODE_ID_MAX:
            errors.append(_("ID QR Code has at most %(n)s characters.") % {"n": QR_CODE_ID_MAX})
        elif qr_id in seen:
            errors.append(_("ID QR Code %(id)s is also on line %(line)s.") % {"id": qr_id, "line": seen[qr_id]})
        else:
            seen[qr_id] = line
        product = products.get((terminal_number, qr_id)) if terminal_number is not None else None
        if product is None and qr_id and terminal_number in terminals and len(qr_id) <= QR_CODE_ID_MAX:
            errors.append(_("No QR code %(id)s on terminal %(t)s.") % {"id": qr_id, "t": terminal_number})
        if not description:
            errors.append(_("Descrição Interna Produto is required."))
        elif len(description) > DESCRIPTION_MAX:
            errors.append(
                _("Descrição Interna Produto has %(len)s characters; at most %(n)s.")
                % {"len": len(description), "n": DESCRIPTION_MAX}
            )
        if status and status.upper() not in ProductStatus.values:
            errors.append(_("Estado must be ACT or SUS."))
        if managed:
            errors.append(_("Indicação Gestão Stock must be left blank on an UPDATE."))
        if stock:
            errors.append(_("Stock must be left blank on an UPDATE: use Alteração Stock to add units."))
        units = None
        if change:
            if not change.isdigit() or int(change) <= 0:
                errors.append(_("Alteração Stock must be a whole number above zero."))
            elif int(change) > MAX_UNITS:
                errors.append(_("Alteração Stock is at most %(n)s.") % {"n": MAX_UNITS})
            else:
                units = int(change)
        expires_on = None
        if expiry:
            try:
                expires_on = _parse_date(expiry)
            except ValueError:
                errors.append(_("Data Validade “%(d)s” is not a date (DD/MM/AAAA).") % {"d": expiry[:20]})
            else:
                if expires_on <= today:
                    errors.append(_("Data Validade %(d)s is in the past.") % {"d": expiry})
        if product is None or errors:
            continue
        item["product_id"] = product.pk
        item["product_name"] = product.product_name
        if description != product.description:
            changes["description"] = [product.description, description]
        if status and status.upper() != product.status:
            changes["status"] = [product.status, status.upper()]
        if expiry and expires_on != product.expires_on:
            changes["expires_on"] = [
                product.expires_on.isoformat() if product.expires_on else None,
                expires_on.isoformat(),
            ]
        if units:
            if not product.stock_managed:
                errors.append(_("This QR code does not manage stock: Alteração Stock must be blank."))
            else:
                # The units to add, not the total: purchases may change the stock before confirmation.
                changes["add_units"] = units
    return plan


def import_check(*, access: Access, actor: Actor, file_name: str, raw: bytes) -> BulkImport:
    """The dry run: stored with the file, so the confirmation applies exactly what was checked."""
    access.require(Capability.MANAGE_QREXPRESS)
    plan = _check(access, raw)
    errors = sum(len(item["errors"]) for item in plan)
    return BulkImport.objects.create(
        merchant=access.merchant,
        file_name=(file_name or "import.csv")[:200],
        content=_decode(raw),
        plan=plan,
        error_count=errors,
        state=BulkImportState.PREVIEWED if errors == 0 else BulkImportState.REFUSED,
        created_by=actor.user,
        detail="" if errors == 0 else _("The file has errors: nothing was applied."),
    )


def import_apply(*, access: Access, actor: Actor, bulk: BulkImport) -> BulkImport:
    """All rows in one transaction, or none. The file is checked again first: products may have
    changed since the dry run."""
    access.require(Capability.MANAGE_QREXPRESS)
    if bulk.merchant_id != access.merchant.pk:
        raise PermissionDenied
    with transaction.atomic():
        locked = BulkImport.objects.select_for_update().get(pk=bulk.pk)
        if locked.state != BulkImportState.PREVIEWED:
            raise QrExpressError(_("This file was already applied or refused."), code="import_closed")
        plan = _check(access, locked.content.encode())
        if any(item["errors"] for item in plan) or _summary(plan) != _summary(locked.plan):
            locked.state = BulkImportState.REFUSED
            locked.detail = _("The products changed since the check: nothing was applied. Upload the file again.")
            locked.save(update_fields=["state", "detail"])
            return locked
        now = timezone.now()
        for item in plan:
            changes = item["changes"]
            if not changes:
                continue
            product = QrProduct.objects.select_for_update().get(pk=item["product_id"])
            fields = []
            if "description" in changes:
                product.description = changes["description"][1]
                fields.append("description")
            if "status" in changes:
                product.status = changes["status"][1]
                product.suspended_for_stock = False
                fields += ["status", "suspended_for_stock"]
            if "expires_on" in changes:
                product.expires_on = date.fromisoformat(changes["expires_on"][1])
                product.expiry_reminded_on = None
                fields += ["expires_on", "expiry_reminded_on"]
            if fields:
                product.updated_at = now
                product.save(update_fields=[*fields, "updated_at"])
            if "add_units" in changes:
                entry = ledger_apply(
                    product_id=product.pk,
                    delta=changes["add_units"],
                    source=StockSource.BULK,
                    actor=actor,
                    reason=_("File %(name)s, line %(line)s") % {"name": locked.file_name[:100], "line": item["line"]},
                )
                # SIBS gets the same units once this transaction has committed.
                sibs_stock.push_after_commit(product, operation="add", units=changes["add_units"], entry=entry)
        locked.state = BulkImportState.APPLIED
        locked.applied_at = now
        locked.detail = _("%(n)s rows applied.") % {"n": len(plan)}
        locked.save(update_fields=["state", "applied_at", "detail"])
        audit.record(
            actor=actor,
            action="qrexpress.bulk_import",
            merchant=access.merchant,
            obj=locked,
            after={"rows": len(plan), "file": locked.file_name},
        )
    return locked


def _summary(plan: list[dict[str, Any]]) -> list[tuple]:
    """What a plan does, to compare the confirmation with the dry run the person saw."""
    return [
        (
            item.get("product_id"),
            sorted((k, str(v[1] if isinstance(v, list) else v)) for k, v in item["changes"].items()),
        )
        for item in plan
    ]
