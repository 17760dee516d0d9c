"""The stock at SIBS: which credential a product's calls use, the calls, and the daily sync.

No function here runs a network call inside a database transaction: callers call SIBS first
and then record what it said.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import Actor
from payments.models import ApiRootPreset, GatewayCredential
from qrexpress.models import QrProduct, StockApiSettings
from qrexpress.services.errors import QrExpressError
from qrexpress.sibs_stock import Psu, StockAnswer, StockApiClient, StockApiError, device_fingerprint

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StockLink:
    product_id: int
    terminal: int
    qr_code_id: str
    credential: GatewayCredential


def credential_for(product: QrProduct) -> GatewayCredential | None:
    """The most specific active credential of the product's terminal: terminal, store, merchant."""
    candidates = list(GatewayCredential.objects.filter(merchant_id=product.merchant_id, is_active=True))
    for matches in (
        lambda c: c.terminal_id == product.terminal_id,
        lambda c: c.store_id == product.store_id and c.terminal_id is None,
        lambda c: c.store_id is None and c.terminal_id is None,
    ):
        found = [c for c in candidates if matches(c)]
        if found:
            return found[0]
    return None


def link_for(product: QrProduct) -> StockLink | None:
    """How the product's stock is reached at SIBS; None when no credential applies (the stock
    is then kept here only)."""
    if not product.stock_managed:
        return None
    credential = credential_for(product)
    if credential is None:
        return None
    return StockLink(
        product_id=product.pk,
        terminal=product.terminal.terminal_id,
        qr_code_id=product.qr_code_id,
        credential=credential,
    )


def client_for(credential: GatewayCredential) -> StockApiClient:
    settings_row = StockApiSettings.objects.filter(credential=credential).first()
    paths = None
    if settings_row is not None:
        paths = {
            "add": settings_row.add_path,
            "remove": settings_row.remove_path,
            "define": settings_row.define_path,
            "obtain": settings_row.obtain_path,
        }
    return StockApiClient(
        api_root=credential.api_root,
        client_id=credential.client_id,
        bearer_token=credential.bearer_token,
        paths=paths,
    )


# Tests swap this for a factory that mounts the sandbox on the client's session.
make_client = client_for


def psu_from_actor(actor: Actor | None) -> Psu:
    if actor is None or (actor.user is None and actor.api_key is None):
        return Psu()
    agent = actor.user_agent or "sibs-backoffice/0.1"
    return Psu(
        agent=agent,
        ip_address=actor.ip_address or "127.0.0.1",
        device_fingerprint=device_fingerprint(agent),
    )


def call(
    link: StockLink,
    *,
    operation: str,
    units: int | None = None,
    psu: Psu | None = None,
    transaction_id: str | None = None,
) -> StockAnswer:
    """One stock call to SIBS; a refusal or a timeout becomes a ``QrExpressError`` saying why,
    and is noted on the product."""
    client = make_client(link.credential)
    try:
        return client.call(
            operation,
            terminal=link.terminal,
            qr_code_id=link.qr_code_id,
            units=units,
            psu=psu,
            transaction_id=transaction_id,
        )
    except StockApiError as error:
        QrProduct.objects.filter(pk=link.product_id).update(sibs_error=error.message[:300])
        if error.code == "timeout":
            message = _("SIBS did not answer in time; the stock was not changed here. Check it at SIBS and try again.")
        elif error.code == "refused":
            message = _("SIBS refused the change; the stock was not changed here. SIBS said: %(why)s") % {
                "why": error.message
            }
        else:
            message = _("SIBS could not be asked; the stock was not changed here (%(why)s).") % {"why": error.message}
        raise QrExpressError(message, code=f"sibs_{error.code}", status=502) from None


def record_sibs_units(product_id: int, units: int) -> None:
    """What SIBS says it has, and how far that is from the ledger (positive: SIBS has more)."""
    QrProduct.objects.filter(pk=product_id).update(
        sibs_units=units, sibs_checked_at=timezone.now(), stock_drift=units - F("stock_units"), sibs_error=""
    )


def stock_sync(product: QrProduct) -> int | None:
    """Obtain SIBS's units for one product and record the drift; None when it is not linked."""
    link = link_for(product)
    if link is None:
        return None
    try:
        answer = call(link, operation="obtain")
    except QrExpressError:
        return None
    if answer.units is None:
        QrProduct.objects.filter(pk=product.pk).update(sibs_error=_("SIBS answered without stock units."))
        return None
    record_sibs_units(product.pk, answer.units)
    return answer.units


def stock_sync_all() -> dict[str, int]:
    """The daily stock sync: every stock-managed product of a terminal with a credential."""
    counts = {"checked": 0, "drift": 0, "failed": 0, "skipped": 0}
    products = QrProduct.objects.filter(stock_managed=True).select_related("terminal").order_by("pk")
    for product in products.iterator():
        units = stock_sync(product)
        if units is None:
            product.refresh_from_db(fields=["sibs_error"])
            counts["failed" if product.sibs_error else "skipped"] += 1
            continue
        counts["checked"] += 1
        product.refresh_from_db(fields=["stock_drift"])
        if product.stock_drift:
            counts["drift"] += 1
    return counts


# --------------------------------------------------------------------------- sandbox QR codes


def sandbox_register(credential: GatewayCredential, body: dict[str, Any]) -> dict[str, Any]:
    """Create the QR code in the built-in sandbox, as a merchant does in SIBS Backoffice.

    Only for the sandbox preset: a real QR Code ID comes from SIBS Backoffice.
    """
    if credential.api_root_preset != ApiRootPreset.SANDBOX:
        raise QrExpressError(_("Enter the QR Code ID SIBS Backoffice gave this code."), code="qr_code_id_required")
    url = credential.api_root.removesuffix("/api/v2") + "/control/qrcodes"
    session = requests.Session()
    session.trust_env = False
    mount = getattr(make_client, "mount", None)
    if mount is not None:
        mount(session)
    try:
        response = session.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {credential.bearer_token}", "X-IBM-Client-Id": credential.client_id},
            timeout=(5, 20),
        )
        data = response.json()
    except (requests.RequestException, ValueError) as error:
        raise QrExpressError(
            _("The sandbox could not create the QR code (%(why)s).") % {"why": type(error).__name__},
            code="sandbox_unreachable",
            status=502,
        ) from None
    status = data.get("returnStatus") if isinstance(data, dict) else None
    if response.status_code != 200 or not isinstance(status, dict) or status.get("statusCode") != "000":
        why = (status or {}).get("statusDescription") if isinstance(status, dict) else None
        raise QrExpressError(
            _("The sandbox refused the QR code: %(why)s") % {"why": why or response.status_code},
            code="sandbox_refused",
            status=502,
        )
    return data


# --------------------------------------------------------------------------- after-commit pushes


def stock_push(*, product_id: int, operation: str, units: int, operation_id: str = "") -> bool:
    """Tell SIBS about a change already in the ledger (a bulk file, a refund returning units).

    Runs after the commit, outside any transaction. A refusal is noted on the product and the
    difference shows as drift until someone sets it right; it is never retried automatically
    by us. ``operation_id`` is sent as ``TPP-Transaction-ID``: the same for every try of one
    ledger change, so a task run twice (a worker lost mid-call) is one operation for SIBS.
    """
    product = QrProduct.objects.select_related("terminal").filter(pk=product_id).first()
    if product is None:
        return False
    link = link_for(product)
    if link is None:
        return False
    try:
        answer = call(link, operation=operation, units=units, transaction_id=operation_id or None)
    except QrExpressError:
        return False
    if answer.units is not None:
        record_sibs_units(product.pk, answer.units)
    return True


def push_after_commit(product: QrProduct, *, operation: str, units: int, entry=None) -> None:
    """Queue :func:`stock_push` for after the commit when the product's stock lives at SIBS too."""
    from django.db import transaction

    if link_for(product) is None:
        return
    operation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"qrexpress-stock-entry:{entry.pk}")) if entry else ""

    def queue() -> None:
        from qrexpress import tasks

        try:
            tasks.push_stock.delay(product.pk, operation, units, operation_id)
        except Exception:
            logger.exception("qrexpress: could not queue the SIBS stock push of product %s", product.pk)

    transaction.on_commit(queue)
